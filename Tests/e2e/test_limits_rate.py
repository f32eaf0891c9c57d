"""Per-user `requests_per_minute` and `concurrent` against the real binary (SPEC §2, §3, §6):
429 with Retry-After and the OpenAI-shaped error naming the limit, OpenAI's x-ratelimit-*
headers, the refusal counted in /metrics and written to the usage log, limits held across
worker loops, and a reload that changes a limit but keeps the usage so far."""
import http.client
import json
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from conftest import Gateway, wait_until
from test_lifecycle import wait_for_stderr

RPM_KEY = "tg-e2e-rpm-user-key-0123456789abcd"
CONC_KEY = "tg-e2e-conc-user-key-0123456789abc"
FREE_KEY = "tg-e2e-free-user-key-0123456789abc"
SLOW_SECONDS = 0.4


class CountingUpstream:
    """An OpenAI-compatible upstream that holds each chat request SLOW_SECONDS (model `slow`)
    and records the most requests it ever had in flight at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.served = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                with outer.lock:
                    outer.active += 1
                    outer.max_active = max(outer.max_active, outer.active)
                try:
                    if body.get("model") == "slow":
                        time.sleep(SLOW_SECONDS)
                    payload = json.dumps({
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    with outer.lock:
                        outer.active -= 1
                        outer.served += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            self.active = self.max_active = self.served = 0


def config(port, workers=2, rpm=3, concurrent=3):
    return f"""
server:
  listen: 127.0.0.1:0
  workers: {workers}
backends:
  up: {{ kind: openai, url: http://127.0.0.1:{port} }}
models:
  slow: {{ task: chat, backends: [up] }}
  fast: {{ task: chat, backends: [up] }}
groups:
  metered:
    limits: {{ requests_per_minute: {rpm} }}
users:
  rpm-user:
    keys: ["{RPM_KEY}"]
    group: metered
  conc-user:
    keys: ["{CONC_KEY}"]
    limits: {{ concurrent: {concurrent} }}
  free-user:
    keys: ["{FREE_KEY}"]
"""


@pytest.fixture(scope="module")
def counting():
    upstream = CountingUpstream()
    yield upstream
    upstream.server.shutdown()


def post(port, key, model="fast"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def metric(gw, name, **labels):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def usage_rows(gw, user, status):
    try:
        db = sqlite3.connect(f"file:{gw.db_path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT status, error, gpu_seconds, cost_usd FROM requests WHERE user = ? AND status = ?",
                              (user, status)).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []


def test_requests_per_minute_answers_429_with_the_limit_its_reset_and_headers(counting):
    gw = Gateway(config(counting.port, rpm=3))
    try:
        remaining = []
        for _ in range(3):
            status, headers, _ = post(gw.port, RPM_KEY)
            assert status == 200
            assert headers["x-ratelimit-limit-requests"] == "3"
            remaining.append(headers["x-ratelimit-remaining-requests"])
            assert headers["x-ratelimit-reset-requests"].endswith("s")
        assert remaining == ["2", "1", "0"]

        status, headers, body = post(gw.port, RPM_KEY)
        assert status == 429
        # 3 per minute: a token every 20 s; Retry-After is whole seconds, rounded up.
        assert 1 <= int(headers["retry-after"]) <= 20
        assert headers["x-ratelimit-remaining-requests"] == "0"
        assert headers["x-ratelimit-limit-requests"] == "3"
        error = json.loads(body)["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert "requests_per_minute" in error["message"] and "resets in" in error["message"]

        # Another user is not affected; a user without limits gets no rate headers.
        status, headers, _ = post(gw.port, FREE_KEY)
        assert status == 200 and "x-ratelimit-limit-requests" not in headers

        assert metric(gw, "tollgate_rate_limited_total", user="rpm-user", limit="requests_per_minute") == 1
        # The refusal is a usage row like any other, with nothing spent.
        assert wait_until(lambda: len(usage_rows(gw, "rpm-user", 429)) == 1, 10)
        [(row_status, row_error, gpu, cost)] = usage_rows(gw, "rpm-user", 429)
        assert row_error == "rate_limit_exceeded" and gpu == 0 and cost == 0
        assert len(usage_rows(gw, "rpm-user", 200)) == 3
    finally:
        assert gw.stop() == 0


def test_the_openai_sdk_sees_rate_limit_error_and_the_headers(counting):
    gw = Gateway(config(counting.port, rpm=2))
    try:
        client = openai.OpenAI(base_url=f"{gw.base}/v1", api_key=RPM_KEY, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(model="fast", messages=[{"role": "user", "content": "hi"}])
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-ratelimit-remaining-requests"] == "1"
        assert raw.parse().choices[0].message.content == "ok"
        client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
        error = raised.value
        assert error.status_code == 429
        assert error.code == "rate_limit_exceeded"
        assert "requests_per_minute" in error.message
        assert int(error.response.headers["retry-after"]) >= 1
        assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    finally:
        assert gw.stop() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrent_limit_holds_exactly_across_loops(counting, workers):
    gw = Gateway(config(counting.port, workers=workers, concurrent=3))
    try:
        counting.reset()
        start = threading.Barrier(20)

        def one(_):
            start.wait(10)
            return post(gw.port, CONC_KEY, model="slow")

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(one, range(20)))
        statuses = [status for status, _, _ in results]
        assert set(statuses) <= {200, 429}, statuses
        # Never more than 3 at the upstream, and the limit was reached (20 arrived at once).
        assert counting.max_active == 3, (counting.max_active, statuses)
        assert statuses.count(200) >= 3
        refused = [(h, json.loads(b)["error"]) for s, h, b in results if s == 429]
        assert refused and all(e["code"] == "rate_limit_exceeded" and "concurrent" in e["message"] for _, e in refused)
        assert all(int(h["retry-after"]) >= 1 for h, _ in refused)
        assert metric(gw, "tollgate_rate_limited_total", user="conc-user", limit="concurrent") == statuses.count(429)
        # Every slot came back when its exchange ended: 3 at once are admitted again.
        with ThreadPoolExecutor(3) as pool:
            assert [s for s, _, _ in pool.map(lambda _: post(gw.port, CONC_KEY, model="slow"), range(3))] == [200] * 3
        assert wait_until(lambda: len(usage_rows(gw, "conc-user", 429)) == statuses.count(429), 10)
    finally:
        assert gw.stop() == 0


def test_a_client_that_leaves_gives_its_slot_back(counting):
    gw = Gateway(config(counting.port, workers=2, concurrent=1))
    try:
        import socket
        sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        body = json.dumps({"model": "slow", "messages": []}).encode()
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + CONC_KEY.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert wait_until(lambda: counting.active == 1, 10)
        assert post(gw.port, CONC_KEY)[0] == 429
        sock.close()
        assert wait_until(lambda: post(gw.port, CONC_KEY)[0] == 200, 10)
    finally:
        assert gw.stop() == 0


def test_a_reload_applies_the_new_limit_and_keeps_the_usage_so_far(counting):
    gw = Gateway(config(counting.port, rpm=3))
    try:
        assert [post(gw.port, RPM_KEY)[0] for _ in range(2)] == [200, 200]
        gw.config.write_text(config(counting.port, rpm=4) + f"\nstorage:\n  sqlite: {gw.db_path}\n")
        gw.proc.send_signal(signal.SIGHUP)
        assert wait_for_stderr(gw, "tollgate: reloaded")
        # The one request left before the reload is all there is after it (a fresh bucket
        # would hold 4); the new limit shows in the headers. 4 per minute refills one in 15 s.
        statuses = [post(gw.port, RPM_KEY) for _ in range(2)]
        assert [s for s, _, _ in statuses] == [200, 429]
        assert statuses[0][1]["x-ratelimit-limit-requests"] == "4"
        assert statuses[0][1]["x-ratelimit-remaining-requests"] == "0"
        assert metric(gw, "tollgate_rate_limited_total", user="rpm-user", limit="requests_per_minute") == 1
    finally:
        assert gw.stop() == 0


def test_every_way_an_admitted_request_ends_gives_its_slot_back(counting):
    # concurrent: 1, so any slot kept by a request that ended would refuse the next one: a
    # body cut off before the model, a wrong media type (415), malformed JSON (400), an unknown
    # model (404), a body over its declared length read by nobody, and keep-alive reuse.
    import socket
    gw = Gateway(config(counting.port, workers=1, rpm=1000, concurrent=1))
    try:
        def raw(head_and_body, read=True):
            sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
            try:
                sock.sendall(head_and_body)
                return sock.recv(65536) if read else b""
            finally:
                sock.close()

        def head(content_type, length):
            return (b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + CONC_KEY.encode()
                    + b"\r\nContent-Type: " + content_type + b"\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n")

        # Each must give its slot back: the next request is served, not refused 429 (the
        # gateway hears of a client's close a moment later, hence the poll).
        def slot_free():
            return wait_until(lambda: post(gw.port, CONC_KEY)[0] == 200, 10)

        raw(head(b"application/json", 1000) + b'{"mess', read=False)  # client leaves mid-body
        assert slot_free()
        raw(head(b"application/json", 100000) + b'{"model":"slow","messages":[', read=False)  # past the model
        assert slot_free()
        form = b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nfast\r\n--b--\r\n'
        assert raw(head(b"multipart/form-data; boundary=b", len(form)) + form).startswith(b"HTTP/1.1 415")
        assert slot_free()
        assert raw(head(b"application/json", 5) + b"{nope").startswith(b"HTTP/1.1 400")
        assert slot_free()
        assert post(gw.port, CONC_KEY, model="nope")[0] == 404
        statuses = [post(gw.port, CONC_KEY)[0] for _ in range(3)]
        assert statuses == [200, 200, 200], statuses
    finally:
        assert gw.stop() == 0
