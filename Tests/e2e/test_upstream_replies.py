"""What the gateway passes on from an upstream reply: only SPEC §3's header allowlist, values
free of control bytes, a Content-Length only when it can be trusted, never our backend
secret; a reply that breaks before its first body byte still gets a 502; the drain deadline
ends a stream with an error event; usage is metered even when the client did not ask for it."""
import http.client
import json
import signal
import socket
import time

import pytest

from conftest import Gateway, USER_KEY, config_for, AUTH, chat, log_line, read_to_end

SECRET = "upstream-secret-key"


def backend(name, behaviour):
    return f"""  {name}:
    kind: openai
    url: {{up}}/as/{behaviour}
    api_key: {SECRET}
"""


BACKENDS = "".join(backend(n, b) for n, b in [
    ("pleaky", "leaky"), ("pcl", "cl-and-chunked"), ("pbadhdr", "bad-header"),
    ("pecho500", "echo-auth-500"), ("pecho429", "echo-auth-429"), ("pecho400", "echo-auth-400"),
    ("phead", "head-then-reset"), ("pok2", "ok"), ("pendless", "endless"),
])

MODELS = """
  leaky: { task: chat, backends: [pleaky] }
  cl-chunked: { task: chat, backends: [pcl] }
  bad-header: { task: chat, backends: [pbadhdr] }
  echo-500: { task: chat, backends: [pecho500] }
  echo-429: { task: chat, backends: [pecho429] }
  echo-400: { task: chat, backends: [pecho400] }
  head-reset: { task: chat, backends: [phead] }
  head-reset-then-ok: { task: chat, backends: [phead, pok2] }
  plain-ok: { task: chat, backends: [pok2] }
  endless-stream: { task: chat, backends: [pendless] }
"""


def make_config(port, drain=None):
    up = f"http://127.0.0.1:{port}"
    text = config_for(port, extra_backends=BACKENDS.replace("{up}", up), extra_models=MODELS)
    if drain:
        text = text.replace("  max_body: 200MB\n", f"  max_body: 200MB\n  drain_timeout: {drain}\n")
    return text


@pytest.fixture(scope="module")
def gw(upstream):
    gateway = Gateway(make_config(upstream[0]))
    yield gateway
    gateway.stop()




def post(gw, body, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(), headers=AUTH)
    resp = conn.getresponse()
    payload = resp.read()
    if own:
        conn.close()
    return resp, payload


def raw_head_and_body(gw, body):
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
    data = json.dumps(body).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                 + str(len(data)).encode() + b"\r\n\r\n" + data)
    received = read_to_end(sock)
    sock.close()
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest






# --- Item 9: the allowlist ------------------------------------------------------------------------

def test_only_allowlisted_upstream_headers_reach_the_client(gw):
    resp, _ = post(gw, chat("leaky"))
    assert resp.status == 200
    names = {k.lower() for k, _ in resp.getheaders()}
    for leaked in ("openai-organization", "openai-project", "openai-processing-ms", "x-ratelimit-limit-requests",
                   "x-ratelimit-remaining-tokens", "set-cookie", "x-upstream-secret", "retry-after"):
        assert leaked not in names, leaked
    assert resp.getheader("cache-control") == "no-store"
    assert resp.getheader("content-disposition") == "inline"
    assert resp.getheader("content-type") == "application/json"
    assert resp.getheader("x-tollgate-backend") == "pleaky"


def test_retry_after_is_kept_on_a_passed_through_4xx(gw):
    resp, _ = post(gw, chat("echo-400"))
    assert resp.status == 400
    assert resp.getheader("retry-after") == "5"
    assert resp.getheader("openai-organization") is None


# --- Item 8: framing and header values -------------------------------------------------------------

def test_content_length_next_to_chunked_does_not_desync_a_kept_connection(gw):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    resp, payload = post(gw, chat("cl-chunked"), conn)
    assert resp.status == 200
    assert json.loads(payload)["pad"] == "y" * 64          # the whole body, not 5 bytes of it
    resp, payload = post(gw, chat("plain-ok"), conn)        # the same connection, still in step
    assert resp.status == 200
    assert json.loads(payload)["choices"][0]["message"]["content"] == "Hello from upstream"
    conn.close()


def test_control_bytes_in_upstream_header_values_never_reach_the_client(gw):
    head, body = raw_head_and_body(gw, chat("bad-header"))
    assert head.startswith(b"HTTP/1.1 200")
    for line in head.split(b"\r\n"):
        assert all(b >= 0x20 or b == 0x09 for b in line), line
    assert b"x-injected" not in head.lower()
    assert b"\x01" not in head


# --- Item 12: our secret never comes back ----------------------------------------------------------

def test_an_upstream_error_echoing_our_key_is_redacted(gw):
    resp, payload = post(gw, chat("echo-500"))
    assert resp.status == 502
    message = json.loads(payload)["error"]["message"]
    assert SECRET not in message
    assert "upstream failed for header Authorization" in message
    assert SECRET not in json.dumps(log_line(gw, resp.getheader("x-request-id")))


def test_the_no_backend_reasons_of_a_429_echoing_our_key_are_redacted(gw):
    resp, payload = post(gw, chat("echo-429"))
    assert resp.status == 503
    message = json.loads(payload)["error"]["message"]
    assert "rate limited key" in message and SECRET not in message


def test_a_passed_through_4xx_echoing_our_key_in_small_chunks_is_redacted(gw):
    """The upstream sends the body three bytes at a time: the key reaches the gateway in
    pieces and must still be recognised."""
    resp, payload = post(gw, chat("echo-400"))
    assert resp.status == 400
    assert SECRET.encode() not in payload
    message = json.loads(payload)["error"]["message"]       # still valid JSON
    assert message.startswith("bad request from Bearer ") and message.count("[redacted]") == 2


# --- Item 15: failures before the first body byte, drain, usage -----------------------------------

def test_a_reply_that_breaks_before_its_first_body_byte_is_a_502(gw):
    resp, payload = post(gw, chat("head-reset"))
    assert resp.status == 502
    assert json.loads(payload)["error"]["code"] == "bad_gateway"
    line = log_line(gw, resp.getheader("x-request-id"))
    assert line["status"] == 502


def test_a_reply_that_breaks_before_its_first_body_byte_fails_over(gw):
    resp, payload = post(gw, chat("head-reset-then-ok"))
    assert resp.status == 200
    assert resp.getheader("x-tollgate-backend") == "pok2"


def sse_events(payload):
    return [e for e in payload.decode().split("\n\n") if e.strip()]


@pytest.mark.parametrize("options", [{"include_usage": False}, {}, {"include_usage": None}])
def test_usage_is_metered_but_withheld_when_the_client_did_not_ask(gw, upstream, options):
    _, recorder = upstream
    resp, payload = post(gw, chat("stream", stream=True, stream_options=options))
    assert resp.status == 200
    rid = resp.getheader("x-request-id")
    sent = recorder.for_request(rid)[0]["body"]["stream_options"]
    assert sent["include_usage"] is True                    # the upstream was asked anyway
    events = sse_events(payload)
    assert not any('"usage"' in e for e in events)          # … but the client does not see it
    assert events[-1] == "data: [DONE]" and any(e.startswith(": tollgate ") for e in events)
    line = log_line(gw, rid)
    assert line["prompt_tokens"] == 11 and line["completion_tokens"] == 7


def test_an_escaped_duplicate_include_usage_cannot_blind_the_meter(gw, upstream):
    _, recorder = upstream
    body = (b'{"model":"stream","stream":true,"messages":[],'
            b'"stream_options":{"include_usage":true,"include\\u005fusage":false}}')
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    conn.request("POST", "/v1/chat/completions", body=body, headers=AUTH)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    assert resp.status == 200
    rid = resp.getheader("x-request-id")
    assert recorder.for_request(rid)[0]["body"]["stream_options"]["include_usage"] is True
    assert log_line(gw, rid)["completion_tokens"] == 7
    assert not any('"usage"' in e for e in sse_events(payload))   # the last value the client sent: false


def test_usage_reaches_a_client_that_asked(gw):
    resp, payload = post(gw, chat("stream", stream=True, stream_options={"include_usage": True}))
    usage = [e for e in sse_events(payload) if '"usage"' in e]
    assert len(usage) == 1 and json.loads(usage[0][6:])["usage"]["completion_tokens"] == 7


def test_a_simulated_stream_withholds_usage_from_a_client_that_declined(gw):
    resp, payload = post(gw, chat("sim-chat", stream=True, stream_options={"include_usage": False}))
    assert resp.status == 200
    events = sse_events(payload)
    assert len(events) > 5 and not any('"usage"' in e for e in events)
    assert log_line(gw, resp.getheader("x-request-id"))["completion_tokens"] > 0


def test_the_drain_deadline_ends_a_stream_with_an_error_event(upstream):
    gateway = Gateway(make_config(upstream[0], drain="1500ms"))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=20)
        conn.request("POST", "/v1/chat/completions", body=json.dumps(chat("endless-stream", stream=True)),
                     headers=AUTH)
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.readline().startswith(b"data: ")         # the stream is really in flight
        started = time.monotonic()
        gateway.proc.send_signal(signal.SIGTERM)
        rest = resp.read()                                    # a complete chunked body, no IncompleteRead
        assert time.monotonic() - started < 3
        events = sse_events(rest)
        assert events[-1].startswith("event: error\ndata: ")
        error = json.loads(events[-1].split("data: ", 1)[1])["error"]
        assert error["code"] == "shutting_down"
        assert gateway.proc.wait(10) == 0
    finally:
        gateway.stop()
