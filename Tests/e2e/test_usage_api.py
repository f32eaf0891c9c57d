"""Issue 9 item 5: `GET /v1/usage` (a caller's own usage today and this UTC month, per model)
and `GET /admin/usage` (admin key; everyone's or one user's, per user and model). Traffic sent
through the gateway shows up there once the writer committed it (every <= 50 ms: polled with a
deadline), with the same figures the responses carried; a user never sees another's usage."""
import http.client
import json
import pathlib
import sqlite3
import tempfile
import time
from decimal import Decimal

import pytest

from conftest import OTHER_KEY, USER_KEY, Gateway, chat

ADMIN_KEY = "tg-e2e-admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def gw(upstream):
    port, _ = upstream
    with tempfile.TemporaryDirectory() as data:
        g = Gateway(f"""
server: {{ listen: 127.0.0.1:0, workers: 2 }}
storage: {{ sqlite: {data}/usage.db }}
admin: {{ key: "{ADMIN_KEY}" }}
backends:
  up:
    kind: openai
    url: http://127.0.0.1:{port}
    price: {{ per_second: 0.00019 }}
    billing: per_second
models:
  gpt-test: {{ task: chat, backends: [up] }}
  other: {{ task: chat, backends: [up] }}
users:
  alice: {{ keys: ["{USER_KEY}"] }}
  bob: {{ keys: ["{OTHER_KEY}"], models: [gpt-test] }}
""")
        g.db = pathlib.Path(data) / "usage.db"
        yield g
        g.stop()


def get(gw, path, key):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, json.loads(body, parse_float=Decimal) if body else None


def post_chat(gw, key, model, rid):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(chat(model)),
                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", "x-request-id": rid})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200
    return Decimal(resp.getheader("x-tollgate-gpu-seconds")), Decimal(resp.getheader("x-tollgate-cost-usd"))


def poll(fetch, done, seconds=10):
    deadline = time.monotonic() + seconds
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.02)
        value = fetch()
    return value


def test_admin_usage_needs_the_admin_key(gw):
    assert get(gw, "/admin/usage", None)[0] == 401
    assert get(gw, "/admin/usage", "tg-not-a-configured-key-000000000")[0] == 401
    status, body = get(gw, "/admin/usage", OTHER_KEY)
    assert status == 403 and body["error"]["code"] == "admin_key_required"
    status, body = get(gw, "/admin/usage", ADMIN_KEY)
    assert status == 200 and body["object"] == "usage.report", body
    # The admin key is not a client key: it has no usage of its own to see.
    assert get(gw, "/v1/usage", ADMIN_KEY)[0] == 401
    assert get(gw, "/v1/usage", None)[0] == 401


def test_admin_usage_is_off_without_an_admin_key(gateway):
    status, body = get(gateway, "/admin/usage", USER_KEY)
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize("query, param", [
    ("since=yesterday", "since"), ("until=2026-02-30", "until"), ("since=0d", "since"), ("since=1.5h", "since"),
    ("foo=1", "foo"), ("user=a&user=b", "user"), ("since=%zz", "since"), ("since=2020-01-02&until=2020-01-01", "since"),
])
def test_bad_admin_parameters_are_400_naming_them(gw, query, param):
    status, body = get(gw, "/admin/usage?" + query, ADMIN_KEY)
    assert status == 400, body
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"


def test_v1_usage_takes_no_parameters(gw):
    status, body = get(gw, "/v1/usage?user=bob", USER_KEY)
    assert status == 400 and body["error"]["param"] == "user"


def test_traffic_shows_up_per_user_and_model(gw):
    alice = [post_chat(gw, USER_KEY, "gpt-test", f"usage-a{i}") for i in range(3)]
    alice.append(post_chat(gw, USER_KEY, "other", "usage-a3"))
    bob = [post_chat(gw, OTHER_KEY, "gpt-test", "usage-b0")]

    def proxied(body):
        """Requests per model; the usage API's own calls are rows too (model null, cost 0)."""
        if not body or "today" not in body:
            return {}
        return {m["model"]: m for m in body["today"]["models"] if m["model"] is not None}

    mine = poll(lambda: get(gw, "/v1/usage", USER_KEY)[1],
                lambda b: sum(m["requests"] for m in proxied(b).values()) >= 4)
    assert mine["object"] == "usage" and mine["user"] == "alice"
    today = mine["today"]
    assert today["from"] == today["to"] and mine["month"]["from"].endswith("-01") and mine["month"]["to"] == today["to"]
    # The sums of what the responses said they cost (the API's own calls cost nothing).
    assert today["gpu_seconds"] == sum(g for g, _ in alice) and today["cost_usd"] == sum(c for _, c in alice)
    by_model = proxied(mine)
    assert set(by_model) == {"gpt-test", "other"}
    assert by_model["gpt-test"]["requests"] == 3 and by_model["gpt-test"]["errors"] == 0
    assert by_model["gpt-test"]["prompt_tokens"] == 33 and by_model["other"]["requests"] == 1
    assert by_model["gpt-test"]["cost_usd"] == sum(c for _, c in alice[:3])
    assert by_model["gpt-test"]["gpu_seconds"] == sum(g for g, _ in alice[:3])
    assert today["requests"] == sum(m["requests"] for m in today["models"])
    assert mine["month"]["requests"] >= today["requests"]

    # Bob sees his own request, and nothing of Alice's.
    theirs = poll(lambda: get(gw, "/v1/usage", OTHER_KEY)[1], lambda b: "gpt-test" in proxied(b))
    assert theirs["user"] == "bob" and list(proxied(theirs)) == ["gpt-test"]
    assert proxied(theirs)["gpt-test"]["requests"] == 1
    assert theirs["today"]["cost_usd"] == bob[0][1]

    # The admin sees both, per user and model, and one user when asked.
    status, report = get(gw, "/admin/usage?since=1h", ADMIN_KEY)
    assert status == 200
    rows = {(r["user"], r["model"]): r for r in report["rows"]}
    assert rows[("alice", "gpt-test")]["requests"] == 3 and rows[("bob", "gpt-test")]["requests"] == 1
    assert report["totals"]["requests"] == sum(r["requests"] for r in report["rows"])
    status, only = get(gw, "/admin/usage?user=bob&since=7d&until=" + report["until"], ADMIN_KEY)
    assert status == 200 and only["user"] == "bob" and {r["user"] for r in only["rows"]} == {"bob"}


def test_headers_equal_the_sqlite_row(gw):
    gpu, cost = post_chat(gw, USER_KEY, "gpt-test", "usage-row")

    def row():
        db = sqlite3.connect(f"file:{gw.db}?mode=ro", uri=True)
        try:
            return db.execute("SELECT gpu_ms, cost_microdollars, gpu_seconds, cost_usd FROM requests "
                              "WHERE client_request_id = 'usage-row'").fetchone()
        finally:
            db.close()
    found = poll(row, lambda r: r is not None)
    assert found is not None
    assert Decimal(found[0]) / 1000 == gpu and Decimal(found[1]) / 1_000_000 == cost
