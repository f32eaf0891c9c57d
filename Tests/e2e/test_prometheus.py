"""The real Prometheus (Debian's `prometheus`, scripts/deps.sh) with deploy/prometheus/: promtool
checks the shipped config and rules and runs their unit tests; then Prometheus, configured from
the shipped prometheus.yml (only the target, the intervals and the paths changed), scrapes a
real `tollgate serve` on loopback, and its PromQL totals equal the SQLite usage log's (issue 9,
Tests). Every query of the Grafana dashboard and every alert rule is run by that Prometheus
against the gateway's real series, and every metric they name is one that GET /metrics
declares."""
import json
import pathlib
import re
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pytest
import yaml

from conftest import Gateway, free_port, stop_process, wait_until
from test_deploy import (DEPLOY, DASHBOARD_DIR, HISTOGRAMS, alert_rules, dashboard_exprs, metric_names,
                         uncomment_block)

PROM_DIR = DEPLOY / "prometheus"
ALICE = "tg-prom-alice-key-0123456789abcdef"
BOB = "tg-prom-bob-key-0123456789abcdefgh"
ADMIN = "tg-prom-admin-key-0123456789abcdef"


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's prometheus package (scripts/deps.sh)")
    return path


def promtool(*args, cwd=PROM_DIR):
    out = subprocess.run([tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def prometheus_config(target, key_file=None, unauthenticated_job=False):
    """The shipped prometheus.yml pointed at `target`, scraping and evaluating every second."""
    text = (PROM_DIR / "prometheus.yml").read_text()
    if key_file is not None:
        text = uncomment_block(text, "authorization:")
    config = yaml.safe_load(text)
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PROM_DIR / f) for f in config["rule_files"]]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "tollgate")
    job["static_configs"] = [{"targets": [target]}]
    if key_file is not None:
        assert job["authorization"]["type"] == "Bearer"
        job["authorization"]["credentials_file"] = str(key_file)
    if unauthenticated_job:
        bare = {k: v for k, v in job.items() if k != "authorization"}
        config["scrape_configs"].append(dict(bare, job_name="tollgate-nokey"))
    return config


class Prometheus:
    """A real Prometheus on 127.0.0.1:<free port> with its storage in a temporary directory."""

    def __init__(self, config):
        self.dir = tempfile.TemporaryDirectory()
        root = pathlib.Path(self.dir.name)
        (root / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(root / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [tool("prometheus"), f"--config.file={root / 'prometheus.yml'}",
             f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_until(self.ready, 30):
            self.stop()
            raise RuntimeError("prometheus did not become ready:\n" + self.output())

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + self.output())
        try:
            with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def output(self):
        self.log.flush()
        return (pathlib.Path(self.dir.name) / "prometheus.log").read_text(errors="replace")[-4000:]

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:   # 400/422: a bad query, with Prometheus' reason
            return json.load(e)

    def query(self, expr):
        """The instant vector of `expr` as {frozenset(labels): value}; fails on a query error."""
        body = self.api("query", query=expr)
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in body["data"]["result"]}

    def scrape_errors(self):
        """Each target's job, health and last scrape error, for failure messages."""
        return [(t["labels"].get("job"), t["health"], t["lastError"])
                for t in self.api("targets")["data"]["activeTargets"]]

    def value(self, expr):
        """The single value of `expr`, or None while it has no sample."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr}: {result}"
        return next(iter(result.values()), None)

    def stop(self):
        stop_process(self.proc, 15)
        self.log.close()
        self.dir.cleanup()


def gateway_config(db, protected=False, budget="1000"):
    admin = f"admin:\n  key: {ADMIN}\n" if protected else ""
    return f"""
server:
  listen: 127.0.0.1:0
  workers: 2
storage:
  sqlite: {db}
{admin}metrics:
  protected: {str(protected).lower()}
  user_label: true
backends:
  sim-paid:
    kind: simulated
    latency: 20ms
    stream_interval: 1ms
    price: {{ per_second: 0.5 }}
    billing: per_second
    budget_usd_per_month: 1000
  sim-box:
    kind: simulated
    latency: 10ms
    stream_interval: 1ms
    price: {{ per_hour: 36 }}
    billing: always_on
    max_concurrency: 4
models:
  paid-chat: {{ task: chat, backends: [sim-paid] }}
  paid-embed: {{ task: embedding, backends: [sim-paid] }}
  box-chat: {{ task: chat, backends: [sim-box] }}
users:
  alice: {{ keys: ["{ALICE}"] }}
  bob: {{ keys: ["{BOB}"] }}
budgets:
  usd_per_month: {budget}
"""


def send(gw, path, key, body):
    req = urllib.request.Request(gw.base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def traffic(gw):
    """Priced requests on both billing kinds, streamed and not, plus unpriced rejections.
    Returns how many requests were sent (each one a row in `requests`)."""
    statuses = []
    for i in range(12):
        chat = {"messages": [{"role": "user", "content": f"hello {i}"}], "stream": i % 4 == 0}
        statuses.append(send(gw, "/v1/chat/completions", ALICE, dict(chat, model="paid-chat")))
        statuses.append(send(gw, "/v1/chat/completions", BOB, dict(chat, model="box-chat")))
    for i in range(3):
        statuses.append(send(gw, "/v1/embeddings", BOB, {"model": "paid-embed", "input": f"text {i}"}))
    statuses.append(send(gw, "/v1/chat/completions", "tg-wrong-key-0123456789abcdefgh",
                         {"model": "paid-chat", "messages": []}))
    statuses.append(send(gw, "/v1/chat/completions", ALICE, {"model": "no-such-model", "messages": []}))
    assert statuses.count(200) >= 20, statuses
    assert statuses[-2:] == [401, 404], statuses[-2:]
    return len(statuses)


def usage_totals(db):
    """From the usage log, read-only beside the running writer: (rows other than Prometheus'
    own scrapes, SUM(cost_usd), SUM(cost_microdollars), SUM(gpu_ms), micro-dollars per backend,
    requests per model, this UTC month's micro-dollars). Scrapes are requests too (one row each,
    cost 0), so they are left out of the counts that the test compares while Prometheus runs."""
    month_start = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT COUNT(*) FROM requests WHERE path IS NOT '/metrics'").fetchone()[0]
        cost, micro, gpu_ms = con.execute(
            "SELECT TOTAL(cost_usd), TOTAL(cost_microdollars), TOTAL(gpu_ms) FROM requests").fetchone()
        by_backend = dict(con.execute(
            "SELECT backend, SUM(cost_microdollars) FROM requests WHERE backend IS NOT NULL GROUP BY backend"))
        by_model = dict(con.execute(
            "SELECT model, COUNT(*) FROM requests WHERE backend IS NOT NULL GROUP BY model"))
        month = con.execute("SELECT TOTAL(cost_microdollars) FROM requests WHERE ts >= ?", (month_start,)).fetchone()[0]
    finally:
        con.close()
    return rows, cost, int(micro), int(gpu_ms), by_backend, by_model, int(month)


def rows_written(db):
    try:
        return usage_totals(db)[0]
    except sqlite3.Error:     # the file or the table is not there yet
        return None


def metrics_text(gw, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(gw.base + "/metrics", headers=headers), timeout=5) as r:
        return r.read().decode()


def poll(prom, expr, expected, seconds=30, close=lambda a, b: a == b):
    """Polls `expr` until its value is `expected` (no sleeps: a deadline); returns the last value."""
    last = [None]

    def check():
        last[0] = prom.value(expr)
        return last[0] is not None and close(last[0], expected)
    wait_until(check, seconds)
    return last[0]


def dashboard_queries():
    """Every dashboard expression with Grafana's variables replaced by what Grafana would send."""
    out = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        for expr in dashboard_exprs(json.loads(path.read_text())):
            out.append(expr.replace("$__rate_interval", "15s").replace("$__range", "5m")
                       .replace('"$instance"', '".*"'))
    return out


# --- promtool -----------------------------------------------------------------------------------

def test_promtool_checks_the_shipped_config_and_rules_and_runs_their_unit_tests():
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    assert f"SUCCESS: {len(alert_rules())} rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_promtool_accepts_the_bearer_token_variant(tmp_path):
    key_file = tmp_path / "admin_key"
    key_file.write_text(ADMIN + "\n")
    config = prometheus_config("127.0.0.1:8080", key_file=key_file)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    assert "SUCCESS" in promtool("check", "config", str(tmp_path / "prometheus.yml"), cwd=tmp_path)


# --- the real Prometheus scraping the real gateway ----------------------------------------------

def test_prometheus_spend_total_equals_the_usage_log(tmp_path):
    db = tmp_path / "usage.db"
    gw = Gateway(gateway_config(db))
    prom = None
    try:
        prom = Prometheus(prometheus_config(f"127.0.0.1:{gw.port}"))
        assert poll(prom, 'up{job="tollgate"}', 1) == 1, prom.scrape_errors()
        # Traffic while Prometheus scrapes: the counters grow under it.
        sent = traffic(gw)
        assert wait_until(lambda: rows_written(db) == sent, 15), f"rows {rows_written(db)} of {sent}"
        rows, cost_usd, micro, gpu_ms, by_backend, by_model, month_micro = usage_totals(db)
        assert micro > 0 and set(by_backend) == {"sim-paid", "sim-box"}

        # Requests that reached a backend, per model (scrapes reach none).
        served = 'sum by (model) (tollgate_requests_total{backend!=""})'
        wait_until(lambda: {dict(k)["model"]: v for k, v in prom.query(served).items()} == by_model, 30)
        assert {dict(k)["model"]: v for k, v in prom.query(served).items()} == by_model, metrics_text(gw)
        # The check: PromQL's spend total is SUM(cost_usd) of the requests table.
        spend = poll(prom, "sum(tollgate_spend_usd_total)", cost_usd, close=lambda a, b: abs(a - b) < 1e-9)
        assert spend is not None and abs(spend - cost_usd) < 1e-9, (spend, cost_usd)
        assert round(spend * 1e6) == micro
        gpu = prom.value("sum(tollgate_gpu_seconds_total)")
        assert round(gpu * 1e3) == gpu_ms, (gpu, gpu_ms)
        attributed = prom.query("sum by (backend) (tollgate_backend_attributed_usd_total)")
        attributed = {dict(k)["backend"]: round(v * 1e6) for k, v in attributed.items()}
        assert {b: attributed.get(b) for b in by_backend} == by_backend, attributed
        assert all(v == 0 for b, v in attributed.items() if b not in by_backend), attributed
        month = prom.value("tollgate_spend_month_usd")
        assert round(month * 1e6) == month_micro
        by_user = prom.query("sum by (user) (tollgate_spend_usd_total)")
        assert {dict(k)["user"] for k, v in by_user.items() if v > 0} == {"alice", "bob"}

        # Every metric the dashboard and the alerts name is declared by GET /metrics.
        text = metrics_text(gw)
        declared = set(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        declared_names = {n for n, _ in declared}
        referenced = set().union(*(metric_names(e) for e in dashboard_queries()),
                                 *(metric_names(r["expr"]) for r in alert_rules())) - {"up"}
        for name in referenced:
            base = re.sub(r"_(bucket|sum|count)$", "", name) if name.endswith(("_bucket", "_sum", "_count")) else name
            assert base in declared_names, f"{name} is used in deploy/ but GET /metrics has no # TYPE {base}"
            if base in HISTOGRAMS:
                assert (base, "histogram") in declared

        # Every dashboard query runs on the real series (a PromQL error, e.g. a many-to-many
        # match, fails here); the cumulative panels have a series per user and per backend.
        for expr in dashboard_queries():
            prom.query(expr)
        queries = dashboard_queries()
        per_user = next(e for e in queries if e.startswith("sum by (user) (increase(tollgate_spend_usd_total"))
        waste = next(e for e in queries if e.startswith("sum by (backend) (tollgate_backend_billed_usd_total"))
        # increase() needs two scrapes of a series: poll until the second one is in.
        labels = lambda expr, name: {dict(k).get(name) for k in prom.query(expr)}
        assert wait_until(lambda: labels(per_user, "user") >= {"alice", "bob"}, 10), prom.query(per_user)
        assert labels(waste, "backend") >= {"sim-paid", "sim-box"}, prom.query(waste)

        # The shipped alert rules load and evaluate without error on these series; with $1000
        # budgets none of the budget alerts fires.
        def rules_evaluated():
            groups = prom.api("rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return len(rules) == len(alert_rules()) and all(r.get("lastEvaluation", "").startswith("2") and
                                                            r["health"] == "ok" for r in rules)
        assert wait_until(rules_evaluated, 15), json.dumps(prom.api("rules"), indent=1)[:3000]
        firing = {a["labels"]["alertname"] for a in prom.api("alerts")["data"]["alerts"]}
        assert not firing & {"TollgateMonthlyBudget80", "TollgateMonthlyBudgetExhausted",
                             "TollgateBackendBudget80", "TollgateBackendBudgetExhausted",
                             "TollgateUsageDropped", "TollgateScrapeFailing"}, firing
    finally:
        if prom is not None:
            prom.stop()
        gw.stop()


def test_protected_metrics_are_scraped_with_the_bearer_variant_and_budget_alert_fires(tmp_path):
    db = tmp_path / "usage.db"
    # A budget of one micro-dollar: the first priced request uses it up.
    gw = Gateway(gateway_config(db, protected=True, budget="0.000001"))
    prom = None
    try:
        send(gw, "/v1/chat/completions", ALICE, {"model": "paid-chat", "messages": [{"role": "user", "content": "x"}]})
        send(gw, "/v1/chat/completions", ALICE, {"model": "paid-chat", "messages": [{"role": "user", "content": "y"}]})
        with pytest.raises(urllib.error.HTTPError) as refused:
            metrics_text(gw)
        assert refused.value.code == 401
        assert "tollgate_requests_total" in metrics_text(gw, key=ADMIN)

        key_file = tmp_path / "admin_key"
        key_file.write_text(ADMIN + "\n")
        prom = Prometheus(prometheus_config(f"127.0.0.1:{gw.port}", key_file=key_file, unauthenticated_job=True))
        assert poll(prom, 'up{job="tollgate"}', 1) == 1, prom.scrape_errors()
        assert poll(prom, 'up{job="tollgate-nokey"}', 0) == 0, prom.scrape_errors()

        def firing():
            return {a["labels"]["alertname"] for a in prom.api("alerts")["data"]["alerts"] if a["state"] == "firing"}
        assert wait_until(lambda: "TollgateMonthlyBudgetExhausted" in firing(), 20), (
            firing(), prom.query("tollgate_billed_month_usd"), prom.query("tollgate_budget_month_usd"))
        assert "TollgateMonthlyBudget80" not in firing()
    finally:
        if prom is not None:
            prom.stop()
        gw.stop()
