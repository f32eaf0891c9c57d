"""Backends by host name: a resolver that never answers must not freeze the loop, and the
descriptors of curl's threaded resolver must never leave a new connection unwatched. The gateway
runs in a private mount namespace (isolation.py) whose resolv.conf and hosts the test writes."""
import http.client
import json
import socket
import threading
import time

import pytest

import isolation
from conftest import USER_KEY, Gateway

CHAT = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
REPLY = json.dumps({"id": "c1", "object": "chat.completion", "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()


def require_isolation():
    reason = isolation.unavailable_reason()
    if reason:
        pytest.skip(reason)


def config(url, extra=""):
    return f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
  named:
    kind: openai
    url: {url}
    connect_timeout: 30s
    first_byte_timeout: 30s
{extra}
models:
  m: {{ task: chat, backends: [named] }}
users:
  alice:
    keys: ["{USER_KEY}"]
"""


def request_head(length):
    return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n")


def test_a_client_leaving_during_dns_leaves_the_loop_responsive():
    """libcurl's threaded resolver: removing a transfer that is still resolving used to join the
    resolver thread on the loop thread, freezing every connection of that loop for the
    resolver's whole timeout. With CURLOPT_QUICK_EXIT the thread is left to finish alone."""
    require_isolation()
    resolver = isolation.SilentResolver()
    # One silent server, 4 s per try, one try: a join would freeze the loop ~4 s.
    namespace = isolation.Namespace(resolv_conf=resolver.resolv_conf(4), hosts="127.0.0.1 localhost\n")
    gw = Gateway(config("http://backend.tollgate-unresolvable.test:8000"), wrap=namespace.wrap())
    try:
        probe = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
        probe.request("GET", "/healthz")
        assert probe.getresponse().read() is not None

        client = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        client.sendall(request_head(len(CHAT)) + CHAT)
        assert resolver.wait_for_query(10), "the gateway never asked the resolver"
        client.close()  # the client hangs up while its backend's name is being resolved

        # The hang-up cancels the transfer mid-resolve; meanwhile the same (only) loop keeps
        # answering. Probe for 1.5 s: a join would show as one probe taking seconds.
        slowest = 0.0
        probes = 0
        ended = False
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline or not ended:
            started = time.monotonic()
            probe.request("GET", "/healthz")
            response = probe.getresponse()
            response.read()
            slowest = max(slowest, time.monotonic() - started)
            probes += 1
            assert response.status == 200
            ended = ended or any('"/v1/chat/completions"' in line for line in gw.access_log())
            if time.monotonic() > deadline + 5:
                break
        assert ended, "the cancelled request was never logged"
        assert slowest < 0.2, f"/healthz took {slowest * 1000:.0f} ms while a transfer was removed mid-resolve"
        assert probes > 10
        probe.close()
    finally:
        assert gw.stop() == 0
        namespace.close()
        resolver.close()


class ClosingUpstream:
    """An OpenAI-ish upstream that closes the connection after every response
    (`Connection: close`): each request makes the gateway open, and resolve for, a new one."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(body) < length:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(REPLY)).encode() + b"\r\nConnection: close\r\n\r\n" + REPLY)
                except OSError:
                    pass

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.listener.close()


def wait_for_syn_sent(port, seconds):
    """True once some socket is in SYN_SENT towards 127.0.0.1:`port` (/proc/net/tcp)."""
    remote = f"0100007F:{port:04X}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as table:
            if any(fields[2] == remote and fields[3] == "02" for fields in (line.split() for line in table)
                   if len(fields) > 3):
                return True
        time.sleep(0.005)
    return False


def test_a_slow_connect_to_a_named_backend_is_noticed_when_it_completes():
    """The first request to a backend by name resolves it (curl's resolver socketpair gets a
    descriptor number, reported with CURL_POLL_REMOVE, then closed without the close-socket
    callback) and connects with a socket that reuses the number. The connect is made slow: the
    upstream's accept queue is full, so the kernel drops the SYN and the client retries it after
    ~1 s. The completion must be seen when it happens; a connect left unwatched is only found
    by curl's connect timeout (here 5 s, then 504)."""
    require_isolation()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # room for one queued connection
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)  # fills the queue
    namespace = isolation.Namespace(resolv_conf="nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
                                    hosts="127.0.0.1 localhost\n127.0.0.1 upstream.tollgate.test\n")
    gw = Gateway(config(f"http://upstream.tollgate.test:{port}").replace("connect_timeout: 30s", "connect_timeout: 5s"),
                 wrap=namespace.wrap())
    served = []

    def upstream():
        listener.settimeout(10)
        queued, _ = listener.accept()  # the filler: the gateway's retried SYN now finds room
        queued.close()
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(CHAT):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(REPLY)).encode() + b"\r\nConnection: close\r\n\r\n" + REPLY)
            served.append(True)

    try:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
        headers = {"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"}
        started = time.monotonic()
        conn.request("POST", "/v1/chat/completions", body=CHAT, headers=headers)
        # Free the queue only once the gateway's SYN was sent (and dropped).
        assert wait_for_syn_sent(port, 10), "the gateway never tried to connect"
        thread = threading.Thread(target=upstream, daemon=True)
        thread.start()
        response = conn.getresponse()
        payload = response.read()
        took = time.monotonic() - started
        conn.close()
        thread.join(10)
        assert response.status == 200, payload
        assert served
        assert took < 3, f"the connect completed after ~1 s but the request took {took:.1f} s"
    finally:
        assert gw.stop() == 0
        namespace.close()
        filler.close()
        listener.close()


def test_every_new_connection_to_a_named_backend_is_watched():
    """curl reports its resolver socketpair with CURL_POLL_REMOVE and closes it without the
    close-socket callback; the next TCP socket usually gets the same number. A registration kept
    for the old descriptor must not swallow the new one (MOD → ENOENT, or no syscall at all),
    which would leave the connect to curl's fallback timers (~200 ms) or the first-byte timeout.
    DNS cache 0 s (a hidden serve option) makes every request resolve; the upstream closes every
    connection, so every request connects anew."""
    require_isolation()
    upstream = ClosingUpstream()
    namespace = isolation.Namespace(resolv_conf="nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
                                    hosts="127.0.0.1 localhost\n127.0.0.1 upstream.tollgate.test\n")
    gw = Gateway(config(f"http://upstream.tollgate.test:{upstream.port}"), wrap=namespace.wrap(),
                 extra_args=["--upstream-dns-cache-seconds", "0"])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        headers = {"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"}
        durations = []
        for _ in range(1000):
            started = time.monotonic()
            conn.request("POST", "/v1/chat/completions", body=CHAT, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            durations.append(time.monotonic() - started)
            assert response.status == 200, payload
        conn.close()
        slow = [d for d in durations if d > 0.15]
        assert upstream.connections >= 1000
        assert not slow, f"{len(slow)} of 1000 requests took over 150 ms (slowest {max(slow) * 1000:.0f} ms)"
    finally:
        assert gw.stop() == 0
        namespace.close()
        upstream.close()


def test_the_loops_share_one_dns_cache():
    """Every loop's transfers use one DNS cache (a CURLSH): a name resolved by one loop is not
    resolved again by the others while the entry lives (60 s)."""
    require_isolation()
    resolver = isolation.LoopbackResolver()
    upstream = ClosingUpstream()
    namespace = isolation.Namespace(resolv_conf=resolver.resolv_conf(2), hosts="127.0.0.1 localhost\n")
    gw = Gateway(config(f"http://upstream.tollgate-resolved.test:{upstream.port}").replace("workers: 1", "workers: 2"),
                 wrap=namespace.wrap())
    try:
        headers = {"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"}
        # Sixteen connections: the kernel spreads them over both loops' listeners
        # (SO_REUSEPORT); the chance that all land on one loop is 2^-15.
        clients = [http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10) for _ in range(16)]
        for client in clients:
            client.request("POST", "/v1/chat/completions", body=CHAT, headers=headers)
            response = client.getresponse()
            assert response.status == 200, response.read()
            response.read()
            client.close()
        assert upstream.connections == 16
        assert resolver.a_queries == 1, f"{resolver.a_queries} resolutions for one name"
    finally:
        assert gw.stop() == 0
        namespace.close()
        upstream.close()
        resolver.close()
