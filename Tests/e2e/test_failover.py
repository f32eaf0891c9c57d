"""Failover, one test per row of SPEC §3's outcome table and per bound: 5xx, 429, 401/403,
first-byte timeout, the `attempts` bound, replay of a body the first backend already read, the
8 MiB replay limit, a failure after the first byte; an attempt that fails inside `invoke` (an
adapter not in this version) never leaves the live attempt orphaned; the SSE metering comment
prices the stream with the backend's price."""
import http.client
import json
import socket
import time

import pytest

from conftest import Gateway, USER_KEY, config_for, AUTH, chat, wait_until, log_line, read_to_end
from fake_upstream import SLOW_SECONDS



def backend(name, behaviour, extra=""):
    # Each test here meets each backend's failure afresh, whatever ran before: no circuit
    # opens on the failures the tests provoke one after another (test_routing.py tests them).
    return f"""  {name}:
    kind: openai
    url: {{up}}/as/{behaviour}
    api_key: upstream-secret-key
    circuit: {{ failures: 1000 }}
{extra}"""


BACKENDS = "".join([
    backend("p500", "fail-500"),
    backend("p503", "fail-503"),
    backend("p429", "fail-429"),
    backend("p401", "fail-401"),
    backend("p403", "fail-403"),
    # A refused key marks its backend down as misconfigured (SPEC §3): the tests that need a
    # backend not yet marked get their own.
    backend("p401-only", "fail-401"),
    backend("p403-only", "fail-403"),
    # The one that answers costs a little, so the router tries the failing (free) candidates
    # first whatever it learnt of their run times (SPEC §4: the cheapest first).
    backend("pok", "ok", "    price: { per_request: 0.000001 }\n    billing: per_request\n"),
    backend("pstream", "endless"),
    backend("pbig", "big"),
    backend("pslow", "slow-first", "    first_byte_timeout: 1s\n"),
    backend("psreset", "stream-then-reset"),
    backend("ppartial", "partial-then-reset"),
    backend("ppaced", "paced", "    price: { per_second: 0.5 }\n    billing: per_second\n"),
    backend("preq", "ok", "    price: { per_request: 0.01 }\n    billing: per_request\n"),
    """  rp:
    kind: runpod
    endpoint_id: abc123
    api_key: runpod-secret-token
    health: none
""",
])

MODELS = """
  fo-500: { task: chat, backends: [p500, pok] }
  fo-503: { task: chat, backends: [p503, pok] }
  fo-429: { task: chat, backends: [p429, pok] }
  fo-401: { task: chat, backends: [p401, pok] }
  fo-403: { task: chat, backends: [p403, pok] }
  only-401: { task: chat, backends: [p401-only] }
  only-403: { task: chat, backends: [p403-only] }
  fo-slow: { task: chat, backends: [pslow, pok] }
  fo-bound: { task: chat, backends: [p500, p503, pok], attempts: 2 }
  fo-all-fail: { task: chat, backends: [p500, p503] }
  fo-unavail-stream: { task: chat, backends: [dead, rp, pstream] }
  fo-unavail-big: { task: chat, backends: [dead, rp, pbig] }
  fo-unavail-slow: { task: chat, backends: [rp, pslow, pok] }
  fo-after-first: { task: chat, backends: [psreset, pok] }
  fo-partial: { task: chat, backends: [ppartial, pok] }
  priced-paced: { task: chat, backends: [ppaced] }
  priced-request: { task: chat, backends: [preq] }
"""


@pytest.fixture(scope="module")
def gw(upstream):
    port, _ = upstream
    up = f"http://127.0.0.1:{port}"
    gateway = Gateway(config_for(port, extra_backends=BACKENDS.replace("{up}", up), extra_models=MODELS))
    yield gateway
    gateway.stop()


def post(gw, body, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
    conn.request("POST", "/v1/chat/completions", body=data, headers=AUTH)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp, payload








def raw_request(gw, body, rcvbuf=None):
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    data = json.dumps(body).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                 + str(len(data)).encode() + b"\r\n\r\n" + data)
    return sock


def header_value(head, name):
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.encode():
            return value.strip().decode()
    return None


# --- SPEC §3 rows: the failing backend is skipped, the next one answers ------------------------

@pytest.mark.parametrize("model, first", [
    ("fo-500", "fail-500"), ("fo-503", "fail-503"), ("fo-429", "fail-429"),
    ("fo-401", "fail-401"), ("fo-403", "fail-403"), ("fo-slow", "slow-first"),
])
def test_a_failing_backend_is_skipped_for_the_next_candidate(gw, upstream, model, first):
    _, recorder = upstream
    resp, payload = post(gw, chat(model))
    assert resp.status == 200, payload
    assert resp.getheader("x-tollgate-backend") == "pok"
    rid = resp.getheader("x-request-id")
    seen = [r["path"].split("/")[2] for r in recorder.for_request(rid)]
    assert seen == [first, "ok"]
    assert log_line(gw, rid)["attempts"] == 2


def test_first_byte_timeout_cancels_the_slow_attempt(gw, upstream):
    _, recorder = upstream
    before = recorder.waits_cancelled
    started = time.monotonic()
    resp, _ = post(gw, chat("fo-slow"))
    assert resp.status == 200
    # The slow backend gets the request, no byte for 1 s, and is abandoned: its connection
    # closes (no GPU keeps working for nobody) before it would have answered.
    assert time.monotonic() - started < SLOW_SECONDS
    # (a wait that was not cancelled never counts, however long this waits: bounded for load)
    assert wait_until(lambda: recorder.waits_cancelled > before, SLOW_SECONDS + 5)
    assert recorder.max_parallel[resp.getheader("x-request-id")] == 1


@pytest.mark.parametrize("model, code", [("only-401", "backend_misconfigured"), ("only-403", "backend_misconfigured")])
def test_rejected_credentials_without_a_candidate_left_are_502_misconfigured(gw, model, code):
    resp, payload = post(gw, chat(model))
    assert resp.status == 502
    error = json.loads(payload)["error"]
    assert error["code"] == code
    assert "p40" in error["message"]


def test_attempts_bounds_the_candidates_tried(gw, upstream):
    _, recorder = upstream
    resp, payload = post(gw, chat("fo-bound"))
    assert resp.status == 502
    assert json.loads(payload)["error"]["code"] == "bad_gateway"
    rid = resp.getheader("x-request-id")
    assert [r["path"].split("/")[2] for r in recorder.for_request(rid)] == ["fail-500", "fail-503"]
    assert log_line(gw, rid)["attempts"] == 2


def test_every_candidate_failing_reports_the_last_failure(gw):
    resp, payload = post(gw, chat("fo-all-fail"))
    assert resp.status == 502
    error = json.loads(payload)["error"]
    assert error["code"] == "bad_gateway" and "loading model" in error["message"]


def test_a_body_the_first_backend_read_is_replayed_byte_for_byte(gw, upstream):
    """1 MiB: above the size sent in one write, so it streams through curl's read callback, and
    is still replayed whole from the buffer."""
    _, recorder = upstream
    body = json.dumps(chat("fo-500", user="r" * (1 << 20))).encode()
    resp, payload = post(gw, body)
    assert resp.status == 200, payload
    seen = recorder.for_request(resp.getheader("x-request-id"))
    assert [r["path"].split("/")[2] for r in seen] == ["fail-500", "ok"]
    assert seen[0]["length"] == seen[1]["length"] == len(body)
    assert seen[0]["sha"] == seen[1]["sha"]


def test_no_failover_once_a_body_past_the_replay_limit_has_left(gw, upstream):
    """Above 8 MiB the body streams once; a 500 after the first backend read it cannot be
    retried elsewhere, so the client gets the 502."""
    _, recorder = upstream
    body = b'{"model":"fo-500","messages":[],"user":"' + b"q" * (9 << 20) + b'"}'
    resp, payload = post(gw, body, timeout=60)
    assert resp.status == 502
    assert json.loads(payload)["error"]["code"] == "bad_gateway"
    rid = resp.getheader("x-request-id")
    seen = recorder.for_request(rid)
    assert [r["path"].split("/")[2] for r in seen] == ["fail-500"]
    assert seen[0]["length"] == len(body)
    assert log_line(gw, rid)["attempts"] == 1


# --- After the first byte: no failover, the response ends ----------------------------------------

def test_a_stream_failing_after_its_first_byte_ends_with_an_error_event(gw, upstream):
    _, recorder = upstream
    resp, payload = post(gw, chat("fo-after-first", stream=True))
    assert resp.status == 200
    text = payload.decode()
    assert text.count("data: {\"id\"") == 2
    assert "event: error" in text
    event = [l for l in text.splitlines() if l.startswith("data: {\"error\"")]
    assert len(event) == 1 and json.loads(event[0][6:])["error"]["code"] == "upstream_failed"
    assert "[DONE]" not in text
    rid = resp.getheader("x-request-id")
    assert len(recorder.for_request(rid)) == 1          # no second candidate after the first byte
    assert log_line(gw, rid)["error"]


def test_a_plain_response_failing_midway_fails_over_while_it_is_held(gw, upstream):
    """Issue 9: a plain reply up to 8 MiB is held until the upstream finished (so its head
    carries final figures): one that breaks midway never reached the client, and the next
    candidate answers. (Larger replies stream and can only be cut: the Swift tests.)"""
    _, recorder = upstream
    resp, payload = post(gw, chat("fo-partial"))
    assert resp.status == 200
    assert json.loads(payload)["choices"][0]["message"]["content"] == "Hello from upstream"
    assert resp.getheader("x-tollgate-gpu-seconds") and resp.getheader("x-tollgate-cost-usd")
    assert len(recorder.for_request(resp.getheader("x-request-id"))) == 2


# --- Item 5: a synchronous failure inside invoke never orphans the live attempt -----------------

def test_an_unavailable_backend_ahead_of_a_stream_lets_a_hang_up_cancel_the_upstream(gw, upstream):
    _, recorder = upstream
    sock = raw_request(gw, chat("fo-unavail-stream", stream=True))
    got = b""
    while got.count(b"data:") < 3:
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    rid = header_value(got.partition(b"\r\n\r\n")[0], "x-request-id")
    sock.close()
    # The live attempt is the stream's: closing the client stops it within a second.
    assert wait_until(lambda: rid in recorder.disconnected, 1.0), "upstream not cancelled"
    assert recorder.max_parallel[rid] == 1
    line = log_line(gw, rid)
    assert line["attempts"] == 3 and line["backend"] == "pstream"


def test_an_unavailable_backend_ahead_of_a_slow_reader_lets_it_resume(gw):
    sock = raw_request(gw, chat("fo-unavail-big"), rcvbuf=64 << 10)
    received = sock.recv(65536)
    time.sleep(0.5)  # stop reading: the gateway pauses the upstream and must resume it later
    sock.settimeout(10)
    received += read_to_end(sock)
    sock.close()
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert len(rest) == len(b'{"pad":""}') + (4 << 20)


def test_an_unavailable_backend_ahead_of_a_slow_one_never_runs_two_attempts_at_once(gw, upstream):
    _, recorder = upstream
    before = recorder.waits_cancelled
    resp, payload = post(gw, chat("fo-unavail-slow"))
    assert resp.status == 200, payload
    assert resp.getheader("x-tollgate-backend") == "pok"
    rid = resp.getheader("x-request-id")
    assert [r["path"].split("/")[2] for r in recorder.for_request(rid)] == ["slow-first", "ok"]
    # The first-byte timeout ended the slow attempt before the next one started.
    # (a wait that was not cancelled never counts, however long this waits: bounded for load)
    assert wait_until(lambda: recorder.waits_cancelled > before, SLOW_SECONDS + 5)
    assert recorder.max_parallel[rid] == 1
    assert json.loads(payload)["choices"][0]["message"]["content"] == "Hello from upstream"


# --- The metering comment prices what the stream used --------------------------------------------

def metering(text):
    comment = [l for l in text.splitlines() if l.startswith(": tollgate ")]
    assert len(comment) == 1, text
    return json.loads(comment[0][len(": tollgate "):])


def test_metering_comment_prices_gpu_seconds_at_the_backends_per_second_rate(gw):
    started = time.monotonic()
    resp, payload = post(gw, chat("priced-paced", stream=True))
    elapsed = time.monotonic() - started
    assert resp.status == 200
    meta = metering(payload.decode())
    assert meta["backend"] == "ppaced"
    # Five chunks 100 ms apart: the stream ran at least 0.4 s, and no longer than the client waited
    # (plus the millisecond that measured time is rounded up to).
    assert 0.4 <= meta["gpu_seconds"] <= elapsed + 0.001
    assert abs(meta["cost_usd"] - meta["gpu_seconds"] * 0.5) <= 2e-6


def test_metering_comment_prices_a_per_request_backend_per_request(gw):
    resp, payload = post(gw, chat("priced-request", stream=True))
    assert resp.status == 200
    meta = metering(payload.decode())
    assert meta["backend"] == "preq" and meta["cost_usd"] == 0.01 and meta["gpu_seconds"] > 0
