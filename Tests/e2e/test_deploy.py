"""deploy/ (issue 9 item 8): the compose file, the Grafana dashboard and its provisioning, and the
alert rules, checked for what can be checked without pulling images: every file parses, every
mount and build context points at something in the repository, the services find each other by
the names and ports the other files use, and every query names only metrics of SPEC §6 and the
metering contract. The real Prometheus runs them in test_prometheus.py."""
import json
import pathlib
import re
import subprocess

import yaml

from conftest import ROOT, binary

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DASHBOARD_DIR = DEPLOY / "grafana/dashboards"
PROVISIONING = DEPLOY / "grafana/provisioning"

# SPEC §6 plus the metering contract's additions: the only series Tollgate exposes.
TOLLGATE_METRICS = {
    "tollgate_requests_total", "tollgate_gpu_seconds_total", "tollgate_spend_usd_total",
    "tollgate_backend_billed_usd_total", "tollgate_backend_attributed_usd_total",
    "tollgate_request_duration_seconds", "tollgate_upstream_ttfb_seconds",
    "tollgate_backend_up", "tollgate_backend_inflight", "tollgate_rate_limited_total",
    "tollgate_quota_remaining", "tollgate_spend_forecast_usd", "tollgate_usage_dropped_total",
    "tollgate_spend_month_usd", "tollgate_billed_month_usd", "tollgate_budget_month_usd",
    "tollgate_backend_budget_month_usd", "tollgate_backend_spend_month_usd",
}
HISTOGRAMS = {"tollgate_request_duration_seconds", "tollgate_upstream_ttfb_seconds"}
# The names a query may use: the series above (histograms through their _bucket/_sum/_count
# series) and Prometheus' own `up` for the scrape itself.
QUERYABLE = ((TOLLGATE_METRICS - HISTOGRAMS) | {"up"}
             | {h + suffix for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")})


def metric_names(expr):
    """Metric names in a PromQL expression: tollgate_* tokens, and `up` used as a selector."""
    names = set(re.findall(r"\btollgate_[a-z0-9_]+", expr))
    if re.search(r"(?<![a-z_])up\s*\{", expr):
        names.add("up")
    return names


def load_yaml(path):
    return yaml.safe_load(path.read_text())


def dashboard_files():
    return sorted(DASHBOARD_DIR.glob("*.json"))


def panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])   # panels inside a collapsed row


def dashboard_exprs(dashboard):
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]


def alert_rules():
    return [r for g in load_yaml(DEPLOY / "prometheus/alerts.yml")["groups"] for r in g["rules"]]


def compose_mounts(service):
    """(host path resolved against deploy/, target, read_only) of a service's bind mounts."""
    out = []
    for v in service.get("volumes", []):
        source, target, *mode = v.split(":")
        if source.startswith((".", "/")):
            out.append(((DEPLOY / source).resolve(), target, mode == ["ro"]))
    return out


# --- compose.yaml -------------------------------------------------------------------------------

def test_compose_runs_tollgate_prometheus_and_grafana_from_files_in_the_repository():
    compose = load_yaml(COMPOSE)
    services = compose["services"]
    assert {"tollgate", "prometheus", "grafana"} <= set(services)
    build = services["tollgate"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert (context / build["dockerfile"]).is_file()
    assert context == ROOT
    for name, service in services.items():
        for source, target, read_only in compose_mounts(service):
            assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"
            assert read_only, f"{name}: config mount {target} should be read-only"
        for v in service.get("volumes", []):
            source = v.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in (compose.get("volumes") or {}), f"{name}: volume {source} undeclared"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} is published beyond loopback"


def test_compose_tollgate_serves_the_mounted_config_with_its_database_in_a_volume():
    compose = load_yaml(COMPOSE)
    tollgate = compose["services"]["tollgate"]
    config_path = tollgate["command"][tollgate["command"].index("--config") + 1]
    mounted = {target: source for source, target, _ in compose_mounts(tollgate)}
    assert config_path in mounted, "the --config file is not mounted"
    config = load_yaml(mounted[config_path])
    volume_targets = [v.split(":")[1] for v in tollgate["volumes"] if not v.startswith((".", "/"))]
    sqlite_dir = str(pathlib.PurePosixPath(config["storage"]["sqlite"]).parent)
    assert sqlite_dir in volume_targets, "the SQLite file is not in a volume"
    # The Dockerfile's image runs the binary as its entrypoint, so `command` is tollgate's argv.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/usr/local/bin/tollgate"]' in dockerfile
    assert f'VOLUME ["{sqlite_dir}"]' in dockerfile
    # Prometheus scrapes the service by its compose name on the port the config listens on.
    listen_port = config["server"]["listen"].rsplit(":", 1)[1]
    assert config["server"]["listen"].startswith("0.0.0.0:")
    prometheus = load_yaml(DEPLOY / "prometheus/prometheus.yml")
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "tollgate")
    assert job["static_configs"][0]["targets"] == [f"tollgate:{listen_port}"]
    # Stopping waits longer than the gateway's drain.
    grace = int(tollgate["stop_grace_period"].rstrip("s"))
    drain = int(config["server"]["drain_timeout"].rstrip("s"))
    assert grace > drain


def test_compose_demo_config_passes_check_config():
    out = subprocess.run([binary(), "check-config", str(DEPLOY / "docker/demo.yaml")],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stdout + out.stderr
    config = load_yaml(DEPLOY / "docker/demo.yaml")
    # Spend shows from the first request: every backend has a price.
    assert all("price" in b for b in config["backends"].values())


def test_compose_prometheus_and_grafana_mounts_are_where_their_configs_look():
    compose = load_yaml(COMPOSE)
    prom = compose["services"]["prometheus"]
    mounted = {target: source for source, target, _ in compose_mounts(prom)}
    config_file = next(a.split("=", 1)[1] for a in prom["command"] if a.startswith("--config.file="))
    assert config_file in mounted
    config_dir = pathlib.PurePosixPath(config_file).parent
    for rule_file in load_yaml(mounted[config_file])["rule_files"]:
        assert str(config_dir / rule_file) in mounted, f"{rule_file} is not mounted beside the config"

    grafana = compose["services"]["grafana"]
    mounted = {target: source for source, target, _ in compose_mounts(grafana)}
    assert mounted["/etc/grafana/provisioning"] == PROVISIONING
    provider = load_yaml(PROVISIONING / "dashboards/tollgate.yaml")["providers"][0]
    assert mounted[provider["options"]["path"]] == DASHBOARD_DIR
    home = pathlib.PurePosixPath(grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert (mounted[str(home.parent)] / home.name).is_file()
    datasource = load_yaml(PROVISIONING / "datasources/prometheus.yaml")["datasources"][0]
    prom_port = prom["ports"][0].rsplit(":", 1)[1]
    assert datasource["url"] == f"http://prometheus:{prom_port}"


# --- Grafana dashboard --------------------------------------------------------------------------

def test_dashboard_parses_and_every_panel_uses_the_provisioned_datasource():
    files = dashboard_files()
    assert files
    uid = load_yaml(PROVISIONING / "datasources/prometheus.yaml")["datasources"][0]["uid"]
    for path in files:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"]
        ids = [p["id"] for p in panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == uid, panel["title"]
            assert panel["targets"], f"{panel['title']}: no query"
            for t in panel["targets"]:
                assert t["datasource"]["uid"] == uid, panel["title"]
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_dashboard_queries_name_only_metrics_of_the_contract():
    for path in dashboard_files():
        exprs = dashboard_exprs(json.loads(path.read_text()))
        assert exprs
        for expr in exprs:
            names = metric_names(expr)
            assert names, f"no metric in {expr}"
            assert names <= QUERYABLE, f"{path.name}: {expr} names {names - QUERYABLE}"


def test_dashboard_shows_what_issue_9_asks_for():
    exprs = "\n".join(dashboard_exprs(json.loads((DASHBOARD_DIR / "tollgate.json").read_text())))
    flat = re.sub(r"\{[^}]*\}", "", exprs)   # without label matchers
    assert "sum by (user) (rate(tollgate_spend_usd_total" in flat
    assert "sum by (backend) (rate(tollgate_backend_billed_usd_total" in flat
    assert "tollgate_gpu_seconds_total" in flat
    assert "tollgate_backend_billed_usd_total - tollgate_backend_attributed_usd_total" in flat  # idle waste
    assert re.search(r'tollgate_requests_total\{[^}]*code=~"5\.\."', exprs)                 # error rate
    assert "histogram_quantile(0.99, sum by (le, model) (rate(tollgate_request_duration_seconds_bucket" in flat
    assert "tollgate_spend_forecast_usd" in flat and "tollgate_budget_month_usd" in flat


# --- alert rules --------------------------------------------------------------------------------

def test_alert_rules_name_only_metrics_of_the_contract_and_explain_themselves():
    rules = alert_rules()
    assert len({r["alert"] for r in rules}) == len(rules)
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names and names <= QUERYABLE, f"{rule['alert']}: {names - QUERYABLE}"
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]


def test_alert_rules_cover_issue_9():
    exprs = {r["alert"]: " ".join(r["expr"].split()) for r in alert_rules()}
    joined = "\n".join(exprs.values())
    assert "tollgate_billed_month_usd / tollgate_budget_month_usd >= 0.8" in joined
    assert "tollgate_billed_month_usd / tollgate_budget_month_usd >= 1" in joined
    assert "tollgate_backend_spend_month_usd / tollgate_backend_budget_month_usd >= 0.8" in joined
    assert "tollgate_backend_spend_month_usd / tollgate_backend_budget_month_usd >= 1" in joined
    assert 'tollgate_spend_forecast_usd{period="month"} > ignoring(period) tollgate_budget_month_usd' in joined
    assert "tollgate_backend_up == 0" in joined
    assert "increase(tollgate_usage_dropped_total[5m]) > 0" in joined
    assert 'code=~"5.."' in exprs["TollgateHighErrorRate"]
    down = next(r for r in alert_rules() if r["alert"] == "TollgateBackendDown")
    assert down["for"] == "5m"
    # Every alert has a firing and a non-firing case in the promtool unit tests.
    tests = load_yaml(DEPLOY / "prometheus/alerts_test.yml")["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    for name in exprs:
        assert any(c["alertname"] == name and c["exp_alerts"] for c in cases), f"{name} never fires"
        assert any(c["alertname"] == name and not c["exp_alerts"] for c in cases), f"{name} never stays quiet"


def uncomment_block(text, key):
    """`text` with every commented block that starts with `#key` (or `# key`) turned on: that
    line and the commented lines under it indented deeper."""
    out, indent = [], None
    for line in text.splitlines():
        m = re.match(rf"^(\s*)# ?({re.escape(key)}\s*(#.*)?)$", line)
        if m:
            indent = m.group(1)
            out.append(indent + m.group(2))
            continue
        m = re.match(r"^(\s*)# ?(\s+\S.*)$", line)
        if indent is not None and m and m.group(1) == indent:
            out.append(indent + m.group(2))
            continue
        indent = None
        out.append(line)
    return "\n".join(out) + "\n"


def test_protected_metrics_variant_hands_prometheus_the_key_file_its_config_names():
    compose = yaml.safe_load(uncomment_block(COMPOSE.read_text(), "secrets:"))
    secret = compose["services"]["prometheus"]["secrets"][0]
    assert compose["secrets"][secret]["file"].startswith("./")
    prometheus = yaml.safe_load(uncomment_block((DEPLOY / "prometheus/prometheus.yml").read_text(), "authorization:"))
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "tollgate")
    assert job["authorization"] == {"type": "Bearer", "credentials_file": f"/run/secrets/{secret}"}
    # The key file itself stays out of git.
    ignored = subprocess.run(["git", "check-ignore", "-q", str(DEPLOY / compose["secrets"][secret]["file"])],
                             cwd=ROOT).returncode
    assert ignored == 0, "deploy/tollgate_admin_key is not ignored by git"
