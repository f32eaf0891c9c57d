"""Issue 12 end to end: the cost-aware router through the real `tollgate serve` binary, in front
of scriptable fake boxes (fake_box.py, one per backend so each backend's traffic is counted on
its own), the fake Hub (fake_hub.py), a fake pod API (fake_pod_api.py) and a fake Gradio Space
(fake_gradio.py). Loopback only; every wait polls with a deadline; every test is bounded.

Covered (SPEC §3, §4; issue 12 "Tests"): expected-cost ordering (always_on free below its cap,
per_second with its cold-start penalty, per_request), spill-over from a full always-on box,
saturation → FIFO wait → 503 with reasons and Retry-After, max_concurrency across workers,
failover and the circuit of a dying cheapest box (open, half-open trial, closed), max_latency,
a 429's Retry-After cool-down and tollgate_backend_up, GET /admin/backends, health probes that
never reach the inference route, and idle pause / wake on demand for a Space and an `http`
action."""
import json
import re
import threading
import time

import pytest
import requests

import fake_box
import fake_gradio
import fake_hub
import fake_pod_api
from conftest import USER_KEY, Gateway, wait_until

ADMIN_KEY = "tg-e2e-routing-admin-key-0123456789"
AUTH = {"Authorization": f"Bearer {USER_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

ALWAYS_ON = "    price: { per_hour: 0.40 }\n    billing: always_on\n"
PER_SECOND = "    price: { per_second: 0.0002 }\n    billing: per_second\n"
PER_REQUEST = "    price: { per_request: 0.001 }\n    billing: per_request\n"


def box_backend(name, box, pricing, extra=""):
    return f"  {name}:\n    kind: openai\n    url: {box.url}\n{pricing}{extra}"


def gateway(backends, models, extra_env=None, workers=2):
    return Gateway(f"""
server:
  listen: 127.0.0.1:0
  workers: {workers}
admin:
  key: {ADMIN_KEY}
backends:
{backends}
models:
{models}
users:
  alice:
    keys: ["{USER_KEY}"]
""", extra_env=extra_env)


def chat(gw, model, message="hi", timeout=30):
    return requests.post(gw.base + "/v1/chat/completions", headers=AUTH, timeout=timeout,
                         json={"model": model, "messages": [{"role": "user", "content": message}]})


class Background:
    """One request on its own thread (its own connection); `result()` waits for it, bounded."""

    def __init__(self, fn, *args, **kwargs):
        self.response = None
        self.error = None

        def run():
            try:
                self.response = fn(*args, **kwargs)
            except Exception as e:  # reported by result()
                self.error = e
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def done(self):
        return not self.thread.is_alive()

    def result(self, seconds=30):
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "the request did not finish in time"
        if self.error is not None:
            raise self.error
        return self.response


def backend_of(response):
    return response.headers.get("x-tollgate-backend")


def admin_backends(gw):
    r = requests.get(gw.base + "/admin/backends", headers=ADMIN, timeout=10)
    assert r.status_code == 200, r.text
    return {row["name"]: row for row in r.json()["data"]}


def metric(gw, name, backend):
    """The value of `name{backend="…"}` in /metrics (None when absent)."""
    text = requests.get(gw.base + "/metrics", timeout=10).text
    match = re.search(r'^' + re.escape(name) + r'\{backend="' + re.escape(backend) + r'"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else None


def waiting_decisions(gw, backend, model):
    """How many of `model`'s logged decisions found `backend` full (a request that waits, or
    went elsewhere). The log keeps a model's last 16: the tests stay well below."""
    row = admin_backends(gw)[backend]
    return sum(1 for d in row["last_decisions"] if d["model"] == model and (d["skip"] or "").startswith("full"))


@pytest.fixture
def boxes():
    made = []

    def make(name, **options):
        box = fake_box.start(name, **options)
        made.append(box)
        return box
    yield make
    for box in made:
        box.close()


# --- 1. Cost ordering ------------------------------------------------------------------------

def test_cost_ordering_and_admin_backends(boxes):
    ps, ao = boxes("ps"), boxes("ao")
    cold, pr, warm = boxes("ps-cold"), boxes("pr"), boxes("ps-warm")
    backends = "".join([
        box_backend("ps", ps, PER_SECOND),
        box_backend("ao", ao, ALWAYS_ON, "    max_concurrency: 2\n"),
        box_backend("ps-cold", cold, PER_SECOND, "    cold_start: 20s\n"),
        box_backend("pr", pr, PER_REQUEST),
        box_backend("ps-warm", warm, PER_SECOND, "    expected_run: 2s\n"),
    ])
    # Config order is never the router's order: the costlier candidate comes first each time.
    models = ("  m-ao: { task: chat, backends: [ps, ao] }\n"
              "  m-cold: { task: chat, backends: [ps-cold, pr] }\n"
              "  m-warm: { task: chat, backends: [pr, ps-warm] }\n")
    gw = gateway(backends, models)
    try:
        # always_on below max_concurrency costs 0: it beats per_second, every time.
        for i in range(3):
            r = chat(gw, "m-ao", f"a{i}")
            assert r.status_code == 200, r.text
            assert backend_of(r) == "ao"
        assert ps.count() == 0 and ao.count() == 3
        # per_second with a 20 s cold start never used (P(cold) = 1): 0.0002 × (1 s + 20 s) =
        # $0.0042 > per_request's $0.001.
        r = chat(gw, "m-cold")
        assert r.status_code == 200 and backend_of(r) == "pr", r.text
        assert cold.count() == 0
        # Without a cold start, per_second at 0.0002 × 2 s = $0.0004 beats per_request's $0.001.
        r = chat(gw, "m-warm")
        assert r.status_code == 200 and backend_of(r) == "ps-warm", r.text
        assert pr.count() == 1

        # 7. /admin/backends: the admin key only (401 without a key, 403 with a user's).
        assert requests.get(gw.base + "/admin/backends", timeout=10).status_code == 401
        assert requests.get(gw.base + "/admin/backends", headers=AUTH, timeout=10).status_code == 403
        rows = admin_backends(gw)
        assert set(rows) == {"ps", "ao", "ps-cold", "pr", "ps-warm"}
        for row in rows.values():
            for key in ("state", "eligible", "in_flight", "max_concurrency", "expected_run", "p_cold",
                        "circuit", "reason", "last_decisions"):
                assert key in row, (key, row)
            assert row["state"] == "up" and row["eligible"] is True and row["in_flight"] == 0
            assert row["circuit"]["state"] == "closed"
        assert rows["ao"]["billing"] == "always_on" and rows["ao"]["max_concurrency"] == 2
        # The prior was 2 s; one real run of a few ms moved the moving average (α = 1/5) down.
        [run] = rows["ps-warm"]["expected_run"]
        assert run["model"] == "m-warm" and 1600 <= run["ms"] < 2000, run
        assert rows["ps-cold"]["expected_run"] == [{"model": "m-cold", "ms": 1000}]
        assert rows["ps-cold"]["p_cold"] == 1
        # The last decision's inputs, per candidate.
        decision = rows["ps-cold"]["last_decisions"][-1]
        assert decision["model"] == "m-cold" and decision["picked"] is False
        assert decision["expected_cost_usd"] == pytest.approx(0.0042)
        assert decision["expected_latency_ms"] == 21000 and decision["p_cold"] == 1 and decision["in_flight"] == 0
        won = [d for d in rows["pr"]["last_decisions"] if d["model"] == "m-cold"][-1]
        assert won["picked"] is True and won["expected_cost_usd"] == pytest.approx(0.001) and won["skip"] is None
        won = [d for d in rows["ps-warm"]["last_decisions"] if d["model"] == "m-warm"][-1]
        assert won["picked"] is True and won["expected_cost_usd"] == pytest.approx(0.0004)
        assert won["expected_latency_ms"] == 2000 and won["p_cold"] == 1
        free = [d for d in rows["ao"]["last_decisions"] if d["picked"]]
        assert len(free) == 3 and all(d["expected_cost_usd"] == 0 for d in free)
    finally:
        gw.stop()


# --- 2. Spill-over ---------------------------------------------------------------------------

def test_full_always_on_box_spills_over_to_per_second(boxes):
    ao, ps = boxes("ao"), boxes("ps")
    gw = gateway(box_backend("ao", ao, ALWAYS_ON, "    max_concurrency: 1\n") + box_backend("ps", ps, PER_SECOND),
                 "  m: { task: chat, backends: [ps, ao] }\n")
    try:
        ao.hold = True
        slow = Background(chat, gw, "m", "slow")
        assert wait_until(lambda: ao.held_now() == 1, 10)
        r = chat(gw, "m", "next")
        assert r.status_code == 200 and backend_of(r) == "ps", r.text
        assert ps.messages() == ["next"] and ao.messages() == ["slow"]
        ao.release_all()
        held = slow.result()
        assert held.status_code == 200 and backend_of(held) == "ao"
        # The slot is back: the free box takes the next one again.
        assert wait_until(lambda: admin_backends(gw)["ao"]["in_flight"] == 0, 5)
        r = chat(gw, "m", "after")
        assert r.status_code == 200 and backend_of(r) == "ao", r.text
    finally:
        gw.stop()


# --- 3. Saturation → FIFO wait → 503 ----------------------------------------------------------

def test_saturation_waits_in_fifo_order_then_503_with_reasons(boxes):
    a, b = boxes("a"), boxes("b")
    gw = gateway(box_backend("a", a, ALWAYS_ON, "    max_concurrency: 1\n")
                 + box_backend("b", b, PER_SECOND, "    max_concurrency: 1\n"),
                 "  sat: { task: chat, backends: [a, b], queue_timeout: 20s }\n"
                 "  sat-short: { task: chat, backends: [a, b], queue_timeout: 1500ms }\n")
    try:
        a.hold = b.hold = True
        first = Background(chat, gw, "sat", "r1")
        assert wait_until(lambda: a.held_now() == 1, 10)
        second = Background(chat, gw, "sat", "r2")
        assert wait_until(lambda: b.held_now() == 1, 10)
        # Every candidate full: w1 waits; w2 arrives after it (seen waiting first) and waits too.
        # (r2's own decision found a full: counted from here.)
        seen = waiting_decisions(gw, "a", "sat")
        w1 = Background(chat, gw, "sat", "w1")
        assert wait_until(lambda: waiting_decisions(gw, "a", "sat") >= seen + 1, 10)
        w2 = Background(chat, gw, "sat", "w2")
        assert wait_until(lambda: waiting_decisions(gw, "a", "sat") >= seen + 2, 10)
        assert a.messages() == ["r1"] and b.messages() == ["r2"]
        assert not w1.done() and not w2.done()
        # One slot frees (a's): the first in line takes it, not the second.
        a.release(1)
        assert first.result().status_code == 200
        assert wait_until(lambda: a.messages() == ["r1", "w1"], 10), a.messages()
        assert b.messages() == ["r2"] and not w2.done()
        # Then b's: the second.
        b.release(1)
        assert second.result().status_code == 200
        assert wait_until(lambda: b.messages() == ["r2", "w2"], 10), b.messages()
        a.release_all()
        b.release_all()
        for waiter, name in ((w1, "a"), (w2, "b")):
            r = waiter.result()
            assert r.status_code == 200 and backend_of(r) == name, r.text

        # queue_timeout passes with both still full: 503 no_backend_available, Retry-After and
        # each candidate's reason.
        a.hold = b.hold = True
        holders = [Background(chat, gw, "sat", "h1")]
        assert wait_until(lambda: a.held_now() + b.held_now() == 1, 10)
        holders.append(Background(chat, gw, "sat", "h2"))
        assert wait_until(lambda: a.held_now() == 1 and b.held_now() == 1, 10)
        started = time.monotonic()
        r = chat(gw, "sat-short", "late")
        waited = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert 1.4 <= waited < 10, waited
        error = r.json()["error"]
        assert error["code"] == "no_backend_available"
        assert "a: full (1/1 in flight)" in error["message"] and "b: full (1/1 in flight)" in error["message"]
        assert int(r.headers["Retry-After"]) >= 1
        assert "late" not in a.messages() + b.messages()
        a.release_all()
        b.release_all()
        for h in holders:
            assert h.result().status_code == 200
        # Never more than one request at a time on either box, whichever worker took it.
        assert a.parallel_max == 1 and b.parallel_max == 1
    finally:
        a.release_all()
        b.release_all()
        gw.stop()


def test_max_concurrency_is_counted_across_workers(boxes):
    """Eight clients at once on their own connections (spread over the 2 workers' loops) for a
    backend with max_concurrency 2: the box never holds more than 2, and all are served."""
    c = boxes("c")
    gw = gateway(box_backend("c", c, PER_SECOND, "    max_concurrency: 2\n"),
                 "  one: { task: chat, backends: [c], queue_timeout: 30s }\n")
    try:
        c.hold = True
        clients = [Background(chat, gw, "one", f"q{i}", timeout=60) for i in range(8)]
        for served in range(8):
            expected = min(2, 8 - served)
            assert wait_until(lambda: c.held_now() == expected, 15), (served, c.held_now(), c.count())
            assert c.in_flight <= 2
            c.release(1)
            assert wait_until(lambda: sum(1 for x in clients if x.done()) >= served + 1, 15)
        for x in clients:
            r = x.result()
            assert r.status_code == 200, r.text
        assert c.count() == 8 and c.parallel_max == 2
    finally:
        c.release_all()
        gw.stop()


# --- 4. The cheapest one dies ------------------------------------------------------------------

CIRCUIT = "    circuit: { failures: 2, cooldown: 2s, max_cooldown: 8s }\n"


def test_cheapest_failing_box_opens_its_circuit_and_gets_a_half_open_trial(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    gw = gateway(box_backend("cheap", cheap, ALWAYS_ON, CIRCUIT) + box_backend("backup", backup, PER_SECOND),
                 "  m: { task: chat, backends: [backup, cheap] }\n")
    try:
        r = chat(gw, "m", "warm")
        assert r.status_code == 200 and backend_of(r) == "cheap"
        cheap.status = 500   # it dies mid-run: every answer a 5xx
        for i in range(6):
            r = chat(gw, "m", f"x{i}")
            # Non-streamed: failed over, never a client error.
            assert r.status_code == 200 and backend_of(r) == "backup", r.text
        opened = time.monotonic()
        # Two failures opened the circuit; after that it saw no traffic.
        assert cheap.messages() == ["warm", "x0", "x1"]
        row = admin_backends(gw)["cheap"]
        assert row["circuit"]["state"] == "open" and row["state"] == "circuit_open", row
        assert row["eligible"] is False and row["circuit"]["consecutive_failures"] >= 2
        assert "circuit open" in row["reason"] and "500" in row["reason"], row["reason"]
        assert metric(gw, "tollgate_backend_up", "cheap") == 0
        # It comes back; after the cooldown one half-open trial reaches it and closes the circuit.
        cheap.status = 200
        sent = []

        def trial():
            r = chat(gw, "m", f"t{len(sent)}")
            assert r.status_code == 200, r.text
            sent.append(backend_of(r))
            return sent[-1] == "cheap"
        assert wait_until(trial, 15)
        assert time.monotonic() - opened >= 1.5
        assert cheap.messages()[:3] == ["warm", "x0", "x1"] and len(cheap.messages()) == 4
        row = admin_backends(gw)["cheap"]
        assert row["circuit"]["state"] == "closed" and row["state"] == "up", row
        assert metric(gw, "tollgate_backend_up", "cheap") == 1
        r = chat(gw, "m", "after")
        assert backend_of(r) == "cheap"
    finally:
        gw.stop()


def test_cheapest_box_refusing_connections_fails_over_without_client_errors(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    gw = gateway(box_backend("cheap", cheap, ALWAYS_ON, CIRCUIT) + box_backend("backup", backup, PER_SECOND),
                 "  m: { task: chat, backends: [cheap, backup] }\n")
    try:
        assert backend_of(chat(gw, "m", "warm")) == "cheap"
        cheap.refuse()
        for i in range(5):
            r = chat(gw, "m", f"x{i}")
            assert r.status_code == 200 and backend_of(r) == "backup", r.text
        row = admin_backends(gw)["cheap"]
        assert row["circuit"]["state"] == "open", row
        assert row["circuit"]["consecutive_failures"] == 2, row
        assert "circuit open" in row["reason"], row
        cheap.revive()
        assert wait_until(lambda: backend_of(chat(gw, "m", "back")) == "cheap", 15)
    finally:
        gw.stop()


# --- 5. max_latency ---------------------------------------------------------------------------

def test_max_latency_skips_a_slow_candidate(boxes):
    slow, fast = boxes("slow"), boxes("fast")
    gw = gateway(box_backend("slow", slow, ALWAYS_ON, "    expected_run: 5s\n")
                 + box_backend("fast", fast, PER_SECOND, "    expected_run: 500ms\n"),
                 "  capped: { task: chat, backends: [slow, fast], max_latency: 2s }\n"
                 "  uncapped: { task: chat, backends: [slow, fast] }\n"
                 "  only-slow: { task: chat, backends: [slow], max_latency: 2s }\n")
    try:
        r = chat(gw, "capped")
        assert r.status_code == 200 and backend_of(r) == "fast", r.text
        # Without the cap the free one wins though slower.
        r = chat(gw, "uncapped")
        assert r.status_code == 200 and backend_of(r) == "slow", r.text
        r = chat(gw, "only-slow")
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert error["code"] == "no_backend_available"
        assert "slow: expected 5s exceeds max_latency 2s" in error["message"], error
        assert slow.messages() == ["hi"]   # the uncapped request only
    finally:
        gw.stop()


# --- 6. 429 Retry-After cool-down ------------------------------------------------------------

def test_429_retry_after_cools_the_backend_down(boxes):
    limited, other = boxes("limited"), boxes("other")
    gw = gateway(box_backend("limited", limited, ALWAYS_ON) + box_backend("other", other, PER_SECOND),
                 "  m: { task: chat, backends: [limited, other] }\n")
    try:
        assert metric(gw, "tollgate_backend_up", "limited") == 1
        limited.status, limited.retry_after = 429, 3
        r = chat(gw, "m", "one")
        assert r.status_code == 200 and backend_of(r) == "other", r.text
        cooled = time.monotonic()
        assert limited.count() == 1
        assert metric(gw, "tollgate_backend_up", "limited") == 0
        row = admin_backends(gw)["limited"]
        assert row["state"] == "cooling_down" and row["eligible"] is False and "cooling down" in row["reason"], row
        limited.status = 200
        # Skipped without a call while it cools down.
        r = chat(gw, "m", "two")
        assert r.status_code == 200 and backend_of(r) == "other"
        assert limited.count() == 1
        assert wait_until(lambda: metric(gw, "tollgate_backend_up", "limited") == 1, 10)
        assert time.monotonic() - cooled >= 2.5
        r = chat(gw, "m", "three")
        assert r.status_code == 200 and backend_of(r) == "limited"
        assert limited.messages() == ["one", "three"]
    finally:
        gw.stop()


# --- 8. Health probes ------------------------------------------------------------------------

def test_health_probes_never_reach_the_inference_route(boxes):
    h, alt = boxes("h"), boxes("alt")
    health = "    health: { path: /health, interval: 1s }\n"
    gw = gateway(box_backend("h", h, ALWAYS_ON, health) + box_backend("alt", alt, PER_SECOND),
                 "  hp: { task: chat, backends: [alt, h] }\n"
                 "  h-only: { task: chat, backends: [h] }\n")
    try:
        assert wait_until(lambda: h.health_calls >= 3, 10), h.health_calls
        assert h.count() == 0 and h.other_calls == [] and alt.health_calls == 0
        row = admin_backends(gw)["h"]
        assert row["probe"]["target"] == "GET /health" and row["probe"]["verdict"] == "up", row["probe"]
        # The probe fails: ineligible, skipped with its reason, and failed over.
        h.health_status = 503
        assert wait_until(lambda: admin_backends(gw)["h"]["state"] == "probe_down", 10)
        assert metric(gw, "tollgate_backend_up", "h") == 0
        r = chat(gw, "h-only")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "no_backend_available"
        assert "h: health probe failed" in r.json()["error"]["message"], r.text
        r = chat(gw, "hp")
        assert r.status_code == 200 and backend_of(r) == "alt", r.text
        assert h.count() == 0
        # It recovers: back in.
        h.health_status = 200
        assert wait_until(lambda: admin_backends(gw)["h"]["state"] == "up", 10)
        assert metric(gw, "tollgate_backend_up", "h") == 1
        r = chat(gw, "hp", "back")
        assert r.status_code == 200 and backend_of(r) == "h", r.text
        assert h.messages() == ["back"]
    finally:
        gw.stop()


# --- 9. Idle pause and wake on demand ---------------------------------------------------------

SPACE = "owner/idle-space"
HF_TOKEN = "hf_routing-test-token-0123456789"


def events(gw, name):
    out = []
    for line in gw.access_log():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == name:
            out.append(entry)
    return out


def test_idle_space_is_paused_and_woken_on_demand():
    hub = fake_hub.start()
    hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_polls=2)
    app = fake_gradio.FakeGradio()

    def generate(app_, handler):
        # The Space's app answers only while the Hub says it runs.
        if hub.is_serving(SPACE):
            fake_gradio.event(handler, "complete", ["served"])
        else:
            fake_gradio.event(handler, "error", "space is paused")
    app.scripts["gen"] = generate
    gw = space_gateway(hub, app)
    try:
        # Unused for 1 s: paused through the Hub, with the Space's token.
        assert wait_until(lambda: hub.calls(space=SPACE, op="pause"), 10)
        pause = hub.calls(space=SPACE, op="pause")[0]
        assert pause.method == "POST" and pause.authorization == f"Bearer {HF_TOKEN}" and pause.status == 200
        assert hub.stage(SPACE) == "PAUSED"
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "paused", 5)
        assert wait_until(lambda: metric(gw, "tollgate_backend_pauses_total", "sp") == 1, 5)
        assert wait_until(lambda: events(gw, "backend_paused"), 5)
        assert events(gw, "backend_paused")[0]["backend"] == "sp"
        assert hub.calls(space=SPACE, op="restart") == []
        # A request wakes it (restart), waits until the Hub says RUNNING, and is served.
        r = requests.post(gw.base + "/v1/run/sp-run", headers=AUTH, timeout=60,
                          json={"model": "sp-run", "prompt": "p"})
        assert r.status_code == 200, r.text
        assert r.json() == "served"
        restarts = hub.calls(space=SPACE, op="restart")
        assert len(restarts) == 1 and restarts[0].authorization == f"Bearer {HF_TOKEN}"
        calls = app.requests("POST", "/gradio_api/call/gen")
        assert len(calls) == 1          # never sent to the app before it ran
        running = [c for c in hub.calls(space=SPACE, op="runtime") if c.at > restarts[0].at]
        assert len(running) >= 3        # polled: BUILDING, BUILDING, RUNNING
        assert wait_until(lambda: metric(gw, "tollgate_backend_wakes_total", "sp") == 1, 5)
        assert wait_until(lambda: events(gw, "backend_woken"), 5)
        woken = events(gw, "backend_woken")[0]
        assert woken["backend"] == "sp" and woken["paused_s"] > 0 and woken["idle_saved_usd"] >= 0
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_idle_http_action_stops_a_pod_and_a_request_wakes_it():
    api = fake_pod_api.start()
    pod = api.add_pod("p1", wake_on_request=True)
    backends = f"""  pod:
    kind: openai
    url: {api.url}/proxy/p1
    price: {{ per_hour: 0.44 }}
    billing: always_on
    idle:
      after: 1s
      action: http
      request:
        method: POST
        url: {api.url}/v1/pods/p1/stop
        headers: {{ Authorization: "Bearer {fake_pod_api.API_KEY}" }}
"""
    gw = gateway(backends, "  pod-chat: { task: chat, backends: [pod] }\n")
    try:
        assert wait_until(lambda: api.stop_calls("p1"), 10)
        stop = api.stop_calls("p1")[0]
        assert stop.method == "POST" and stop.headers.get("authorization") == f"Bearer {fake_pod_api.API_KEY}"
        assert stop.status == 200 and pod.status == "EXITED"
        assert wait_until(lambda: metric(gw, "tollgate_backend_pauses_total", "pod") == 1, 5)
        assert wait_until(lambda: events(gw, "backend_paused"), 5)
        # No wake call for `http`: the request itself starts the pod and is served.
        r = chat(gw, "pod-chat", "wake up")
        assert r.status_code == 200 and backend_of(r) == "pod", r.text
        assert pod.wakes_by_request == 1
        assert wait_until(lambda: (metric(gw, "tollgate_backend_wakes_total", "pod") or 0) >= 1, 5)
        assert wait_until(lambda: events(gw, "backend_woken"), 5)
        assert events(gw, "backend_woken")[0]["backend"] == "pod"
        assert api.calls(pod="p1", op="start") == []
    finally:
        gw.stop()
        api.close()


# --- More of SPEC §3 / §4 through the binary ---------------------------------------------------

def raw_request(gw, model, message):
    """Sends one chat request on a raw socket and returns the socket (the test hangs up)."""
    import socket
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": message}]}).encode()
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    return sock


def test_failover_is_recorded_in_the_usage_row(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    gw = gateway(box_backend("cheap", cheap, ALWAYS_ON) + box_backend("backup", backup, PER_SECOND),
                 "  m: { task: chat, backends: [cheap, backup] }\n"
                 "  m-once: { task: chat, backends: [cheap, backup], attempts: 1 }\n")
    try:
        cheap.status = 500
        r = chat(gw, "m", "x")
        assert r.status_code == 200 and backend_of(r) == "backup", r.text
        rid = r.headers["x-request-id"]
        assert wait_until(lambda: any(rid in l for l in gw.access_log()), 5)
        line = [json.loads(l) for l in gw.access_log() if rid in l][0]
        assert line.get("attempts") == 2, line
        # attempts: 1 — no failover: the first candidate's failure is the answer.
        r = chat(gw, "m-once", "y")
        assert r.status_code == 502 and r.json()["error"]["code"] == "bad_gateway", r.text
        assert backup.messages() == ["x"]
    finally:
        gw.stop()


def test_streamed_request_fails_over_before_its_first_byte(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    gw = gateway(box_backend("cheap", cheap, ALWAYS_ON) + box_backend("backup", backup, PER_SECOND),
                 "  m: { task: chat, backends: [cheap, backup] }\n")
    try:
        cheap.refuse()
        r = requests.post(gw.base + "/v1/chat/completions", headers=AUTH, timeout=30,
                          json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "s"}]})
        assert r.status_code == 200 and backend_of(r) == "backup", r.text
        assert backup.messages() == ["s"]
    finally:
        gw.stop()


def test_every_circuit_open_tries_the_least_recently_failed_one(boxes):
    x, y = boxes("x"), boxes("y")
    circuit = "    circuit: { failures: 1, cooldown: 60s }\n"
    gw = gateway(box_backend("x", x, ALWAYS_ON, circuit) + box_backend("y", y, PER_SECOND, circuit),
                 "  m: { task: chat, backends: [y, x] }\n")
    try:
        x.status = y.status = 500
        r = chat(gw, "m", "both-fail")
        assert r.status_code == 502, r.text
        # x (cheaper) failed first, then y: both circuits open for a minute.
        assert x.messages() == ["both-fail"] and y.messages() == ["both-fail"]
        rows = admin_backends(gw)
        assert rows["x"]["circuit"]["state"] == "open" and rows["y"]["circuit"]["state"] == "open"
        x.status = 200
        # Not refused outright: x, the least recently failed, gets a trial.
        r = chat(gw, "m", "forced")
        assert r.status_code == 200 and backend_of(r) == "x", r.text
        assert y.messages() == ["both-fail"]
    finally:
        gw.stop()


def test_half_open_admits_one_trial_at_a_time(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    gw = gateway(box_backend("cheap", cheap, ALWAYS_ON, "    circuit: { failures: 1, cooldown: 1s }\n")
                 + box_backend("backup", backup, PER_SECOND),
                 "  m: { task: chat, backends: [cheap, backup] }\n")
    try:
        cheap.status = 500
        assert backend_of(chat(gw, "m", "fail")) == "backup"
        cheap.status = 200
        cheap.hold = True
        # After the cooldown the trial reaches cheap and is held there.
        sent = []

        def trial_started():
            sent.append(Background(chat, gw, "m", f"t{len(sent)}"))
            return wait_until(lambda: cheap.held_now() == 1 or sent[-1].done(), 5) and cheap.held_now() == 1
        assert wait_until(trial_started, 10)
        assert admin_backends(gw)["cheap"]["state"] == "half_open"
        # While its one trial runs, the others go elsewhere.
        for i in range(3):
            r = chat(gw, "m", f"during{i}")
            assert r.status_code == 200 and backend_of(r) == "backup", r.text
        assert cheap.count() == 2
        cheap.release_all()
        assert sent[-1].result().status_code == 200
        assert admin_backends(gw)["cheap"]["circuit"]["state"] == "closed"
        assert backend_of(chat(gw, "m", "closed")) == "cheap"
    finally:
        cheap.release_all()
        gw.stop()


def test_a_failed_half_open_trial_doubles_the_cooldown(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    gw = gateway(box_backend("cheap", cheap, ALWAYS_ON, "    circuit: { failures: 1, cooldown: 1s, max_cooldown: 30s }\n")
                 + box_backend("backup", backup, PER_SECOND),
                 "  m: { task: chat, backends: [cheap, backup] }\n")
    try:
        cheap.status = 500
        assert backend_of(chat(gw, "m", "fail")) == "backup"
        assert admin_backends(gw)["cheap"]["circuit"]["open_for_ms"] <= 1000
        # The trial after the 1 s cooldown fails too: open again, for 2 s.
        assert wait_until(lambda: chat(gw, "m", "poll") is not None and cheap.count() == 2, 10)
        circuit = admin_backends(gw)["cheap"]["circuit"]
        assert circuit["state"] == "open" and 1000 < circuit["open_for_ms"] <= 2000, circuit
    finally:
        gw.stop()


def test_a_client_leaving_the_line_passes_its_turn_on(boxes):
    a = boxes("a")
    gw = gateway(box_backend("a", a, ALWAYS_ON, "    max_concurrency: 1\n"),
                 "  m: { task: chat, backends: [a], queue_timeout: 20s }\n")
    try:
        a.hold = True
        holder = Background(chat, gw, "m", "holder")
        assert wait_until(lambda: a.held_now() == 1, 10)
        seen = waiting_decisions(gw, "a", "m")
        leaver = raw_request(gw, "m", "leaver")
        assert wait_until(lambda: waiting_decisions(gw, "a", "m") >= seen + 1, 10)
        stayer = Background(chat, gw, "m", "stayer")
        assert wait_until(lambda: waiting_decisions(gw, "a", "m") >= seen + 2, 10)
        leaver.close()
        a.release(1)
        assert holder.result().status_code == 200
        # The slot goes to the one still waiting, at once (not after its queue_timeout).
        started = time.monotonic()
        assert wait_until(lambda: a.messages()[-1:] == ["stayer"], 5), a.messages()
        assert time.monotonic() - started < 5
        a.release_all()
        r = stayer.result()
        assert r.status_code == 200 and backend_of(r) == "a"
        assert "leaver" not in a.messages()
    finally:
        a.release_all()
        gw.stop()


def test_a_client_hanging_up_mid_request_gives_the_slot_back(boxes):
    a, b = boxes("a"), boxes("b")
    gw = gateway(box_backend("a", a, ALWAYS_ON, "    max_concurrency: 1\n") + box_backend("b", b, PER_SECOND),
                 "  m: { task: chat, backends: [a, b] }\n")
    try:
        a.hold = True
        sock = raw_request(gw, "m", "gone")
        assert wait_until(lambda: a.held_now() == 1, 10)
        assert admin_backends(gw)["a"]["in_flight"] == 1
        sock.close()
        assert wait_until(lambda: admin_backends(gw)["a"]["in_flight"] == 0, 10)
        a.release_all()
        r = chat(gw, "m", "next")
        assert r.status_code == 200 and backend_of(r) == "a", r.text
        # A client that left is not the backend's failure.
        assert admin_backends(gw)["a"]["circuit"]["consecutive_failures"] == 0
    finally:
        a.release_all()
        gw.stop()


def test_429_with_an_http_date_retry_after_and_401_misconfigured(boxes):
    dated, refused, other = boxes("dated"), boxes("refused"), boxes("other")
    gw = gateway(box_backend("dated", dated, ALWAYS_ON) + box_backend("refused", refused, ALWAYS_ON)
                 + box_backend("other", other, PER_SECOND),
                 "  m: { task: chat, backends: [dated, other] }\n"
                 "  n: { task: chat, backends: [refused, other] }\n")
    try:
        from email.utils import formatdate
        dated.status, dated.retry_after = 429, formatdate(time.time() + 30, usegmt=True)
        assert backend_of(chat(gw, "m", "one")) == "other"
        row = admin_backends(gw)["dated"]
        assert row["state"] == "cooling_down", row
        assert backend_of(chat(gw, "m", "two")) == "other" and dated.count() == 1
        refused.status = 401
        assert backend_of(chat(gw, "n", "one")) == "other"
        row = admin_backends(gw)["refused"]
        assert row["state"] == "misconfigured" and row["eligible"] is False, row
        assert metric(gw, "tollgate_backend_up", "refused") == 0
        assert backend_of(chat(gw, "n", "two")) == "other" and refused.count() == 1
    finally:
        gw.stop()


def test_a_paused_space_too_slow_to_wait_for_is_woken_while_the_request_goes_elsewhere(boxes):
    hub = fake_hub.start()
    hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_polls=1)
    app = fake_gradio.FakeGradio()

    def generate(app_, handler):
        fake_gradio.event(handler, "complete", ["space" if hub.is_serving(SPACE) else "not running"])
    app.scripts["gen"] = generate
    alt = boxes("alt")
    alt_backend = f"""  alt:
    kind: http
    url: {alt.url}
    price: {{ per_second: 0.0002 }}
    billing: per_second
"""
    gw = space_gateway(hub, app, extra_backend=alt_backend, cold_start="30s",
                       models="  m: { task: raw, backends: [sp, alt], max_latency: 10s }\n")
    try:
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "paused", 10)
        # Waking takes 30 s, beyond max_latency: the request goes to alt at once, and the
        # Space, the cheaper one, is woken meanwhile.
        r = requests.post(gw.base + "/v1/run/m/v1/chat/completions", headers=AUTH, timeout=30,
                          json={"model": "m", "prompt": "p", "messages": [{"role": "user", "content": "elsewhere"}]})
        assert r.status_code == 200 and backend_of(r) == "alt", r.text
        assert wait_until(lambda: hub.calls(space=SPACE, op="restart"), 5)
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "up", 10)
        r = requests.post(gw.base + "/v1/run/m", headers=AUTH, timeout=30, json={"model": "m", "prompt": "p"})
        assert r.status_code == 200 and backend_of(r) == "sp" and r.json() == "space", r.text
    finally:
        gw.stop()
        app.stop()
        hub.close()


def space_gateway(hub, app, extra_backend="", models=None, idle_after="1s", cold_start="3s"):
    backends = f"""  sp:
    kind: hf_space
    url: {app.base}
    space: {SPACE}
    token: {HF_TOKEN}
    api_name: /gen
    inputs: ["$prompt"]
    output: 0
    price: {{ per_hour: 0.40 }}
    billing: always_on
    cold_start: {cold_start}
    idle: {{ after: {idle_after}, action: pause }}
{extra_backend}"""
    return gateway(backends, models or "  sp-run: { task: raw, backends: [sp], queue_timeout: 30s }\n",
                   extra_env={"HF_ENDPOINT": hub.url})


def serving_app(hub):
    app = fake_gradio.FakeGradio()

    def generate(app_, handler):
        if hub.is_serving(SPACE):
            fake_gradio.event(handler, "complete", ["served"])
        else:
            fake_gradio.event(handler, "error", "space is paused")
    app.scripts["gen"] = generate
    return app


def run_space(gw, timeout=60):
    return requests.post(gw.base + "/v1/run/sp-run", headers=AUTH, timeout=timeout, json={"model": "sp-run", "prompt": "p"})


def test_concurrent_requests_for_a_paused_space_send_one_restart():
    hub = fake_hub.start()
    hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_polls=2)
    app = serving_app(hub)
    gw = space_gateway(hub, app)
    try:
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "paused", 10)
        clients = [Background(run_space, gw) for _ in range(4)]
        for c in clients:
            r = c.result(60)
            assert r.status_code == 200 and r.json() == "served", r.text
        assert len(hub.calls(space=SPACE, op="restart")) == 1
        assert len(app.requests("POST", "/gradio_api/call/gen")) == 4
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_request_arriving_while_the_pause_call_runs_is_still_served():
    """The pause call takes 2 s at the Hub; a request comes meanwhile. It must be served (the
    Space paused, then restarted for it) within its queue_timeout, not left waiting in line."""
    hub = fake_hub.start()
    space = hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_polls=1)
    space.delay_ms["pause"] = 2000
    app = serving_app(hub)
    gw = space_gateway(hub, app)
    try:
        assert wait_until(lambda: hub.calls(space=SPACE, op="pause"), 10)
        assert admin_backends(gw)["sp"]["idle"]["state"] == "pausing"
        started = time.monotonic()
        r = run_space(gw, timeout=60)
        assert r.status_code == 200 and r.json() == "served", r.text
        assert time.monotonic() - started < 15
        assert len(hub.calls(space=SPACE, op="restart")) == 1
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_failed_wake_is_a_clear_503_not_a_hang():
    hub = fake_hub.start()
    space = hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING")
    app = serving_app(hub)
    gw = space_gateway(hub, app, models="  sp-run: { task: raw, backends: [sp], queue_timeout: 3s }\n")
    try:
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "paused", 10)
        space.fail["restart"] = 500
        started = time.monotonic()
        r = run_space(gw, timeout=30)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "no_backend_available"
        # Each candidate's reason (SPEC §3): the Space is named, with why it cannot take it.
        assert "sp: " in r.json()["error"]["message"], r.text
        assert time.monotonic() - started < 10
        assert wait_until(lambda: events(gw, "backend_wake_failed"), 5)
        assert app.requests("POST", "/gradio_api/call/gen") == []
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_backend_busy_longer_than_idle_after_is_not_paused(boxes):
    api = fake_pod_api.start()
    api.add_pod("p2")
    busy = boxes("busy")
    gw = gateway(f"""  busy:
    kind: openai
    url: {busy.url}
    price: {{ per_hour: 0.44 }}
    billing: always_on
    idle:
      after: 1s
      action: http
      request:
        url: {api.url}/v1/pods/p2/stop
        headers: {{ Authorization: "Bearer {fake_pod_api.API_KEY}" }}
""", "  m: { task: chat, backends: [busy] }\n")
    try:
        busy.hold = True
        held = Background(chat, gw, "m", "long")
        assert wait_until(lambda: busy.held_now() == 1, 10)
        held_at = time.monotonic()
        # 2.5 s in flight (the idle check runs every 250 ms): never paused meanwhile.
        assert not wait_until(lambda: api.stop_calls("p2"), 2.5)
        busy.release_all()
        assert held.result().status_code == 200
        ended = time.monotonic()
        # Unused for `after` from the end of that request: then paused.
        assert wait_until(lambda: api.stop_calls("p2"), 10)
        assert api.stop_calls("p2")[0].at - ended >= 0.9
        assert api.stop_calls("p2")[0].at - held_at >= 3.3
    finally:
        busy.release_all()
        gw.stop()
        api.close()


def test_a_used_per_second_backend_loses_its_cold_start_penalty(boxes):
    cold, pr = boxes("ps-cold"), boxes("pr")
    gw = gateway(box_backend("ps-cold", cold, PER_SECOND, "    cold_start: 20s\n") + box_backend("pr", pr, PER_REQUEST),
                 "  m: { task: chat, backends: [ps-cold, pr] }\n"
                 "  warmup: { task: chat, backends: [ps-cold] }\n")
    try:
        assert backend_of(chat(gw, "m", "cold")) == "pr"
        # Used a moment ago: P(cold) near 0, so 0.0002 × ~1 s beats $0.001.
        assert backend_of(chat(gw, "warmup", "warm")) == "ps-cold"
        r = chat(gw, "m", "now-warm")
        assert r.status_code == 200 and backend_of(r) == "ps-cold", r.text
        decision = [d for d in admin_backends(gw)["ps-cold"]["last_decisions"] if d["model"] == "m"][-1]
        assert decision["picked"] is True and decision["p_cold"] < 0.05, decision
    finally:
        gw.stop()


def test_a_paused_space_counts_its_cold_start_once_against_max_latency():
    """Paused, a Space's expected latency is its run plus its wake (its cold start, 3 s): 1 s +
    3 s = 4 s fits max_latency 5 s, so the request waits for the wake and is served there."""
    hub = fake_hub.start()
    hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_polls=1)
    app = serving_app(hub)
    gw = space_gateway(hub, app, models="  sp-run: { task: raw, backends: [sp], max_latency: 5s, queue_timeout: 30s }\n")
    try:
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "paused", 10)
        r = run_space(gw)
        assert r.status_code == 200 and r.json() == "served", r.text
        decision = admin_backends(gw)["sp"]["last_decisions"][0]
        assert decision["picked"] is True and decision["expected_latency_ms"] <= 4001, decision
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_pod_stopped_by_its_idle_action_is_not_probed_awake():
    """`idle: http` stops the pod, which starts again on the next request that reaches it (no
    wake call: SPEC §2). Its health probe must not be that request: while paused the box is
    left alone (issue 12: health that neither wakes nor bills a GPU) until a client's request
    wakes it; then it is probed again, and requests are served."""
    api = fake_pod_api.start()
    pod = api.add_pod("p3", wake_on_request=True)
    gw = gateway(f"""  pod:
    kind: openai
    url: {api.url}/proxy/p3
    price: {{ per_hour: 0.44 }}
    billing: always_on
    health: {{ path: /health, interval: 1s }}
    idle:
      after: 1s
      action: http
      request:
        url: {api.url}/v1/pods/p3/stop
        headers: {{ Authorization: "Bearer {fake_pod_api.API_KEY}" }}
""", "  pod-chat: { task: chat, backends: [pod] }\n")
    try:
        assert wait_until(lambda: api.stop_calls("p3"), 10)
        stopped = api.stop_calls("p3")[0].at

        def reached_after(t):
            return [c for c in api.calls(pod="p3", op="proxy") if c.at > t]
        # Three probe intervals: nothing reaches the stopped pod, it stays stopped.
        assert not wait_until(lambda: reached_after(stopped), 3.0), \
            [(c.method, c.path) for c in reached_after(stopped)]
        assert pod.status == "EXITED" and pod.wakes_by_request == 0
        assert len(api.stop_calls("p3")) == 1
        for i in range(3):
            r = chat(gw, "pod-chat", f"after-wake-{i}")
            assert r.status_code == 200 and backend_of(r) == "pod", (i, r.text)
        assert pod.wakes_by_request == 1
        woke = time.monotonic()
        # Awake again: probed again.
        assert wait_until(lambda: any(c.path.endswith("/health") for c in reached_after(woke)), 5)
    finally:
        gw.stop()
        api.close()


def test_a_429_on_the_only_backend_is_a_503_with_its_reason(boxes):
    only = boxes("only")
    gw = gateway(box_backend("only", only, PER_SECOND), "  m: { task: chat, backends: [only] }\n")
    try:
        only.status, only.retry_after = 429, 5
        r = chat(gw, "m", "one")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "no_backend_available"
        assert "only: " in r.json()["error"]["message"], r.text
        # Cooling down: refused at once, without calling it, saying so.
        started = time.monotonic()
        r = chat(gw, "m", "two")
        assert r.status_code == 503 and "only: " in r.json()["error"]["message"], r.text
        assert "cooling down" in r.json()["error"]["message"], r.text
        assert time.monotonic() - started < 2
        assert only.count() == 1
    finally:
        gw.stop()


def test_a_reload_keeps_what_the_board_knows(boxes):
    cheap, backup = boxes("cheap"), boxes("backup")
    backends = box_backend("cheap", cheap, ALWAYS_ON, "    circuit: { failures: 1, cooldown: 60s }\n") \
        + box_backend("backup", backup, PER_SECOND)
    gw = gateway(backends, "  m: { task: chat, backends: [cheap, backup] }\n")
    try:
        cheap.status = 500
        assert backend_of(chat(gw, "m", "fail")) == "backup"
        assert admin_backends(gw)["cheap"]["circuit"]["state"] == "open"
        # The same config again, plus a model: the open circuit stays open.
        gw.config.write_text(gw.config.read_text().replace(
            "  m: { task: chat, backends: [cheap, backup] }\n",
            "  m: { task: chat, backends: [cheap, backup] }\n  m2: { task: chat, backends: [cheap, backup] }\n"))
        r = requests.post(gw.base + "/admin/reload", headers=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        assert admin_backends(gw)["cheap"]["circuit"]["state"] == "open"
        cheap.status = 200
        assert backend_of(chat(gw, "m2", "after-reload")) == "backup"
        assert cheap.count() == 1
    finally:
        gw.stop()


def test_a_request_that_came_while_a_pause_call_failed_takes_the_space_at_once():
    """The pause call takes 2 s and fails: the Space stays up, and the request that came
    meanwhile is served as soon as the call is over, not after its queue_timeout."""
    hub = fake_hub.start()
    space = hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING")
    space.delay_ms["pause"] = 2000
    space.fail["pause"] = 500
    app = serving_app(hub)
    gw = space_gateway(hub, app, models="  sp-run: { task: raw, backends: [sp], queue_timeout: 20s }\n")
    try:
        assert wait_until(lambda: hub.calls(space=SPACE, op="pause"), 10)
        asked = hub.calls(space=SPACE, op="pause")[0].at
        r = run_space(gw, timeout=60)
        assert r.status_code == 200 and r.json() == "served", r.text
        assert time.monotonic() - asked < 8
        assert wait_until(lambda: events(gw, "backend_pause_failed"), 5)
        assert hub.calls(space=SPACE, op="restart") == []
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_reload_during_the_pause_call_does_not_leave_the_space_pausing_for_good():
    """A reload stops the old plan's calls. The pause call it cut off must not leave the Space's
    lifecycle (kept across reloads by the board) in `pausing` for good: a pausing Space takes no
    request, and no tick or wake ever moves it on — every request would wait its queue_timeout
    and get a 503. Cut off, the call's outcome is unknown: the probe tells what the Hub did."""
    hub = fake_hub.start()
    space = hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_polls=1)
    space.delay_ms["pause"] = 1500
    app = serving_app(hub)
    gw = space_gateway(hub, app, idle_after="3s", extra_backend="    health: { interval: 1s }\n",
                       models="  sp-run: { task: raw, backends: [sp], queue_timeout: 10s }\n")
    try:
        assert wait_until(lambda: hub.calls(space=SPACE, op="pause"), 15)
        r = requests.post(gw.base + "/admin/reload", headers=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        # The Hub still did the pause; the gateway's probe sees it.
        assert wait_until(lambda: hub.stage(SPACE) == "PAUSED", 10)
        assert wait_until(lambda: admin_backends(gw)["sp"]["probe"]["verdict"] == "paused", 10)
        started = time.monotonic()
        r = run_space(gw, timeout=60)
        assert r.status_code == 200 and r.json() == "served", r.text
        assert time.monotonic() - started < 9
        assert len(hub.calls(space=SPACE, op="restart")) >= 1
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_reload_while_a_space_wakes_keeps_watching_it():
    """Without a health probe, only the wake poll (the Hub's runtime, every second) tells that
    a restarted Space runs. A reload stops the old plan's timers; the new plan must keep
    watching a Space that is still waking, or it stays `waking` for good: the request waiting
    for it gets a 503 after its queue_timeout, and so does every later one."""
    hub = fake_hub.start()
    hub.add_space(SPACE, token=HF_TOKEN, stage="RUNNING", restart_seconds=3)
    app = serving_app(hub)
    gw = space_gateway(hub, app, extra_backend="    health: none\n",
                       models="  sp-run: { task: raw, backends: [sp], queue_timeout: 15s }\n")
    try:
        assert wait_until(lambda: admin_backends(gw)["sp"]["state"] == "paused", 10)
        client = Background(run_space, gw)
        assert wait_until(lambda: hub.calls(space=SPACE, op="restart"), 10)
        assert wait_until(lambda: hub.calls(space=SPACE, op="runtime"), 5)
        r = requests.post(gw.base + "/admin/reload", headers=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        r = client.result(60)
        assert r.status_code == 200 and r.json() == "served", r.text
    finally:
        gw.stop()
        app.stop()
        hub.close()


def test_a_usage_log_with_an_absurd_run_time_is_no_trap_for_a_full_house(boxes):
    """The expected runs are seeded from the usage log at start-up; a row with an absurd
    gpu_ms (a log edited or damaged by hand: the gateway writes at most 100 years) must not
    make the 503 of a full house trap when it works out its Retry-After (every stream in the
    process would die with it)."""
    import sqlite3
    a = boxes("a")
    backends = box_backend("a", a, PER_SECOND, "    max_concurrency: 1\n")
    models = "  m: { task: chat, backends: [a], queue_timeout: 500ms }\n"
    first = gateway(backends, models)
    db = first.db_path
    try:
        assert chat(first, "m", "seed").status_code == 200
    finally:
        first.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("UPDATE requests SET gpu_ms = ? WHERE backend = 'a'", (2**63 - 1,)).rowcount == 1
    second = gateway(backends, models + f"storage:\n  sqlite: {db}\n")
    try:
        a.hold = True
        holder = Background(chat, second, "m", "held")
        assert wait_until(lambda: a.held_now() == 1, 10)
        r = chat(second, "m", "late")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "no_backend_available"
        assert int(r.headers["Retry-After"]) >= 1
        a.release_all()
        assert holder.result().status_code == 200
        assert second.proc.poll() is None
    finally:
        a.release_all()
        second.stop()


def test_a_request_waiting_in_line_takes_a_backend_whose_cool_down_ends(boxes):
    """SPEC §4: a request waits only while every candidate is full. One waits because the
    always-on box is full and the other candidate cools down after a 429 (Retry-After: 2).
    When the cool-down ends, that candidate can take the request: it must go there, not wait
    on until its queue_timeout for a slot of the full box (no slot is freed to call it)."""
    full, limited = boxes("full"), boxes("limited")
    gw = gateway(box_backend("full", full, ALWAYS_ON, "    max_concurrency: 1\n")
                 + box_backend("limited", limited, PER_SECOND),
                 "  m: { task: chat, backends: [full, limited], queue_timeout: 15s }\n"
                 "  only-limited: { task: chat, backends: [limited] }\n")
    try:
        limited.status, limited.retry_after = 429, 2
        assert chat(gw, "only-limited", "cool").status_code == 503
        limited.status = 200
        full.hold = True
        holder = Background(chat, gw, "m", "held")
        assert wait_until(lambda: full.held_now() == 1, 10)
        started = time.monotonic()
        r = chat(gw, "m", "waits")
        assert r.status_code == 200 and backend_of(r) == "limited", r.text
        assert time.monotonic() - started < 8
        full.release_all()
        assert holder.result().status_code == 200
    finally:
        full.release_all()
        gw.stop()
