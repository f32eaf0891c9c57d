#!/usr/bin/env python3
"""Merge one scenario's measurements (written by tools.py / hold_connections.py under a results
directory) into Benchmarks/out/<scenario>.json and print a compact table.

    report.py SCENARIO RESULTS_DIR --out FILE [--describe TEXT]

Files read from RESULTS_DIR/SCENARIO/: meta.json is read from RESULTS_DIR.
    wrk-<server>-<round>.json   one wrk run (tools.py wrk)
    mem-<server>-idle.json      memory after start and one request (tools.py mem)
    mem-<server>-after-load.json  memory after the wrk runs
    hold-<server>.json          memory while N connections or streams are held open
    lat-<server>.json           wrk at one connection (lat-direct.json: straight to the upstream)
Servers are "nginx" and "tollgate"; either may be absent (e.g. --nginx-only), and then no
ratio is given. "curl-floor" (Benchmarks/curl_floor.c) is the libcurl reference of the proxy
scenario: when measured it gets its own column and ratios. Of the wrk runs the one with the most
requests/s is kept ("best of N"), and the median requests/s and CPU/request of all rounds are
given beside it (on a busy machine the median is the steadier figure); all runs stay in the JSON.
"tollgate-unmetered" (the proxy scenario's `serve --metering off`) gives the metering ratio:
Tollgate as shipped over the same gateway without its usage log and usage counters.
"""
import argparse
import glob
import json
import os
import re
import statistics

SERVERS = ("nginx", "tollgate", "curl-floor", "tollgate-unmetered")
COMPARED = ("nginx", "tollgate")


def load(path):
    with open(path) as f:
        return json.load(f)


def collect(dirpath, server):
    res = {}
    runs = []
    # Exactly wrk-<server>-<round>.json: "wrk-tollgate-*" alone also matched the
    # tollgate-unmetered rounds, which mixed them into tollgate's best and median.
    own = re.compile(re.escape(f"wrk-{server}-") + r"(\d+)\.json")
    paths = [p for p in glob.glob(os.path.join(dirpath, f"wrk-{server}-*.json")) if own.fullmatch(os.path.basename(p))]
    for p in sorted(paths, key=lambda p: int(own.fullmatch(os.path.basename(p)).group(1))):
        runs.append(load(p))
    if runs:
        best = max(runs, key=lambda r: r["requests_per_sec"])
        res["wrk"] = {"pick": "best requests/s", "best": {k: v for k, v in best.items() if k != "output"},
                      "runs": [{k: v for k, v in r.items() if k != "output"} for r in runs],
                      "best_output": best.get("output")}
        res["requests_per_sec_all_runs"] = [r["requests_per_sec"] for r in runs]
        res["wrk"]["median"] = {
            "requests_per_sec": statistics.median(r["requests_per_sec"] for r in runs),
            "cpu_us_per_request": statistics.median(r.get("cpu_us_per_request") or 0 for r in runs),
            "rounds": len(runs)}
    p = os.path.join(dirpath, f"mem-{server}-idle.json")
    if os.path.exists(p):
        res["mem_idle"] = load(p)
    p = os.path.join(dirpath, f"mem-{server}-after-load.json")
    if os.path.exists(p):
        res["mem_after_load"] = load(p)
    p = os.path.join(dirpath, f"hold-{server}.json")
    if os.path.exists(p):
        res["held"] = load(p)
    p = os.path.join(dirpath, f"lat-{server}.json")
    if os.path.exists(p):
        res["one_connection"] = {k: v for k, v in load(p).items() if k != "output"}
    return res


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def mib(kb):
    return None if kb is None else kb / 1024


def fmt(v, unit, digits=1):
    if v is None:
        return "-"
    if unit in ("req/s", ""):
        return f"{v:,.0f}"
    return f"{v:.{digits}f} {unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("results")
    ap.add_argument("--out", required=True)
    ap.add_argument("--describe", default="")
    args = ap.parse_args()

    sdir = os.path.join(args.results, args.scenario)
    meta_path = os.path.join(args.results, "meta.json")
    doc = {"scenario": args.scenario, "description": args.describe,
           "meta": load(meta_path) if os.path.exists(meta_path) else {}}
    method_path = os.path.join(sdir, "method.json")
    if os.path.exists(method_path):
        doc["method"] = load(method_path)
    data = {s: collect(sdir, s) for s in SERVERS}
    for s in SERVERS:
        if data[s]:
            doc[s] = data[s]
    doc["complete"] = all(data[s] for s in COMPARED)
    direct_path = os.path.join(sdir, "lat-direct.json")
    direct = load(direct_path) if os.path.exists(direct_path) else None
    if direct:
        doc["direct_one_connection"] = {k: v for k, v in direct.items() if k != "output"}

    def added(server, key):
        """Microseconds a path adds at one connection over going straight to the upstream."""
        through = get(server, "one_connection", key)
        return None if through is None or not direct or direct.get(key) is None else (through - direct[key]) * 1000

    def get(server, *path):
        cur = data.get(server)
        for k in path:
            if not isinstance(cur, dict) or k not in cur:
                return None
            cur = cur[k]
        return cur

    # (label, unit, getter, digits, ratio key)
    rows = [
        ("requests/s, best", "req/s", lambda s: get(s, "wrk", "best", "requests_per_sec"), 0, "requests_per_sec"),
        ("requests/s, median", "req/s", lambda s: get(s, "wrk", "median", "requests_per_sec"), 0,
         "requests_per_sec_median"),
        ("p50 latency", "ms", lambda s: get(s, "wrk", "best", "p50_ms"), 3, "p50"),
        ("p99 latency", "ms", lambda s: get(s, "wrk", "best", "p99_ms"), 3, "p99"),
        ("server CPU / request", "us", lambda s: get(s, "wrk", "best", "cpu_us_per_request"), 1, "cpu_per_request"),
        ("CPU / request, median", "us", lambda s: get(s, "wrk", "median", "cpu_us_per_request"), 1,
         "cpu_per_request_median"),
        ("RSS idle", "MiB", lambda s: mib(get(s, "mem_idle", "rss_kb")), 1, "rss_idle"),
        ("PSS idle", "MiB", lambda s: mib(get(s, "mem_idle", "pss_kb")), 1, None),
        ("RSS after the wrk runs", "MiB", lambda s: mib(get(s, "mem_after_load", "rss_kb")), 1, "rss_after_load"),
    ]
    if direct:
        rows += [
            ("p50 at 1 connection", "ms", lambda s: get(s, "one_connection", "p50_ms"), 3, None),
            ("p50 added at 1 conn.", "us", lambda s: added(s, "p50_ms"), 0, "p50_added_one_connection"),
            ("p99 added at 1 conn.", "us", lambda s: added(s, "p99_ms"), 0, "p99_added_one_connection"),
        ]
    held_n = max((get(s, "held", "requested") or 0) for s in SERVERS)
    held_mode = next((get(s, "held", "mode") for s in SERVERS if get(s, "held", "mode")), None)
    what = "keep-alive conns" if held_mode == "healthz" else "SSE streams"
    if held_n:
        rows += [
            (f"{what} actually open", "", lambda s: get(s, "held", "opened"), 0, None),
            (f"RSS, {held_n:,} {what}", "MiB", lambda s: mib(get(s, "held", "mem_held", "rss_kb")), 1, "rss_held"),
            (f"PSS, {held_n:,} {what}", "MiB", lambda s: mib(get(s, "held", "mem_held", "pss_kb")), 1, None),
            ("RSS growth / connection", "KiB", lambda s: get(s, "held", "per_connection_kb"), 1, None),
        ]

    with_floor = bool(data["curl-floor"])
    ratios, floor_ratios, over_floor = {}, {}, {}
    table = []
    for label, unit, getter, digits, rkey in rows:
        n, t, f = getter("nginx"), getter("tollgate"), getter("curl-floor")
        if n is None and t is None:
            continue
        r = ratio(t, n)
        if rkey:
            ratios[rkey] = r
            floor_ratios[rkey] = ratio(f, n)
            over_floor[rkey] = ratio(t, f)
        cells = [label, fmt(n, unit, digits), fmt(t, unit, digits), "-" if r is None else f"{r:.2f}"]
        if with_floor:
            cells += [fmt(f, unit, digits), "-" if ratio(f, n) is None else f"{ratio(f, n):.2f}",
                      "-" if ratio(t, f) is None else f"{ratio(t, f):.2f}"]
        table.append(tuple(cells))
    doc["ratio_tollgate_over_nginx"] = ratios
    if with_floor:
        doc["ratio_curl_floor_over_nginx"] = floor_ratios
        doc["ratio_tollgate_over_curl_floor"] = over_floor

    metering = {}
    if data["tollgate-unmetered"]:
        for key, path in (("requests_per_sec", ("wrk", "best", "requests_per_sec")),
                          ("requests_per_sec_median", ("wrk", "median", "requests_per_sec")),
                          ("cpu_per_request_median", ("wrk", "median", "cpu_us_per_request")),
                          ("rss_idle", ("mem_idle", "rss_kb"))):
            metering[key] = ratio(get("tollgate", *path), get("tollgate-unmetered", *path))
        doc["ratio_metered_over_unmetered"] = metering

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)

    print()
    print(f"== {args.scenario}: {args.describe}")
    if "method" in doc:
        m = doc["method"]
        print("   " + "; ".join(f"{k}: {v}" for k, v in m.items()))
    w = max(len(r[0]) for r in table) if table else 10
    heads = ["nginx", "tollgate", "tollgate/nginx"] + (["curl_floor", "floor/nginx", "tollgate/floor"] if with_floor else [])
    print(f"   {'':{w}}" + "".join(f"  {h:>14}" for h in heads))
    for cells in table:
        print(f"   {cells[0]:{w}}" + "".join(f"  {c:>14}" for c in cells[1:]))
    if metering:
        print(f"   metering on / off (serve --metering off, same run): requests/s best "
              f"{metering['requests_per_sec'] or 0:.2f}, median {metering['requests_per_sec_median'] or 0:.2f}; "
              f"CPU/request median {metering['cpu_per_request_median'] or 0:.2f}; "
              f"RSS idle {metering['rss_idle'] or 0:.2f}")
    if direct:
        print(f"   straight to the upstream at 1 connection: p50 {direct.get('p50_ms', 0) * 1000:.0f} us, "
              f"p99 {direct.get('p99_ms', 0) * 1000:.0f} us")
    for s in SERVERS:
        held = get(s, "held")
        if held and (held.get("failed") or held.get("still_alive", held.get("opened")) < held.get("opened", 0)):
            print(f"   note: {s}: {held['failed']} of {held['requested']} failed to open, "
                  f"{held['still_alive']} of {held['opened']} still alive at the end")
        best = get(s, "wrk", "best")
        if best and (best.get("non_2xx") or sum(best.get("socket_errors", {}).values())):
            print(f"   note: {s}: best run had {best['non_2xx']} non-2xx responses and socket errors "
                  f"{best['socket_errors']}: its numbers do not measure successful requests only")
        runs = get(s, "wrk", "runs") or []
        busy = [r.get("other_cpu_share") or 0 for r in runs]
        if busy and max(busy) > 0.05:
            print(f"   note: {s}: other processes used up to {max(busy):.0%} of the CPU during its runs: "
                  "the numbers are low and the ratio unreliable; rerun on a quiet machine")
    if not doc["complete"]:
        print("   (incomplete: only one server measured, so no ratio)")
    print(f"   written: {args.out}")


if __name__ == "__main__":
    main()
