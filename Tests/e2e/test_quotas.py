"""Issue 11 (L3): quotas never overshoot (SPEC §4). A request leases its expected cost before it
is dispatched; a `per_request` backend leases exactly its price, so against a dollar quota that
fits 10 requests, 100 sent at once get exactly 10 answers and 90 refusals (429 `quota_exceeded`
with Retry-After), on one worker and on four (the ledger is shared by every loop)."""
import http.client
import json
import threading

import pytest

from conftest import USER_KEY, Gateway, chat


def quota_config(workers, extra_user="", backend_extra=""):
    return f"""
server: {{ listen: 127.0.0.1:0, workers: {workers}, max_connections: 1000 }}
backends:
  paid:
    kind: simulated
    latency: 200ms
    price: {{ per_request: 0.01 }}
    billing: per_request
{backend_extra}
models:
  m: {{ task: chat, backends: [paid] }}
users:
  alice:
    keys: ["{USER_KEY}"]
    limits: {{ usd_per_month: 0.10 {extra_user} }}
"""


def post(port, body=None, key=USER_KEY):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body or chat("m")),
                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), json.loads(data) if data else None
    finally:
        conn.close()


def burst(port, count):
    results = [None] * count
    start = threading.Barrier(count)

    def one(i):
        start.wait()
        results[i] = post(port)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("workers", [1, 4])
def test_100_concurrent_requests_against_a_quota_of_10_serve_exactly_10(workers):
    gw = Gateway(quota_config(workers))
    try:
        results = burst(gw.port, 100)
        statuses = [r[0] for r in results]
        assert statuses.count(200) == 10, statuses
        assert statuses.count(429) == 90, statuses
        for status, headers, body in results:
            if status == 429:
                assert body["error"]["code"] == "quota_exceeded"
                assert "usd_per_month" in body["error"]["message"]
                assert int(headers["retry-after"]) >= 1
        # Spent, not just reserved: the next one is refused too.
        assert post(gw.port)[0] == 429
    finally:
        gw.stop()
