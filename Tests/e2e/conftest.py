"""Fixtures: a fake upstream and a real `tollgate serve` process on 127.0.0.1 port 0."""
import os
import pathlib
import select
import signal
import subprocess
import tempfile
import time

import pytest

import fake_upstream

ROOT = pathlib.Path(__file__).resolve().parents[2]
USER_KEY = "tg-e2e-user-key-0123456789abcdef"
OTHER_KEY = "tg-e2e-limited-key-0123456789abc"


# --- Helpers shared by the test files ---------------------------------------------------------

AUTH = {"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"}


def chat(model, **extra):
    return dict({"model": model, "messages": [{"role": "user", "content": "hi"}]}, **extra)


def stop_process(proc, seconds=10):
    """Asks a peer process to stop (SIGTERM), kills it if it has not within `seconds`, reaps it."""
    import subprocess
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port():
    """A loopback TCP port nothing listens on right now (for a peer process to bind)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, seconds=10):
    """Polls `predicate` until it holds or `seconds` pass (no fixed sleeps in the tests)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def log_line(gw, request_id):
    """The access-log line of the request with this id (waits for the log writer)."""
    import json
    assert wait_until(lambda: any(request_id in l for l in gw.access_log()), 5), request_id
    return [json.loads(l) for l in gw.access_log() if request_id in l][0]


def read_to_end(sock):
    """Every byte `sock` still delivers until the peer closes (bounded by the socket's timeout)."""
    received = b""
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return received
        received += chunk


def read_response(sock):
    """Reads the one HTTP response the peer sends on `sock`, then closes it; returns (response, body)."""
    import http.client
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    sock.close()
    return resp, body


def upload_embedding(port, model, size):
    """POSTs an embeddings request whose `input` is `size` bytes, in 1 MiB sends (a client
    faster than any upstream on loopback); returns (status, total bytes of the body)."""
    import socket
    prefix, suffix = b'{"model":"' + model.encode() + b'","input":"', b'"}'
    total = len(prefix) + size + len(suffix)
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(total).encode() + b"\r\n\r\n" + prefix)
    block = b"a" * (1 << 20)
    for _ in range(size // len(block)):
        sock.sendall(block)
    sock.sendall(suffix)
    resp, _ = read_response(sock)
    return resp.status, total


def binary():
    env = os.environ.get("TOLLGATE_BIN")
    if env:
        return env
    for candidate in (ROOT / ".build/debug/tollgate", ROOT / ".build/release/tollgate"):
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("build tollgate first (swift build)")


class Gateway:
    def __init__(self, config_text, extra_env=None, max_fds=None, wrap=(), extra_args=()):
        """`wrap` is a command prefix the binary runs under (isolation.Namespace.wrap);
        `extra_args` are added after `serve --config FILE`."""
        self.dir = tempfile.TemporaryDirectory()
        self.config = pathlib.Path(self.dir.name) / "tollgate.yaml"
        # The usage log goes to this gateway's own directory, never ./tollgate.db.
        self.db_path = pathlib.Path(self.dir.name) / "usage.db"
        if "\nstorage:" not in config_text:
            config_text += f"\nstorage:\n  sqlite: {self.db_path}\n"
        self.config.write_text(config_text)
        env = dict(os.environ, **(extra_env or {}))
        self.log = open(pathlib.Path(self.dir.name) / "access.log", "wb")
        def limit_fds():
            if max_fds is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

        self.proc = subprocess.Popen([*wrap, binary(), "serve", "--config", str(self.config), *extra_args],
                                     stdout=self.log, stderr=subprocess.PIPE, env=env, preexec_fn=limit_fds)
        self.port = None
        self.stderr_lines = []
        # Read the raw descriptor: a buffered readline() could pull the "listening on" line
        # into Python's buffer together with an earlier one, and select() would then wait
        # for bytes that already arrived.
        fd = self.proc.stderr.fileno()
        pending = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.port is None:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                self.stderr_lines.append(line + "\n")
                if "listening on" in line:
                    self.port = int(line.strip().rsplit(":", 1)[1])
        if self.port is None:
            self.stop()
            raise RuntimeError("tollgate did not start: " + "".join(self.stderr_lines))
        self.base = f"http://127.0.0.1:{self.port}"

    def access_log(self):
        self.log.flush()
        return [line for line in (pathlib.Path(self.dir.name) / "access.log").read_text().splitlines() if line]

    def rss_kb(self, field="VmHWM"):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def config_for(upstream_port, extra_backends="", extra_models=""):
    up = f"http://127.0.0.1:{upstream_port}"
    dead = "http://127.0.0.1:9"  # discard port: nothing listens, connect is refused
    return f"""
server:
  listen: 127.0.0.1:0
  workers: 2
  max_body: 200MB
backends:
  up:
    kind: openai
    url: {up}
    api_key: upstream-secret-key
  # A short first-byte timeout only where a test waits for it: on a shared, loaded machine a
  # 1 s budget on the common backend turns slow answers into 504s.
  up-quick:
    kind: openai
    url: {up}
    api_key: upstream-secret-key
    first_byte_timeout: 1s
  up-renamed:
    kind: openai
    url: {up}/v1
    model: stream
  capped:
    kind: openai
    url: {up}
    max_response: 1MB
  # The failing models get backends of their own (the same fake): a 5xx counts toward a
  # circuit, a 429 and a 401 cool their backend down (SPEC §3, §4), and none of that may
  # reach the backend the other tests share.
  up-500:
    kind: openai
    url: {up}
    api_key: upstream-secret-key
  up-429:
    kind: openai
    url: {up}
    api_key: upstream-secret-key
  up-401:
    kind: openai
    url: {up}
    api_key: upstream-secret-key
  dead:
    kind: openai
    url: {dead}
    connect_timeout: 1s
    # Tried on every request of the failover tests, whatever ran before them.
    circuit: {{ failures: 1000 }}
  sim:
    kind: simulated
    latency: 5ms
    stream_interval: 1ms
  sim-slow:
    kind: simulated
    latency: 100ms
    stream_interval: 100ms
{extra_backends}
models:
  gpt-test: {{ task: chat, backends: [up] }}
  stream: {{ task: chat, backends: [up] }}
  slow-first: {{ task: chat, backends: [up-quick] }}
  fail-500: {{ task: chat, backends: [up-500] }}
  fail-429: {{ task: chat, backends: [up-429] }}
  fail-401: {{ task: chat, backends: [up-401] }}
  bad-400: {{ task: chat, backends: [up] }}
  endless: {{ task: chat, backends: [up] }}
  big: {{ task: chat, backends: [up] }}
  huge: {{ task: chat, backends: [up] }}
  ok: {{ task: chat, backends: [dead, up] }}
  renamed: {{ task: chat, backends: [up-renamed] }}
  only-dead: {{ task: chat, backends: [dead] }}
  big-capped: {{ task: chat, backends: [capped] }}
  embed: {{ task: embedding, backends: [up] }}
  sim-chat: {{ task: chat, backends: [sim] }}
  sim-embed: {{ task: embedding, backends: [sim] }}
  sim-slow: {{ task: chat, backends: [sim-slow] }}
{extra_models}
users:
  alice:
    keys: ["{USER_KEY}"]
  bob:
    keys: ["{OTHER_KEY}"]
    models: [gpt-test]
"""


@pytest.fixture(scope="module")
def upstream():
    server, recorder = fake_upstream.start()
    yield server.server_address[1], recorder
    server.shutdown()


@pytest.fixture(scope="module")
def gateway(upstream):
    port, _ = upstream
    gw = Gateway(config_for(port))
    yield gw
    gw.stop()
