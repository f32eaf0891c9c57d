"""Backends over TLS: a backend's `tls.ca_file` (a test CA from trustme) over HTTP/2 (when the
upstream offers it by ALPN) and HTTP/1.1 (hypercorn), a chat stream, 50 MB and chunked uploads,
a slow reader on a large stream with the gateway's memory bounded, and certificate failures
(wrong CA, expired, wrong host) answered 502 `backend_tls`."""
import hashlib
import http.client
import json
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pytest

import isolation
from conftest import AUTH, USER_KEY, Gateway, chat, read_response, read_to_end, stop_process, upload_embedding

trustme = pytest.importorskip("trustme")
pytest.importorskip("hypercorn")
import tls_upstream  # noqa: E402  (after the skips: it imports hypercorn)

HERE = pathlib.Path(__file__).resolve().parent


class TLSUpstream:
    """tls_upstream.py in its own process, on a socket bound here (no port race)."""

    def __init__(self, ca, alpn, directory, identities=("localhost", "127.0.0.1"), **validity):
        """`validity`: trustme's not_before / not_after for the server's certificate."""
        self.ca = ca
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        pem = pathlib.Path(directory) / f"server-{self.port}.pem"
        ca.issue_cert(*identities, **validity).private_key_and_cert_chain_pem.write_to_path(str(pem))
        fd = self.listener.fileno()
        self.proc = subprocess.Popen([sys.executable, str(HERE / "tls_upstream.py"), str(fd), str(pem), alpn],
                                     pass_fds=[fd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout.readline().strip() == b"ready"
        self.ca_pem = pathlib.Path(directory) / f"ca-{self.port}.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))

    def stats(self):
        # The test's own look at the server, also at the expired and wrong-host ones.
        context = ssl.create_default_context(cafile=str(self.ca_pem))
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("localhost", self.port, context=context, timeout=10)
        conn.request("GET", "/stats")
        data = json.loads(conn.getresponse().read())
        conn.close()
        return data

    def close(self):
        stop_process(self.proc)
        self.listener.close()


@pytest.fixture(scope="module")
def tls():
    directory = tempfile.TemporaryDirectory()
    ca, other_ca = trustme.CA(), trustme.CA()
    h2 = TLSUpstream(ca, "h2,http/1.1", directory.name)
    h1 = TLSUpstream(ca, "http/1.1", directory.name)
    now = datetime.now(timezone.utc)
    expired = TLSUpstream(ca, "h2,http/1.1", directory.name,
                          not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    wrong_host = TLSUpstream(ca, "h2,http/1.1", directory.name, identities=("wrong-host.example",))
    other_pem = pathlib.Path(directory.name) / "other-ca.pem"
    other_ca.cert_pem.write_to_path(str(other_pem))
    config = f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
  tls-h2:
    kind: openai
    url: https://localhost:{h2.port}
    tls: {{ ca_file: {h2.ca_pem} }}
  tls-h1:
    kind: openai
    url: https://localhost:{h1.port}
    tls: {{ ca_file: {h1.ca_pem} }}
  tls-wrong-ca:
    kind: openai
    url: https://localhost:{h2.port}
    tls: {{ ca_file: {other_pem} }}
  tls-system-only:
    kind: openai
    url: https://localhost:{h2.port}
  tls-expired:
    kind: openai
    url: https://localhost:{expired.port}
    tls: {{ ca_file: {h2.ca_pem} }}
  tls-wrong-host:
    kind: openai
    url: https://localhost:{wrong_host.port}
    tls: {{ ca_file: {h2.ca_pem} }}
  tls-modal-h2:
    kind: modal
    url: https://localhost:{h2.port}/modal/fn
    token_id: wk-tls
    token_secret: ws-tls
    tls: {{ ca_file: {h2.ca_pem} }}
  tls-modal-h1:
    kind: modal
    url: https://localhost:{h1.port}/modal/fn
    token_id: wk-tls
    token_secret: ws-tls
    tls: {{ ca_file: {h1.ca_pem} }}
models:
  h2-modal: {{ task: chat, backends: [tls-modal-h2] }}
  h1-modal: {{ task: chat, backends: [tls-modal-h1] }}
  h2-ok: {{ task: chat, backends: [tls-h2] }}
  h2-stream: {{ task: chat, backends: [tls-h2] }}
  h2-big-stream: {{ task: chat, backends: [tls-h2] }}
  h1-ok: {{ task: chat, backends: [tls-h1] }}
  h1-stream: {{ task: chat, backends: [tls-h1] }}
  h1-big-stream: {{ task: chat, backends: [tls-h1] }}
  wrong-ca-ok: {{ task: chat, backends: [tls-wrong-ca] }}
  system-only-ok: {{ task: chat, backends: [tls-system-only] }}
  expired-ok: {{ task: chat, backends: [tls-expired] }}
  wrong-host-ok: {{ task: chat, backends: [tls-wrong-host] }}
  h2-embed: {{ task: embedding, backends: [tls-h2] }}
  h1-embed: {{ task: embedding, backends: [tls-h1] }}
users:
  alice:
    keys: ["{USER_KEY}"]
"""
    gw = Gateway(config)
    yield gw, {"2": h2, "1.1": h1, "expired": expired, "wrong-host": wrong_host}
    assert gw.stop() == 0
    for upstream in (h2, h1, expired, wrong_host):
        upstream.close()
    directory.cleanup()


def post(gw, body, timeout=30, request_id=None):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    headers = dict(AUTH, **({"X-Request-ID": request_id} if request_id else {}))
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(), headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response, payload


def logged(gw, request_id, seconds=5):
    """The access-log entry of `request_id` (the log is written by its own thread)."""
    deadline = time.monotonic() + seconds
    while True:
        entries = [json.loads(line) for line in gw.access_log() if request_id in line]
        if entries or time.monotonic() > deadline:
            return entries[0] if entries else None
        time.sleep(0.02)




VERSION = {"h2": "2", "h1": "1.1"}


@pytest.mark.parametrize("prefix", ["h2", "h1"])
def test_chat_over_tls_with_the_backends_ca_file(tls, prefix):
    """An upstream offering h2 and http/1.1 by ALPN is spoken to in HTTP/2; one offering
    http/1.1 only, in HTTP/1.1 (the upstream names the version it served)."""
    gw, _ = tls
    response, payload = post(gw, chat(f"{prefix}-ok"))
    assert response.status == 200, payload
    body = json.loads(payload)
    assert body["choices"][0]["message"]["content"] == "over tls"
    assert body["system_fingerprint"] == VERSION[prefix]


@pytest.mark.parametrize("prefix", ["h2", "h1"])
def test_chat_stream_over_tls(tls, prefix):
    gw, _ = tls
    response, payload = post(gw, chat(f"{prefix}-stream", stream=True), request_id=f"tls-stream-{prefix}")
    assert response.status == 200, payload
    assert response.getheader("content-type").startswith("text/event-stream")
    text = payload.decode()
    assert text.rstrip().endswith("data: [DONE]")
    assert [json.loads(line[6:])["choices"][0]["delta"]["content"]
            for line in text.splitlines() if line.startswith("data: {") and '"delta"' in line] == [f"t{i}" for i in range(5)]
    assert {json.loads(line[6:])["system_fingerprint"]
            for line in text.splitlines() if line.startswith("data: {")} == {VERSION[prefix]}
    entry = logged(gw, f"tls-stream-{prefix}")
    assert entry and entry["status"] == 200 and entry["completion_tokens"] == 5


@pytest.mark.parametrize("model", ["wrong-ca-ok", "system-only-ok"])
def test_an_untrusted_certificate_is_a_502(tls, model):
    """Verification is never off: a CA file that did not sign the certificate, or no CA file
    when the system does not trust it, fails the handshake; nothing reaches the upstream."""
    gw, upstreams = tls
    before = len(upstreams["2"].stats()["http_versions"])
    response, payload = post(gw, chat(model))
    assert response.status == 502, payload
    error = json.loads(payload)["error"]
    assert "certificate" in error["message"].lower()
    assert len(upstreams["2"].stats()["http_versions"]) == before


@pytest.mark.parametrize("model,upstream", [("wrong-ca-ok", "2"), ("expired-ok", "expired"),
                                            ("wrong-host-ok", "wrong-host")])
def test_an_untrusted_certificate_is_backend_tls(tls, model, upstream):
    """A certificate from another CA, one past its notAfter, or one for another host name
    (RFC 6125) fails the handshake: 502 `backend_tls`, and no request reaches the upstream."""
    gw, upstreams = tls
    before = len(upstreams[upstream].stats()["http_versions"])
    response, payload = post(gw, chat(model))
    assert response.status == 502, payload
    assert json.loads(payload)["error"]["code"] == "backend_tls"
    assert len(upstreams[upstream].stats()["http_versions"]) == before


@pytest.mark.parametrize("prefix", ["h2", "h1"])
def test_a_50_mb_upload_over_tls(tls, prefix):
    """A 50 MB body streams to the upstream in the version it offers, every byte intact."""
    gw, upstreams = tls
    upstream = upstreams[VERSION[prefix]]
    size = 50 << 20  # upload_embedding sends whole MiB blocks
    status, total = upload_embedding(gw.port, f"{prefix}-embed", size)
    assert status == 200
    last = upstream.stats()["uploads"][-1]
    assert last["http_version"] == VERSION[prefix]
    assert last["bytes"] == total
    prefix_bytes = b'{"model":"' + f"{prefix}-embed".encode() + b'","input":"'
    digest = hashlib.sha256(prefix_bytes)
    block = b"a" * (1 << 20)
    for _ in range(size // len(block)):
        digest.update(block)
    digest.update(b'"}')
    assert last["sha256"] == digest.hexdigest()


@pytest.mark.parametrize("prefix", ["h2", "h1"])
def test_a_chunked_upload_over_tls(tls, prefix):
    """A client body of unknown length (chunked to the gateway) goes on as HTTP/1.1 chunked or
    as HTTP/2 DATA frames, never as chunk framing inside HTTP/2 (RFC 9113 §8.2.2)."""
    gw, upstreams = tls
    upstream = upstreams[VERSION[prefix]]
    body = json.dumps({"model": f"{prefix}-embed", "input": "b" * (5 << 20)}).encode()
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    sock.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    for at in range(0, len(body), 1 << 20):
        piece = body[at:at + (1 << 20)]
        sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
    sock.sendall(b"0\r\n\r\n")
    response, payload = read_response(sock)
    assert response.status == 200, payload
    last = upstream.stats()["uploads"][-1]
    assert last["http_version"] == VERSION[prefix]
    assert (last["bytes"], last["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def dechunk(data):
    """The body of a chunked HTTP/1.1 response."""
    body, at = bytearray(), 0
    while at < len(data):
        line_end = data.index(b"\r\n", at)
        size = int(bytes(data[at:line_end]).split(b";")[0], 16)
        if size == 0:
            break
        body += data[line_end + 2:line_end + 2 + size]
        at = line_end + 2 + size + 2
    return bytes(body)


def settled_sent(upstream, seconds=30):
    """The upstream's big-stream byte count once it has stopped growing for a second (flow
    control reached it), polled with a deadline."""
    deadline = time.monotonic() + seconds
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        sent = upstream.stats()["sent"]
        if sent != last:
            last, stable_since = sent, time.monotonic()
        elif time.monotonic() - stable_since > 1.0:
            break
        time.sleep(0.05)
    return last


@pytest.mark.parametrize("prefix,offered", [("h2", "h2 and http/1.1"), ("h1", "http/1.1")])
def test_a_slow_reader_of_a_large_tls_stream_keeps_the_gateway_small(tls, prefix, offered):
    """A client that stops reading pauses its upstream transfer. Over HTTP/2 (libcurl 7.88)
    a paused stream keeps its 32 MiB window: whenever other requests keep a shared connection
    read, the paused stream's data piles up inside libcurl, with no option to cap it (+29 MiB
    here when the multi multiplexed). So the gateway never multiplexes: each HTTP/2 connection
    carries one transfer, a paused transfer stops reading its own connection and TCP holds the
    upstream back, as over HTTP/1.1. Here: a 64 MiB stream, its client reading nothing while ten
    other streams to the same backend complete (in the version the upstream offers); the
    gateway's memory stays small, then every byte arrives."""
    gw, upstreams = tls
    upstream = upstreams["2" if prefix == "h2" else "1.1"]
    requests_before = len(upstream.stats()["http_versions"])
    sent_before = upstream.stats()["sent"]
    baseline_kb = gw.rss_kb("VmRSS")
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    body = json.dumps(chat(f"{prefix}-big-stream", stream=True)).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\nConnection: close\r\n\r\n" + body)
    received = bytearray(sock.recv(65536))
    settled_sent(upstream)
    for _ in range(10):
        response, payload = post(gw, chat(f"{prefix}-stream", stream=True), timeout=10)
        assert response.status == 200 and payload.rstrip().endswith(b"data: [DONE]")
    paused_sent = settled_sent(upstream) - sent_before
    held_kb = gw.rss_kb("VmRSS") - baseline_kb
    print(f"{prefix}: {paused_sent / 2**20:.1f} MiB left the upstream for a client reading nothing; "
          f"gateway RSS +{held_kb / 1024:.1f} MiB")
    versions = upstream.stats()["http_versions"][requests_before:]
    expected = VERSION[prefix]
    assert versions == [expected] * 11, f"the upstream ({offered}) was spoken to in {versions}"
    assert held_kb < 8 * 1024, f"the gateway grew by {held_kb // 1024} MiB while one stream was paused"
    assert paused_sent < 32 << 20
    received += read_to_end(sock)
    sock.close()
    head, _, rest = received.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    text = dechunk(rest)
    events = (64 << 20) // len(tls_upstream.EVENT) + (1 if (64 << 20) % len(tls_upstream.EVENT) else 0)
    assert text.count(tls_upstream.EVENT) == events
    assert text.rstrip().endswith(b"data: [DONE]")


def test_a_ca_file_adds_trust_and_never_removes_the_systems():
    """SPEC §7: `tls.ca_file` adds trust. libcurl's CURLOPT_CAINFO replaces its default bundle,
    so the gateway keeps the system's trust through the hashed CA directory. Here the system
    store (/etc/ssl/certs, replaced in the gateway's private mount namespace) trusts one CA and
    the backend's ca_file names another: a certificate from the system's CA still verifies."""
    reason = isolation.unavailable_reason()
    if reason:
        pytest.skip(reason)
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to hash the test's system CA directory")
    directory = tempfile.TemporaryDirectory()
    system_ca, extra_ca = trustme.CA(), trustme.CA()
    upstream = TLSUpstream(system_ca, "h2,http/1.1", directory.name)
    certs = pathlib.Path(directory.name) / "system-certs"
    certs.mkdir()
    system_pem = certs / "ca-certificates.crt"  # the bundle name Debian's libcurl reads
    system_ca.cert_pem.write_to_path(str(system_pem))
    subject_hash = subprocess.run([openssl, "x509", "-hash", "-noout", "-in", str(system_pem)],
                                  capture_output=True, check=True, text=True).stdout.strip()
    shutil.copy(system_pem, certs / f"{subject_hash}.0")
    extra_pem = pathlib.Path(directory.name) / "extra-ca.pem"
    extra_ca.cert_pem.write_to_path(str(extra_pem))
    namespace = isolation.Namespace(certs_dir=certs)
    gw = Gateway(f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
  with-extra-ca:
    kind: openai
    url: https://localhost:{upstream.port}
    tls: {{ ca_file: {extra_pem} }}
  system-only:
    kind: openai
    url: https://localhost:{upstream.port}
models:
  extra-ok: {{ task: chat, backends: [with-extra-ca] }}
  system-ok: {{ task: chat, backends: [system-only] }}
users:
  alice:
    keys: ["{USER_KEY}"]
""", wrap=namespace.wrap())
    try:
        for model in ("system-ok", "extra-ok"):
            response, payload = post(gw, chat(model))
            assert response.status == 200, (model, payload)
    finally:
        assert gw.stop() == 0
        namespace.close()
        upstream.close()
        directory.cleanup()


@pytest.mark.parametrize("prefix", ["h2", "h1"])
def test_a_modal_303_over_tls(tls, prefix):
    """Modal is HTTPS (HTTP/2 by ALPN): the 303's Location arrives as an HTTP/2 header too,
    and the GET that follows it goes over the same protocol with the proxy-auth headers."""
    gw, upstreams = tls
    upstream = upstreams[VERSION[prefix]]
    before = len(upstream.stats()["modal"])
    response, payload = post(gw, chat(f"{prefix}-modal"))
    assert response.status == 200, payload
    body = json.loads(payload)
    assert body["choices"][0]["message"]["content"] == "from modal"
    seen = upstream.stats()["modal"][before:]
    assert [(r["method"], r["query"], r["http_version"], r["modal_key"]) for r in seen] == [
        ("POST", "", VERSION[prefix], "wk-tls"),
        ("GET", "__modal_function_call_id=fc-01TLS", VERSION[prefix], "wk-tls")]
