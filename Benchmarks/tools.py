#!/usr/bin/env python3
"""Measurement helpers for Benchmarks/run.sh. Standard library only; Linux /proc.

    tools.py ports N                      N free TCP ports on 127.0.0.1, one a line
    tools.py wait-http URL [--timeout S] [--expect TEXT] [--method POST --data BODY -H 'K: V']
    tools.py mem --out FILE PID...        memory of the PIDs and all their descendants
    tools.py wrk --out FILE --label L --pids PID... [--aux-pids PID...] [--timeout S] -- wrk ARGS...
                                          runs wrk, records its numbers, the server's CPU and
                                          how much CPU other processes took meanwhile
    tools.py meta --out FILE [--tollgate BIN]

Memory: VmRSS summed over the process tree (what the issue asks for), plus PSS, which
counts a page shared by nginx's master and workers once instead of once per process.
CPU: utime+stime of the tree from /proc/PID/stat, before and after a wrk run, so
cpu_us_per_request = server CPU during the run / requests wrk completed.
"""
import argparse
import json
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the gateway

def serve_tollgate(binary, config, who):
    """Starts `tollgate serve --config CONFIG` (listen: 127.0.0.1:0) and returns (proc, port) once
    it logs `listening on`; stderr is drained from then on so the gateway never blocks on a full
    pipe. Exits the script (`who: tollgate did not start: …`) if it does not start within 20 s."""
    import select
    import threading
    proc = subprocess.Popen([binary, "serve", "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    fd, pending, deadline = proc.stderr.fileno(), b"", time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += chunk
        for line in pending.decode(errors="replace").splitlines():
            if "listening on" in line:
                threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(fd, 65536), b"")], daemon=True).start()
                return proc, int(line.strip().rsplit(":", 1)[1])
    proc.kill()
    raise SystemExit(f"{who}: tollgate did not start: " + pending.decode(errors="replace"))


# ---------------------------------------------------------------- processes and memory

def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state)."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def descendants(pids):
    """The given PIDs plus every live descendant."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(entry)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [int(p) for p in pids]
    while todo:
        pid = todo.pop()
        if pid in out or not os.path.exists(f"/proc/{pid}"):
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(out)


def _status_kb(pid, keys):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                vals[k] = int(v.split()[0])
    return vals


def _pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def memory(pids):
    """Memory of a process tree, in KiB: summed VmRSS (+ anon/file split) and summed PSS."""
    tree = descendants(pids)
    if not tree:
        raise SystemExit(f"memory: none of {pids} is running")
    keys = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads")
    total = {"rss_kb": 0, "rss_anon_kb": 0, "rss_file_kb": 0, "pss_kb": 0, "threads": 0}
    procs = []
    for pid in tree:
        try:
            st = _status_kb(pid, keys)
        except OSError:
            continue
        pss = _pss_kb(pid)
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        procs.append({"pid": pid, "comm": comm, "rss_kb": st.get("VmRSS", 0), "pss_kb": pss})
        total["rss_kb"] += st.get("VmRSS", 0)
        total["rss_anon_kb"] += st.get("RssAnon", 0)
        total["rss_file_kb"] += st.get("RssFile", 0) + st.get("RssShmem", 0)
        total["pss_kb"] += pss or 0
        total["threads"] += st.get("Threads", 0)
    total["processes"] = procs
    return total


def machine_cpu():
    """(user+nice+system, steal) of the whole machine in seconds, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK, (v[7] if len(v) > 7 else 0) / CLK_TCK


def cpu_ticks(pids):
    total = 0
    for pid in descendants(pids):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        total += int(f[11]) + int(f[12])   # utime, stime (all threads)
    return total


# ---------------------------------------------------------------- wrk output

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(value, unit):
    return float(value) * _UNIT[unit]


def parse_wrk(text):
    """Numbers from `wrk --latency` output; latencies in milliseconds."""
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["requests_per_sec"] = float(m.group(1)) if m else None
    m = re.search(r"^\s*Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)",
                  text, re.M)
    if m:
        out["latency_avg_ms"] = _ms(m.group(1), m.group(2))
        out["latency_stdev_ms"] = _ms(m.group(3), m.group(4))
        out["latency_max_ms"] = _ms(m.group(5), m.group(6))
    for pct, val, unit in re.findall(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out[f"p{pct}_ms"] = _ms(val, unit)
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        out["requests"] = int(m.group(1))
        out["duration_s"] = _ms(m.group(2), m.group(3)) / 1e3
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = ({"connect": int(m.group(1)), "read": int(m.group(2)),
                             "write": int(m.group(3)), "timeout": int(m.group(4))}
                            if m else {"connect": 0, "read": 0, "write": 0, "timeout": 0})
    return out


# ---------------------------------------------------------------- commands

def cmd_ports(args):
    socks = []
    try:
        for _ in range(args.n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        for s in socks:
            print(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()


def cmd_wait_http(args):
    deadline = time.monotonic() + args.timeout
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    data = args.data.encode() if args.data is not None else None
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(args.url, data=data, headers=headers, method=args.method)
            with urllib.request.urlopen(req, timeout=2) as r:
                body = r.read().decode("utf-8", "replace")
                if r.status == 200 and (args.expect is None or args.expect in body):
                    if args.show:
                        print(body)
                    return
                last = f"HTTP {r.status}: {body[:200]}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}: {e.read()[:200]!r}"
        except (OSError, urllib.error.URLError) as e:
            last = str(e)
        time.sleep(0.1)
    raise SystemExit(f"wait-http: {args.url} not ready after {args.timeout}s (last: {last})")


def cmd_mem(args):
    result = memory(args.pids)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"  {args.label or 'mem'}: RSS {result['rss_kb'] / 1024:.1f} MiB "
          f"(PSS {result['pss_kb'] / 1024:.1f} MiB, {len(result['processes'])} processes)")


def cmd_wrk(args):
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        raise SystemExit("wrk: no command after --")
    a0 = cpu_ticks(args.aux_pids) if args.aux_pids else 0
    t0, m0, c0 = cpu_ticks(args.pids), machine_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"wrk: {' '.join(cmd)} did not finish within {args.timeout}s")
    t1, m1, c1 = cpu_ticks(args.pids), machine_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    aux_s = ((cpu_ticks(args.aux_pids) if args.aux_pids else 0) - a0) / CLK_TCK
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    result = parse_wrk(proc.stdout)
    result.update(label=args.label, command=" ".join(cmd), output=proc.stdout)
    cpu_s = (t1 - t0) / CLK_TCK
    result["server_cpu_s"] = cpu_s
    # Whatever else ran on the machine meanwhile: its busy time minus the server's, wrk's and the
    # benchmark's own helpers' (--aux-pids: an upstream); interrupt time, where loopback traffic
    # partly lands, is left out. A few percent is normal.
    wrk_s = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    result["wrk_cpu_s"] = wrk_s
    if args.aux_pids:
        result["aux_cpu_s"] = aux_s
    dur = result.get("duration_s") or 1
    result["other_cpu_share"] = max(0.0, (m1[0] - m0[0]) - cpu_s - wrk_s - aux_s) / (dur * (os.cpu_count() or 1))
    result["steal_share"] = (m1[1] - m0[1]) / (dur * (os.cpu_count() or 1))
    if result.get("requests"):
        result["cpu_us_per_request"] = cpu_s * 1e6 / result["requests"]
    if result["requests_per_sec"] is None:
        raise SystemExit(f"wrk: no Requests/sec in output:\n{proc.stdout}")
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    errs = sum(result["socket_errors"].values())
    print(f"  {args.label}: {result['requests_per_sec']:,.0f} req/s, "
          f"p50 {result.get('p50_ms', float('nan')):.3f} ms, p99 {result.get('p99_ms', float('nan')):.3f} ms, "
          f"server CPU {result.get('cpu_us_per_request', float('nan')):.1f} us/req"
          + (f", NON-2XX {result['non_2xx']}" if result["non_2xx"] else "")
          + (f", OTHER PROCESSES USED {result['other_cpu_share']:.0%} OF THE CPU"
             if result["other_cpu_share"] > 0.05 else "")
          + (f", STEAL {result['steal_share']:.0%}" if result["steal_share"] > 0.02 else "")
          + (f", SOCKET ERRORS {result['socket_errors']}" if errs else ""))


def _run(cmd, any_status=False):
    """First line a version command prints (on stdout or stderr), or None."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode != 0 and not any_status:
        return None
    text = (p.stdout.strip() or p.stderr.strip())
    return text.splitlines()[0] if text else None


def cmd_meta(args):
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    except OSError:
        pass
    nginx = _run(["nginx", "-v"])
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host_cpus": os.cpu_count(),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "nginx": nginx.split("nginx/")[-1] if nginx else None,
        "wrk": _run(["wrk", "-v"], any_status=True),   # wrk -v exits 1
        "git_commit": _run(["git", "rev-parse", "--short", "HEAD"]),
        "tollgate_version": _run([args.tollgate, "version"]) if args.tollgate else None,
    }
    with open(args.out, "w") as f:
        json.dump(meta, f, indent=1)
    if meta["loadavg_at_start"][0] > 0.5:
        print(f"  warning: load average {meta['loadavg_at_start'][0]:.2f} at start: something else "
              "is using the CPU, and both servers' numbers will be lower than on a quiet machine")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ports")
    p.add_argument("n", type=int)
    p.set_defaults(func=cmd_ports)

    p = sub.add_parser("wait-http")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--expect")
    p.add_argument("--method", default="GET")
    p.add_argument("--data")
    p.add_argument("-H", "--header", action="append", default=[])
    p.add_argument("--show", action="store_true", help="print the body of the good response")
    p.set_defaults(func=cmd_wait_http)

    p = sub.add_parser("mem")
    p.add_argument("--out", required=True)
    p.add_argument("--label")
    p.add_argument("pids", nargs="+", type=int)
    p.set_defaults(func=cmd_mem)

    p = sub.add_parser("wrk")
    p.add_argument("--out", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--pids", nargs="+", type=int, required=True, help="the server measured")
    p.add_argument("--aux-pids", nargs="+", type=int, default=[], help="benchmark helpers (upstream)")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_wrk)

    p = sub.add_parser("meta")
    p.add_argument("--out", required=True)
    p.add_argument("--tollgate")
    p.set_defaults(func=cmd_meta)

    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
