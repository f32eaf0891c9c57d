"""Issue 7's connection- and gateway-level defects, each reproduced over real sockets against
the real binary: empty bodies, duplicate credentials, a second process on a
taken address, request ids, drain signals."""
import json
import socket
import time

import pytest

from conftest import USER_KEY, free_port, log_line, upload_embedding

POST_ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]


def raw_exchange(port, data, timeout=5):
    """Sends `data` on a fresh connection, returns everything read until the server closes or
    the first complete response (by Content-Length) arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s)


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def status_of(response):
    return int(response.split(b" ", 2)[1])


def body_of(response):
    return json.loads(response.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("framing", ["Content-Length: 0\r\n", "", "Transfer-Encoding: chunked\r\n"])
def test_post_with_empty_body_is_answered_400(gateway, path, framing):
    body = "0\r\n\r\n" if "chunked" in framing else ""
    request = (f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {USER_KEY}\r\n"
               f"Content-Type: application/json\r\n{framing}\r\n{body}").encode()
    start = time.monotonic()
    response = raw_exchange(gateway.port, request)
    assert response, "no answer to an empty body"
    assert status_of(response) == 400, response
    assert time.monotonic() - start < 3
    error = body_of(response)["error"]
    assert error["code"] in ("invalid_json", "missing_model")


def test_second_serve_on_a_served_address_refuses_to_start(upstream):
    import subprocess
    from conftest import Gateway, binary, config_for
    port = free_port()
    text = config_for(upstream[0]).replace("listen: 127.0.0.1:0", f"listen: 127.0.0.1:{port}")
    first = Gateway(text)
    try:
        assert first.port == port
        proc = subprocess.run([binary(), "serve", "--config", str(first.config)],
                              capture_output=True, timeout=20)
        assert proc.returncode == 1
        assert b"address in use" in proc.stderr
        # The first one still serves every request (none went to a second process).
        for _ in range(20):
            response = raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert status_of(response) == 200
    finally:
        first.stop()


def header_of(response, name):
    for line in response.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.encode():
            return value.strip().decode()
    return None




def test_rejected_request_logs_the_id_its_answer_carries(gateway):
    response = raw_exchange(gateway.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
    assert status_of(response) == 400
    rid = header_of(response, "x-request-id")
    line = log_line(gateway, rid)
    assert line["status"] == 400
    assert line["client"] == "127.0.0.1"


def test_access_log_names_the_client_and_believes_only_trusted_proxies(upstream):
    from conftest import Gateway, config_for
    text = config_for(upstream[0]).replace("  max_body: 200MB\n", "  max_body: 200MB\n  trusted_proxies: [127.0.0.0/8]\n")
    gw = Gateway(text)
    try:
        response = raw_exchange(gw.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
                                         b"X-Forwarded-For: 6.6.6.6, 198.51.100.7\r\n\r\n")
        assert log_line(gw, header_of(response, "x-request-id"))["client"] == "198.51.100.7"
    finally:
        gw.stop()


def test_untrusted_peer_cannot_choose_its_logged_address(gateway):
    response = raw_exchange(gateway.port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")
    assert log_line(gateway, header_of(response, "x-request-id"))["client"] == "127.0.0.1"


def open_endless_stream(gw):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    body = json.dumps({"model": "endless", "stream": True, "messages": []})
    conn.request("POST", "/v1/chat/completions", body=body,
                 headers={"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    resp.read1(1)                      # a byte of the stream arrived: really in flight
    return conn, resp


@pytest.mark.parametrize("first,second", [("SIGTERM", "SIGTERM"), ("SIGINT", "SIGINT"), ("SIGTERM", "SIGINT")])
def test_second_stop_signal_during_drain_exits_at_once(upstream, first, second):
    import signal
    from conftest import Gateway, config_for
    gw = Gateway(config_for(upstream[0]).replace("  workers: 2\n", "  workers: 2\n  drain_timeout: 60s\n"))
    try:
        conn, resp = open_endless_stream(gw)
        gw.proc.send_signal(getattr(signal, first))
        # The first signal starts a drain that would wait for the endless stream up to 60 s.
        deadline = time.monotonic() + 10
        while not any("draining" in l for l in gw.stderr_lines) and time.monotonic() < deadline:
            gw.stderr_lines.append(gw.proc.stderr.readline().decode())
        assert gw.proc.poll() is None
        start = time.monotonic()
        gw.proc.send_signal(getattr(signal, second))
        assert gw.proc.wait(10) == 0
        assert time.monotonic() - start < 5
        assert b"second signal" in gw.proc.stderr.read()
        conn.close()
    finally:
        gw.stop()


def test_max_buffered_bounds_memory_when_every_model_comes_last(upstream):
    """50 clients × 20 MB bodies whose `model` is the last member: each must be held whole
    before it can be routed. With max_buffered 64 MB the gateway reads only what fits and
    lets the others wait (their bytes stay in their kernels): RSS stays under 64 + 64 MiB,
    and every request is answered."""
    import http.client
    import threading
    from conftest import Gateway, config_for
    text = config_for(upstream[0]).replace("  max_body: 200MB\n", "  max_body: 200MB\n  max_buffered: 64MB\n")
    gw = Gateway(text)
    try:
        filler = b"x" * (20 << 20)
        body = b'{"messages":[{"role":"user","content":"' + filler + b'"}],"model":"gpt-test"}'
        results = []
        lock = threading.Lock()

        def one():
            conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=120)
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            with lock:
                results.append(resp.status)
            conn.close()

        threads = [threading.Thread(target=one) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert results == [200] * 50, results
        peak_mib = gw.rss_kb("VmHWM") / 1024
        assert peak_mib < 64 + 64, f"peak RSS {peak_mib:.0f} MiB"
    finally:
        gw.stop()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_drain_finishes_the_stream_in_flight_and_is_never_ready_meanwhile(upstream, sig):
    import http.client
    import signal
    from conftest import Gateway, config_for
    from test_lifecycle import wait_for_stderr
    gw = Gateway(config_for(upstream[0]))
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({"model": "sim-slow", "stream": True, "messages": []}),
                 headers={"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read1(1)               # a byte of the stream arrived: really in flight
    gw.proc.send_signal(getattr(signal, sig))
    assert wait_for_stderr(gw, "draining")
    # While it drains, nothing may call it ready: new connections are refused (the listener
    # is closed) or, if one slips in, answered 503.
    try:
        answer = raw_exchange(gw.port, b"GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n", timeout=2)
        assert not answer or status_of(answer) == 503, answer
    except OSError:
        pass
    rest = resp.read()
    assert rest.rstrip().endswith(b"data: [DONE]")
    assert gw.proc.wait(20) == 0
    gw.log.close()


@pytest.mark.parametrize("body", [
    # Every JSON parser upstream takes the last member: the escaped one, naming another model.
    b'{"model":"gpt-test","m\\u006fdel":"embed","messages":[]}',
    b'{"model":"gpt-test","model":"embed","messages":[]}',
    b'{"model":"gpt-test","stream":false,"stream":true,"messages":[]}',
    b'{"Model":"embed","model":"gpt-test","messages":[]}',
])
def test_a_body_parsers_would_read_differently_is_invalid_request(gateway, upstream, body):
    """The model allow-list and pins cannot be bypassed: bob may use only gpt-test."""
    from conftest import OTHER_KEY
    recorder = upstream[1]
    before = len(recorder.requests)
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {OTHER_KEY}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    response = raw_exchange(gateway.port, request)
    assert status_of(response) == 400, response
    assert body_of(response)["error"]["code"] == "invalid_request"
    assert len(recorder.requests) == before   # nothing went upstream


# --- Backpressure, proven with far more data than any bound ----------------------------------

def test_a_client_that_reads_nothing_holds_back_a_256mb_upstream_reply(gateway, upstream):
    """The upstream sends 256 MiB; the client reads nothing. The gateway pauses the transfer
    once its buffer is full, so the upstream can send only what the kernels and the gateway's
    high-water mark hold — then every byte still arrives when the client reads."""
    from fake_upstream import HUGE_BYTES
    recorder = upstream[1]
    rid = "huge-backpressure-1"
    before = sum(recorder.sent.values())   # the upstream sees the gateway's own request id
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    body = json.dumps({"model": "huge", "messages": []}).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nX-Request-ID: " + rid.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    # Wait (bounded) until the upstream has stopped making progress: it is blocked on us.
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sent = sum(recorder.sent.values()) - before
        if sent != last:
            last, stable_since = sent, time.monotonic()
        elif sent > 0 and time.monotonic() - stable_since > 0.5:
            break
        time.sleep(0.02)
    assert 0 < last < 48 << 20, f"the upstream sent {last >> 20} MiB to a client that read nothing"
    assert gateway.rss_kb("VmRSS") < 64 * 1024
    received = 0
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        received += len(chunk)
    sock.close()
    assert received > HUGE_BYTES          # the head and every body byte
    assert gateway.rss_kb("VmHWM") < 64 * 1024


def test_a_slow_upstream_pauses_a_128mb_upload(upstream):
    """The upstream reads the body at ~50 MB/s, the client sends faster: the gateway stops
    reading from the client instead of buffering the difference."""
    from conftest import Gateway, config_for
    port = upstream[0]
    extra_backends = f"""  slow-reader:
    kind: openai
    url: http://127.0.0.1:{port}/as/slow-read
"""
    gw = Gateway(config_for(port, extra_backends=extra_backends,
                            extra_models="  slow-embed: { task: embedding, backends: [slow-reader] }\n"))
    try:
        status, total = upload_embedding(gw.port, "slow-embed", 128 << 20)
        assert status == 200
        assert upstream[1].last()["length"] == total
        assert gw.rss_kb("VmHWM") < 64 * 1024, gw.rss_kb("VmHWM")
    finally:
        gw.stop()


def test_a_body_refused_after_its_stream_began_ends_the_stream(upstream):
    """A body past the 8 MiB replay window is dispatched as soon as its model is known; if the
    rest then turns out to be refused (here a duplicate `model`), the stream that already began
    must end with an `error` event — not stay open with nobody to finish it."""
    from conftest import Gateway, config_for
    port = upstream[0]
    extra = f"""  early:
    kind: openai
    url: http://127.0.0.1:{port}/as/early-sse
"""
    gw = Gateway(config_for(port, extra_backends=extra, extra_models="  early-model: { task: chat, backends: [early] }\n"))
    try:
        prefix = b'{"model":"early-model","stream":true,"messages":[],"pad":"'
        pad = b"a" * (9 << 20)
        suffix = b'","model":"other"}'
        total = len(prefix) + len(pad) + len(suffix)
        sock = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(total).encode() + b"\r\n\r\n"
                     + prefix + pad)
        received = b""
        while b"early" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        sock.sendall(suffix)
        while not received.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)   # times out (20 s) if the stream is left open
            if not chunk:
                break
            received += chunk
        sock.close()
        assert b"event: error" in received
        assert b"invalid_request" in received
    finally:
        gw.stop()


def test_a_running_stream_gives_its_body_budget_back(upstream):
    """A 7 MB body is kept whole for a failover replay; once its stream has begun no failover
    can happen, so the bytes and their share of max_buffered go back: with a 12 MB budget a
    second 7 MB request is served while the first stream still runs."""
    import http.client
    from conftest import Gateway, config_for
    port = upstream[0]
    extra = f"""  endless-up:
    kind: openai
    url: http://127.0.0.1:{port}/as/endless
"""
    text = config_for(port, extra_backends=extra, extra_models="  endless-as: { task: chat, backends: [endless-up] }\n")
    gw = Gateway(text.replace("  max_body: 200MB\n", "  max_body: 200MB\n  max_buffered: 12MB\n"))
    try:
        pad = b"x" * (7 << 20)
        first = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
        body = b'{"messages":[],"pad":"' + pad + b'","stream":true,"model":"endless-as"}'
        first.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                      + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        received = b""
        while b"data:" not in received:
            chunk = first.recv(65536)
            assert chunk
            received += chunk
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=15)
        second = b'{"messages":[],"pad":"' + pad + b'","model":"gpt-test"}'
        conn.request("POST", "/v1/chat/completions", body=second,
                     headers={"Authorization": f"Bearer {USER_KEY}", "Content-Type": "application/json"})
        resp = conn.getresponse()          # times out if the first stream still holds 7 MB
        assert resp.status == 200
        resp.read()
        first.close()
    finally:
        gw.stop()
