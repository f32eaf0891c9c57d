#!/usr/bin/env bash
# A/B of front servers on the proxy path, in alternating rounds, medians. See Benchmarks/README.md.
#
#   Benchmarks/ab.sh LABEL=PATH LABEL=PATH ...
#       PATH is a Tollgate binary, a curl_floor-style C file (*.c, built here with cc), or the
#       word "nginx" (proxy_pass with an upstream keep-alive pool, as in run.sh --proxy).
#   e.g. Benchmarks/ab.sh glibc=.build/release/tollgate mimalloc=.build-mimalloc/release/tollgate
#        Benchmarks/ab.sh old=/tmp/curl_floor_old.c new=Benchmarks/curl_floor.c
#   --latency   also: rounds of wrk -t1 -c1 through each and straight to the upstream (p50 added)
#   --sse       also: RSS of each Tollgate variant with BENCH_SSE_STREAMS streams held open
#
# Every variant runs against the same nginx upstream; each round runs every variant once, the
# order reversed every other round (A B B A A B ...), so drift on the machine hits all alike.
# Printed: median, min and max of requests/s and server CPU/request over the rounds, idle RSS
# (after start and one request), RSS after load, and the optional figures. JSON in
# $BENCH_OUT/ab.json.
#
# Environment (defaults in brackets): BENCH_WORKERS [1], BENCH_THREADS [1],
# BENCH_CONNECTIONS [64], BENCH_DURATION [10s], BENCH_ROUNDS [3], BENCH_WARMUP [2s],
# BENCH_SSE_STREAMS [1000], BENCH_UPSTREAM_WORKERS [1], BENCH_OUT [Benchmarks/out],
# BENCH_KEEP_WORK [0].
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=${PYTHON:-python3}
OUT_DIR=${BENCH_OUT:-$HERE/out}
WORKERS=${BENCH_WORKERS:-1}
THREADS=${BENCH_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2s}
SSE_STREAMS=${BENCH_SSE_STREAMS:-1000}
UPSTREAM_WORKERS=${BENCH_UPSTREAM_WORKERS:-1}
BENCH_KEY=tg-bench-key-000000000000
BENCH_MODEL=bench-model
FIXED_REPLY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}'
CHAT_BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'

LATENCY=0 SSE=0 VARIANTS=()
while [ $# -gt 0 ]; do
    case $1 in
        --latency) LATENCY=1 ;;
        --sse) SSE=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *=*) VARIANTS+=("$1") ;;
        *) echo "ab.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#VARIANTS[@]} -ge 1 ] || { echo "ab.sh: name at least one LABEL=PATH (try --help)" >&2; exit 2; }

die() { echo "ab.sh: error: $*" >&2; exit 1; }
log() { echo "--- $*"; }
. "$HERE/lib.sh"
for tool in nginx wrk "$PY"; do command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run 'make deps'"; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

WORK=$(mktemp -d /tmp/tollgate-ab.XXXXXX)
chmod 755 "$WORK"
RES=$WORK/results
mkdir -p "$RES" "$OUT_DIR"
PIDS=()

install_cleanup

tollgate_start() {   # NAME BIN UPSTREAM_PORT MAX_CONCURRENCY -> TG_PID, TG_PORT
    local dir=$WORK/$1 addr
    mkdir -p "$dir"
    cat >"$dir/tollgate.yaml" <<EOF
server:
  listen: 127.0.0.1:0
  workers: $WORKERS
  drain_timeout: 2s
storage:
  sqlite: $dir/tollgate.db
backends:
  up: { kind: openai, url: http://127.0.0.1:$3, max_concurrency: $4 }
models:
  $BENCH_MODEL: { task: chat, backends: [up] }
users:
  bench: { keys: ["\${TOLLGATE_BENCH_KEY}"] }
EOF
    TOLLGATE_BENCH_KEY=$BENCH_KEY "$2" serve --config "$dir/tollgate.yaml" >/dev/null 2>"$dir/stderr" &
    TG_PID=$!
    PIDS+=("$TG_PID")
    addr=$("$ROOT/scripts/wait-for-listen.sh" "$dir/stderr" "$TG_PID" 30) || die "tollgate ($1) did not start"
    TG_PORT=${addr##*:}
}

# ------------------------------------------------------------------ the upstream
read -r UP <<<"$(ports 1)"
nginx_start upstream "$UPSTREAM_WORKERS" "    server {
        listen 127.0.0.1:$UP;
        location ~ /chat/completions\$ { default_type application/json; return 200 '$FIXED_REPLY'; }
    }"
UP_PID=$NGINX_PID
$PY "$HERE/tools.py" wait-http "http://127.0.0.1:$UP/v1/chat/completions" --method POST \
    --data "$CHAT_BODY" -H "Content-Type: application/json" --expect chatcmpl-bench

# ------------------------------------------------------------------ the variants
LABELS=() VPIDS=() VURLS=() VKINDS=() VBINS=()
for v in "${VARIANTS[@]}"; do
    label=${v%%=*} path=${v#*=}
    case $label in ""|*[!A-Za-z0-9_.-]*) die "label '$label': letters, digits, _ . - only" ;; esac
    read -r port <<<"$(ports 1)"
    case $path in
        nginx)
            nginx_start "nginx-$label" "$WORKERS" "    upstream bench_upstream { server 127.0.0.1:$UP; keepalive 64; }
    server {
        listen 127.0.0.1:$port reuseport;
        location /v1/ { proxy_pass http://bench_upstream; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    }"
            pid=$NGINX_PID kind=nginx ;;
        *.c)
            [ -f "$path" ] || die "$path: no such file"
            "${CC:-cc}" -O2 -o "$WORK/$label.bin" "$path" -lcurl -lpthread || die "$path did not build"
            "$WORK/$label.bin" "$port" "http://127.0.0.1:$UP/v1/chat/completions" "$WORKERS" 2>"$WORK/$label.log" &
            pid=$!
            PIDS+=("$pid")
            kind=floor ;;
        *)
            [ -x "$path" ] || die "$path: not an executable"
            tollgate_start "tollgate-$label" "$path" "$UP" 4096
            pid=$TG_PID port=$TG_PORT kind=tollgate
            VBINS+=("$label=$path") ;;
    esac
    url=http://127.0.0.1:$port/v1/chat/completions
    $PY "$HERE/tools.py" wait-http "$url" --method POST --data "$CHAT_BODY" -H "Content-Type: application/json" \
        -H "Authorization: Bearer $BENCH_KEY" --expect chatcmpl-bench
    LABELS+=("$label") VPIDS+=("$pid") VURLS+=("$url") VKINDS+=("$kind")
done
sleep 1
for i in "${!LABELS[@]}"; do
    $PY "$HERE/tools.py" mem --label "${LABELS[$i]} idle" --out "$RES/mem-idle-${LABELS[$i]}.json" "${VPIDS[$i]}"
done

wrk_run() {   # LABEL PID URL OUT DURATION CONNS THREADS
    BENCH_MODEL=$BENCH_MODEL BENCH_KEY=$BENCH_KEY $PY "$HERE/tools.py" wrk --out "$4" --label "$1" \
        --pids "$2" --aux-pids "$UP_PID" --timeout 120 -- \
        wrk -t"$7" -c"$6" -d"$5" --latency -s "$HERE/chat.lua" "$3"
}
order() {   # ROUND -> the variant indices, reversed in even rounds
    local n=${#LABELS[@]} i
    if [ $(( $1 % 2 )) = 1 ]; then seq 0 $((n - 1)); else seq $((n - 1)) -1 0; fi
}

log "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$THREADS -c$CONNECTIONS -d$DURATION x $ROUNDS rounds, $WORKERS worker(s) each: ${LABELS[*]}"
for i in "${!LABELS[@]}"; do
    wrk_run "${LABELS[$i]} warm-up" "${VPIDS[$i]}" "${VURLS[$i]}" "$RES/warmup-${LABELS[$i]}.json" "$WARMUP" "$CONNECTIONS" "$THREADS"
done
for r in $(seq "$ROUNDS"); do
    for i in $(order "$r"); do
        wrk_run "${LABELS[$i]} round $r" "${VPIDS[$i]}" "${VURLS[$i]}" "$RES/wrk-${LABELS[$i]}-$r.json" "$DURATION" "$CONNECTIONS" "$THREADS"
    done
done

if [ "$LATENCY" = 1 ]; then
    log "one connection: wrk -t1 -c1 -d$DURATION x $ROUNDS rounds, straight to the upstream and through each"
    for r in $(seq "$ROUNDS"); do
        wrk_run "direct, 1 conn, round $r" "$UP_PID" "http://127.0.0.1:$UP/v1/chat/completions" "$RES/lat-direct-$r.json" "$DURATION" 1 1
        for i in $(order "$r"); do
            wrk_run "${LABELS[$i]}, 1 conn, round $r" "${VPIDS[$i]}" "${VURLS[$i]}" "$RES/lat-${LABELS[$i]}-$r.json" "$DURATION" 1 1
        done
    done
fi

for i in "${!LABELS[@]}"; do
    $PY "$HERE/tools.py" mem --label "${LABELS[$i]} after load" --out "$RES/mem-after-${LABELS[$i]}.json" "${VPIDS[$i]}"
    stop_pid "${VPIDS[$i]}"
done
stop_pid "$UP_PID"

if [ "$SSE" = 1 ] && [ ${#VBINS[@]} -gt 0 ]; then
    log "sse: $SSE_STREAMS streams held open through each Tollgate variant (one at a time)"
    read -r SUP <<<"$(ports 1)"
    $PY "$HERE/sse_upstream.py" --port "$SUP" --interval 0.5 --events 240 --max-seconds 900 2>"$WORK/sse-upstream.log" &
    SUP_PID=$!
    PIDS+=("$SUP_PID")
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$SUP/healthz" --expect '"ok"'
    for vb in "${VBINS[@]}"; do
        label=${vb%%=*}
        tollgate_start "sse-$label" "${vb#*=}" "$SUP" $((SSE_STREAMS + 100))
        $PY "$HERE/hold_connections.py" --mode sse --port "$TG_PORT" --conns "$SSE_STREAMS" --pids "$TG_PID" \
            --samples 3 --key "$BENCH_KEY" --label "$label, $SSE_STREAMS SSE streams" --out "$RES/sse-$label.json" ||
            echo "ab.sh: warning: $label did not hold all $SSE_STREAMS streams (see the JSON)" >&2
        stop_pid "$TG_PID"
    done
    stop_pid "$SUP_PID"
fi

# ------------------------------------------------------------------ summary
$PY - "$RES" "$OUT_DIR/ab.json" "${LABELS[@]}" <<'PY'
import glob, json, os, statistics, sys
res, out, labels = sys.argv[1], sys.argv[2], sys.argv[3:]
load = lambda p: json.load(open(p))
def runs(prefix):
    return [load(p) for p in sorted(glob.glob(os.path.join(res, prefix + "-[0-9]*.json")))]
def stats(xs):
    xs = [x for x in xs if x is not None]
    return None if not xs else {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}
direct = stats([r.get("p50_ms") for r in runs("lat-direct")])
doc = {"variants": {}}
for l in labels:
    w = runs(f"wrk-{l}")
    v = {"requests_per_sec": stats([r["requests_per_sec"] for r in w]),
         "cpu_us_per_request": stats([r.get("cpu_us_per_request") for r in w]),
         "other_cpu_share_max": max((r.get("other_cpu_share") or 0) for r in w),
         "errors": sum(r["non_2xx"] + sum(r["socket_errors"].values()) for r in w)}
    for k, f in (("rss_idle_kb", "mem-idle"), ("rss_after_load_kb", "mem-after")):
        p = os.path.join(res, f"{f}-{l}.json")
        if os.path.exists(p):
            v[k] = load(p)["rss_kb"]
    lat = runs(f"lat-{l}")
    if lat and direct:
        v["p50_1conn_ms"] = stats([r.get("p50_ms") for r in lat])
        # Paired by round (the direct run just before it), so drift between rounds cancels.
        pairs = [(load(p)["p50_ms"] - load(os.path.join(res, f"lat-direct-{r}.json"))["p50_ms"]) * 1000
                 for r in range(1, 1000)
                 for p in [os.path.join(res, f"lat-{l}-{r}.json")]
                 if os.path.exists(p) and os.path.exists(os.path.join(res, f"lat-direct-{r}.json"))]
        v["p50_added_us_by_round"] = pairs
        v["p50_added_us"] = statistics.median(pairs)
    p = os.path.join(res, f"sse-{l}.json")
    if os.path.exists(p):
        s = load(p)
        v["sse"] = {"opened": s.get("opened"), "rss_held_kb": s.get("mem_held", {}).get("rss_kb")}
    doc["variants"][l] = v
doc["direct_p50_1conn_ms"] = direct
json.dump(doc, open(out, "w"), indent=1)
base = doc["variants"][labels[0]]["requests_per_sec"]["median"]
print()
print(f"{'variant':<14}{'req/s median':>14}{'min..max':>18}{'vs ' + labels[0]:>12}{'CPU us/req':>12}"
      f"{'RSS idle':>10}{'after load':>11}" + (f"{'p50 +us':>9}" if direct else "")
      + (f"{'RSS SSE':>9}" if any('sse' in v for v in doc['variants'].values()) else ""))
for l in labels:
    v = doc["variants"][l]; q = v["requests_per_sec"]; c = v["cpu_us_per_request"]
    line = (f"{l:<14}{q['median']:>14,.0f}{q['min']:>9,.0f}..{q['max']:<7,.0f}{q['median'] / base:>12.3f}"
            f"{c['median'] if c else float('nan'):>12.1f}{v.get('rss_idle_kb', 0) / 1024:>9.1f}M"
            f"{v.get('rss_after_load_kb', 0) / 1024:>10.1f}M")
    if direct:
        line += f"{v['p50_added_us']:>9.0f}" if "p50_added_us" in v else f"{'-':>9}"
    if "sse" in v:
        line += f"{(v['sse']['rss_held_kb'] or 0) / 1024:>8.1f}M"
    print(line + (f"  (OTHER CPU up to {v['other_cpu_share_max']:.0%})" if v["other_cpu_share_max"] > 0.05 else "")
          + (f"  ERRORS {v['errors']}" if v["errors"] else ""))
if direct:
    print(f"straight to the upstream at 1 connection: p50 median {direct['median'] * 1000:.0f} us "
          f"({direct['min'] * 1000:.0f}..{direct['max'] * 1000:.0f}); 'p50 +us' is the median over rounds of "
          "(p50 through it - p50 direct in the same round)")
    for l in labels:
        v = doc["variants"][l]
        if "p50_added_us_by_round" in v:
            print(f"  {l}: p50 at 1 connection {v['p50_1conn_ms']['median'] * 1000:.0f} us median "
                  f"({v['p50_1conn_ms']['min'] * 1000:.0f}..{v['p50_1conn_ms']['max'] * 1000:.0f}); added by round: "
                  + ", ".join(f"{x:+.0f}" for x in v["p50_added_us_by_round"]))
print(f"written: {out}")
PY
