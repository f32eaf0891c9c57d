"""GET /metrics against a real `tollgate serve`: Prometheus text 0.0.4 parsed with
prometheus_client, every SPEC §6 series with its TYPE, values equal to the traffic sent,
`metrics.protected`, `metrics.user_label: false`, no key material, and counters seeded from
the usage log at start-up."""
import concurrent.futures
import hashlib
import http.client
import json
import pathlib
import re
import sqlite3
import tempfile
import time
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Gateway, chat, wait_until

USER_KEY = "tg-metrics-user-key-0123456789abcdef"
ADMIN_KEY = "tg-metrics-admin-key-0123456789abcdef"
CANARY_UPSTREAM = "canary-upstream-secret-7f3e9a"

# SPEC §6 and the metering contract: name as exposed → TYPE.
SERIES = {
    "tollgate_requests_total": "counter",
    "tollgate_gpu_seconds_total": "counter",
    "tollgate_spend_usd_total": "counter",
    "tollgate_backend_billed_usd_total": "counter",
    "tollgate_backend_attributed_usd_total": "counter",
    "tollgate_request_duration_seconds": "histogram",
    "tollgate_upstream_ttfb_seconds": "histogram",
    "tollgate_backend_up": "gauge",
    "tollgate_backend_inflight": "gauge",
    "tollgate_rate_limited_total": "counter",
    "tollgate_quota_remaining": "gauge",
    "tollgate_spend_forecast_usd": "gauge",
    "tollgate_usage_dropped_total": "counter",
    "tollgate_spend_month_usd": "gauge",
    "tollgate_billed_month_usd": "gauge",
    "tollgate_budget_month_usd": "gauge",
    "tollgate_backend_budget_month_usd": "gauge",
    "tollgate_backend_spend_month_usd": "gauge",
}


def config(db, protected="false", user_label="true"):
    return f"""
server:
  listen: 127.0.0.1:0
  workers: 2
storage:
  sqlite: {db}
admin: {{ key: {ADMIN_KEY} }}    # (the loader refuses metrics.protected without one)
metrics:
  protected: {protected}
  user_label: {user_label}
backends:
  sim:                       # per_second at $0.001/s: a request's µ$ equal its GPU ms
    kind: simulated
    latency: 5ms
    stream_interval: 1ms
    price: {{ per_second: 0.001 }}
    billing: per_second
    budget_usd_per_month: 25
  preq:
    kind: simulated
    latency: 5ms
    price: {{ per_request: 0.01 }}
    billing: per_request
  box:                       # always on at $3.60/h: billed $0.001 every second, idle or not
    kind: simulated
    latency: 5ms
    price: {{ per_hour: 3.6 }}
    billing: always_on
  slow:
    kind: simulated
    latency: 1500ms
  real:
    kind: openai
    url: http://127.0.0.1:9
    api_key: {CANARY_UPSTREAM}
  later:                     # kind http: an adapter since issue 10 (a kind without one would be down)
    kind: http
    url: http://127.0.0.1:9
models:
  m: {{ task: chat, backends: [sim] }}
  p: {{ task: chat, backends: [preq] }}
  b: {{ task: chat, backends: [box] }}
  s: {{ task: chat, backends: [slow] }}
users:
  alice:
    keys: ["{USER_KEY}"]
budgets:
  usd_per_month: 100
"""


def request(gw, method, path, body=None, key=USER_KEY, headers=None):
    """One request on a new connection (so the kernel spreads them over both loops)."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    if body is not None:
        sent["Content-Type"] = "application/json"
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=sent)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp, payload


def scrape(gw, key=None):
    resp, payload = request(gw, "GET", "/metrics", key=key)
    assert resp.status == 200, payload
    assert resp.getheader("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    return payload.decode()


def scrape_until(gw, settled, key=None, seconds=10):
    """Scrapes until `settled(text)` holds: the counters that sum the usage log count what the
    writer has committed, at most one batch (≤ 50 ms) behind the responses."""
    last = {}

    def attempt():
        last["text"] = scrape(gw, key)
        return settled(last["text"])

    assert wait_until(attempt, seconds), last.get("text")
    return last["text"]


def samples(text):
    """{(sample name, frozenset(labels.items())): value} of every sample, parsed by
    prometheus_client (which rejects malformed text)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


def value(parsed, name, **labels):
    return parsed.get((name, frozenset(labels.items())), 0)


def exact(text, name, **labels):
    """The sample's value as written (Decimal), for money that must be exact."""
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return Decimal(line.split(" ", 1)[1])
    return Decimal(0)


@pytest.fixture(scope="module")
def gw():
    tmp = tempfile.TemporaryDirectory()
    gateway = Gateway(config(pathlib.Path(tmp.name) / "usage.db"))
    yield gateway
    gateway.stop()
    tmp.cleanup()


def test_every_spec_series_is_exposed_with_its_type(gw):
    request(gw, "POST", "/v1/chat/completions", chat("m"))
    # Committed before the next test counts from here (the module shares one gateway).
    text = scrape_until(gw, lambda t: value(samples(t), "tollgate_requests_total", model="m", backend="sim",
                                            user="alice", code="200") >= 1)
    for name, kind in SERIES.items():
        assert re.search(rf"^# TYPE {name} {kind}$", text, re.M), name
        assert re.search(rf"^# HELP {name} \S", text, re.M), name
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    for name, kind in SERIES.items():
        # prometheus_client names a counter family without its _total suffix.
        family = name[: -len("_total")] if kind == "counter" else name
        assert families.get(family) == kind, name
    samples(text)  # every line parses, no series twice


def test_requests_by_code_match_the_traffic_sent(gw):
    before = samples(scrape(gw))
    n = 12
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: request(gw, "POST", "/v1/chat/completions", chat("m"))[0].status, range(n)))
    assert statuses == [200] * n
    for _ in range(3):
        assert request(gw, "POST", "/v1/chat/completions", chat("m"), key="tg-wrong-key-0000000000000000")[0].status == 401
    assert request(gw, "POST", "/v1/chat/completions", chat("m"), key=None)[0].status == 401
    # Invented model names become "" (no new series per name).
    for name in ["does-not-exist", 'quote"and\\backslash', "x" * 200]:
        assert request(gw, "POST", "/v1/chat/completions", chat(name))[0].status == 404

    def counted(text):
        now = samples(text)
        return all(value(now, "tollgate_requests_total", **labels) - value(before, "tollgate_requests_total", **labels) == want
                   for labels, want in [(dict(model="m", backend="sim", user="alice", code="200"), n),
                                        (dict(model="", backend="", user="", code="401"), 4),
                                        (dict(model="", backend="", user="alice", code="404"), 3)])

    text = scrape_until(gw, counted)
    after = samples(text)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("tollgate_requests_total", model="m", backend="sim", user="alice", code="200") == n
    assert delta("tollgate_requests_total", model="", backend="", user="", code="401") == 4
    assert delta("tollgate_requests_total", model="", backend="", user="alice", code="404") == 3
    assert "does-not-exist" not in text and "backslash" not in text
    assert delta("tollgate_request_duration_seconds_count", model="m") == n
    assert delta("tollgate_request_duration_seconds_bucket", model="m", le="+Inf") == n
    assert delta("tollgate_upstream_ttfb_seconds_count", backend="sim") == n
    # Buckets are cumulative up to +Inf.
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                     if k[0] == "tollgate_request_duration_seconds_bucket" and dict(k[1])["model"] == "m")
    assert [b for b, _ in buckets][0] == 0.005 and buckets[-1][0] == float("inf") and len(buckets) == 17
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert value(after, "tollgate_backend_up", backend="sim") == 1
    assert value(after, "tollgate_backend_up", backend="later") == 1
    assert value(after, "tollgate_usage_dropped_total") == 0


def test_spend_is_the_sum_of_every_request_cost(gw):
    text = scrape(gw)
    spend0 = exact(text, "tollgate_spend_usd_total", model="m", backend="sim", user="alice")
    gpu0 = exact(text, "tollgate_gpu_seconds_total", model="m", backend="sim", user="alice")
    preq0 = exact(text, "tollgate_spend_usd_total", model="p", backend="preq", user="alice")
    headers = []
    for _ in range(6):
        resp, _ = request(gw, "POST", "/v1/chat/completions", chat("m"))
        assert resp.status == 200
        headers.append(resp.getheader("x-tollgate-cost-usd"))
    for _ in range(4):
        assert request(gw, "POST", "/v1/chat/completions", chat("p"))[0].status == 200
    text = scrape_until(gw, lambda t: exact(t, "tollgate_spend_usd_total", model="p", backend="preq", user="alice") - preq0
                        == Decimal("0.04") and exact(t, "tollgate_spend_usd_total", model="m", backend="sim", user="alice")
                        - spend0 == sum(Decimal(h) for h in headers))
    spend = exact(text, "tollgate_spend_usd_total", model="m", backend="sim", user="alice") - spend0
    gpu = exact(text, "tollgate_gpu_seconds_total", model="m", backend="sim", user="alice") - gpu0
    # $0.001 per GPU-second: every request's cost in µ$ is its GPU time in ms, so the sums
    # agree exactly (integers summed, not rounded Doubles).
    assert gpu >= Decimal("0.030") and spend == gpu / 1000
    assert spend == sum(Decimal(h) for h in headers)  # each response's own figure (SPEC §3)
    assert exact(text, "tollgate_spend_usd_total", model="p", backend="preq", user="alice") - preq0 == Decimal("0.04")
    # Per-use backends bill what their requests cost; attributed is the same sum.
    for backend in ("sim", "preq"):
        attributed = exact(text, "tollgate_backend_attributed_usd_total", backend=backend)
        assert exact(text, "tollgate_backend_billed_usd_total", backend=backend) == attributed
        assert attributed == sum(Decimal(l.split(" ")[1]) for l in text.splitlines()
                                 if l.startswith("tollgate_spend_usd_total{") and f'backend="{backend}"' in l)
    assert exact(text, "tollgate_backend_spend_month_usd", backend="sim") == exact(text, "tollgate_backend_attributed_usd_total", backend="sim")
    assert exact(text, "tollgate_budget_month_usd") == 100
    assert exact(text, "tollgate_backend_budget_month_usd", backend="sim") == 25
    assert 'tollgate_backend_budget_month_usd{backend="box"}' not in text
    assert exact(text, "tollgate_spend_forecast_usd", period="month") > exact(text, "tollgate_billed_month_usd")


def test_an_always_on_backend_is_billed_while_idle(gw):
    first = exact(scrape(gw), "tollgate_backend_billed_usd_total", backend="box")
    # $3.60/h is $0.001 a second, requests or not.
    assert wait_until(lambda: exact(scrape(gw), "tollgate_backend_billed_usd_total", backend="box") >= first + Decimal("0.001"), 10)
    text = scrape(gw)
    assert exact(text, "tollgate_backend_attributed_usd_total", backend="box") < exact(text, "tollgate_backend_billed_usd_total", backend="box")
    assert exact(text, "tollgate_billed_month_usd") >= exact(text, "tollgate_backend_spend_month_usd", backend="box") > 0


def test_inflight_counts_attempts_under_way(gw):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        running = [pool.submit(request, gw, "POST", "/v1/chat/completions", chat("s")) for _ in range(2)]
        assert wait_until(lambda: value(samples(scrape(gw)), "tollgate_backend_inflight", backend="slow") == 2, 10)
        assert all(f.result()[0].status == 200 for f in running)
    assert wait_until(lambda: value(samples(scrape(gw)), "tollgate_backend_inflight", backend="slow") == 0, 5)


def test_no_key_material_in_the_exposition(gw):
    request(gw, "POST", "/v1/chat/completions", chat("m"))
    request(gw, "POST", "/v1/chat/completions", chat("m"), key=ADMIN_KEY)
    text = scrape(gw)
    for secret in (USER_KEY, ADMIN_KEY, CANARY_UPSTREAM):
        assert secret not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text
        assert hashlib.sha256(secret.encode()).hexdigest()[:8] not in text  # not even a key_id


def test_head_is_answered_without_a_body(gw):
    resp, payload = request(gw, "HEAD", "/metrics", key=None)
    assert resp.status == 200 and payload == b""
    assert request(gw, "POST", "/metrics", key=None)[0].status == 405


def test_protected_metrics_need_the_admin_key():
    with tempfile.TemporaryDirectory() as tmp:
        gw = Gateway(config(pathlib.Path(tmp) / "usage.db", protected="true"))
        try:
            assert request(gw, "GET", "/metrics", key=None)[0].status == 401
            assert request(gw, "GET", "/metrics", key="tg-not-a-key-00000000000000000")[0].status == 401
            resp, payload = request(gw, "GET", "/metrics", key=USER_KEY)
            assert resp.status == 403 and json.loads(payload)["error"]["code"] == "admin_key_required"
            assert "tollgate_requests_total" in scrape(gw, key=ADMIN_KEY)
        finally:
            gw.stop()


def test_without_the_user_label_no_series_names_a_user():
    with tempfile.TemporaryDirectory() as tmp:
        gw = Gateway(config(pathlib.Path(tmp) / "usage.db", user_label="false"))
        try:
            request(gw, "POST", "/v1/chat/completions", chat("m"))
            text = scrape_until(gw, lambda t: value(samples(t), "tollgate_requests_total", model="m", backend="sim", code="200") == 1)
        finally:
            gw.stop()
    parsed = samples(text)
    assert not any("user" in dict(labels) for _, labels in parsed)
    assert "alice" not in text
    assert value(parsed, "tollgate_requests_total", model="m", backend="sim", code="200") == 1


# --- Seeds ----------------------------------------------------------------------------------

def test_counters_start_from_the_usage_log():
    """The rollups and uptime of earlier runs (written here into the schema a first start
    created) seed the counters before the first request."""
    with tempfile.TemporaryDirectory() as tmp:
        db = pathlib.Path(tmp) / "usage.db"
        Gateway(config(db)).stop()  # creates the schema; no requests
        today = time.strftime("%Y-%m-%d", time.gmtime())
        now = time.time()
        con = sqlite3.connect(db)
        con.execute("DELETE FROM backend_uptime")  # the first start's few milliseconds of `box`
        con.executemany("INSERT INTO usage_daily (day, user, model, backend, status, requests, gpu_ms, cost_microdollars) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(today, "alice", "m", "sim", 200, 40, 123_456, 123_456),
                         ("2001-01-01", "alice", "m", "sim", 200, 2, 10, 10),
                         (today, "", "", "", 401, 9, 0, 0)])
        # An earlier run kept `box` up for exactly two hours, ending a minute ago.
        con.execute("INSERT INTO backend_uptime VALUES ('old', 'box', 3600000, ?, ?)", (now - 7260, now - 60))
        con.commit()
        con.close()
        gw = Gateway(config(db))
        try:
            text = scrape(gw)
        finally:
            gw.stop()
    parsed = samples(text)
    assert value(parsed, "tollgate_requests_total", model="m", backend="sim", user="alice", code="200") == 42
    assert value(parsed, "tollgate_requests_total", model="", backend="", user="", code="401") == 9
    assert exact(text, "tollgate_spend_usd_total", model="m", backend="sim", user="alice") == Decimal("0.123466")
    assert exact(text, "tollgate_gpu_seconds_total", model="m", backend="sim", user="alice") == Decimal("123.466")
    # Two hours at $3.60/h, plus this run's seconds.
    assert Decimal("7.2") <= exact(text, "tollgate_backend_billed_usd_total", backend="box") < Decimal("7.3")
    if time.strftime("%Y-%m", time.gmtime(now - 7260)) == time.strftime("%Y-%m", time.gmtime()):
        assert exact(text, "tollgate_spend_month_usd") == Decimal("0.123456")


def test_counters_survive_a_restart():
    """Once the usage writer stores rows, a restart carries the counters on (SPEC §6)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = pathlib.Path(tmp) / "usage.db"
        gw = Gateway(config(db))
        try:
            for _ in range(5):
                assert request(gw, "POST", "/v1/chat/completions", chat("m"))[0].status == 200
            first = scrape_until(gw, lambda t: value(samples(t), "tollgate_requests_total", code="200",
                                                     model="m", backend="sim", user="alice") == 5)
        finally:
            gw.stop()
        # The writer has landed: a missing log is a failure, not a reason to skip.
        assert db.exists() and sqlite3.connect(db).execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'usage_daily'").fetchone()[0] == 1
        gw = Gateway(config(db))
        try:
            second = scrape(gw)
        finally:
            gw.stop()
    key = dict(model="m", backend="sim", user="alice")
    assert value(samples(second), "tollgate_requests_total", code="200", **key) == 5
    assert exact(second, "tollgate_spend_usd_total", **key) == exact(first, "tollgate_spend_usd_total", **key) > 0
    assert exact(second, "tollgate_gpu_seconds_total", **key) == exact(first, "tollgate_gpu_seconds_total", **key)
