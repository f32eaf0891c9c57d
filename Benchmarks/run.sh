#!/usr/bin/env bash
# Tollgate against nginx, in the same run on the same machine. See Benchmarks/README.md.
#
#   Benchmarks/run.sh                 healthz scenario: wrk on /healthz, RSS idle and with
#                                     1,000 keep-alive connections -> Benchmarks/out/healthz.json
#   Benchmarks/run.sh --proxy         also: wrk -> {Tollgate | nginx proxy_pass} -> nginx upstream
#                                     (out/proxy.json) and 1,000 SSE streams (out/sse.json)
#   Benchmarks/run.sh --nginx-only    nginx's half alone (no Tollgate binary needed, no ratio)
#   Benchmarks/run.sh --quick         3 s runs, one round: a smoke test of the script itself
#   BENCH_SCENARIOS=limits Benchmarks/run.sh   BENCH_USERS users with rate limits vs without
#                                     (out/limits.json), same run, keys spread over connections
#   BENCH_SCENARIOS=router Benchmarks/run.sh   the model on one backend vs on 20 priced candidates
#                                     (out/router.json): the router's cost in proxy throughput
#
# Environment (defaults in brackets): TOLLGATE_BIN [.build/release/tollgate], BENCH_DURATION
# [10s], BENCH_ROUNDS [2], BENCH_THREADS [2], BENCH_CONNECTIONS [64], BENCH_WARMUP [2s],
# BENCH_WORKERS [2] (both servers), BENCH_KEEPALIVE_CONNS [1000], BENCH_SSE_STREAMS [1000],
# BENCH_UPSTREAM_WORKERS [1], BENCH_PROXY [0], BENCH_NGINX_ONLY [0], BENCH_OUT [Benchmarks/out],
# BENCH_KEEP_WORK [0] (keep the temp dir with configs and logs), BENCH_SCENARIOS [healthz, or
# "healthz proxy sse" with --proxy; "limits" and "router" on request] to run a chosen subset,
# BENCH_USERS [1000] (limits scenario), BENCH_CURL_FLOOR_SRC
# [Benchmarks/curl_floor.c] (another version of the reference, to compare).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=${PYTHON:-python3}
BIN=${TOLLGATE_BIN:-$ROOT/.build/release/tollgate}
OUT_DIR=${BENCH_OUT:-$HERE/out}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-2}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WARMUP=${BENCH_WARMUP:-2s}
WORKERS=${BENCH_WORKERS:-2}
KEEPALIVE_CONNS=${BENCH_KEEPALIVE_CONNS:-1000}
SSE_STREAMS=${BENCH_SSE_STREAMS:-1000}
UPSTREAM_WORKERS=${BENCH_UPSTREAM_WORKERS:-1}
PROXY=${BENCH_PROXY:-0}
NGINX_ONLY=${BENCH_NGINX_ONLY:-0}
SCENARIOS=${BENCH_SCENARIOS:-}
FLOOR_SRC=${BENCH_CURL_FLOOR_SRC:-$HERE/curl_floor.c}
BENCH_KEY=tg-bench-key-000000000000
BENCH_MODEL=bench-model
# The fixed reply of the fake upstream (no '$' or '\'' in it: it sits in nginx's `return`).
FIXED_REPLY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}'
CHAT_BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'

while [ $# -gt 0 ]; do
    case $1 in
        --proxy) PROXY=1 ;;
        --nginx-only) NGINX_ONLY=1 ;;
        --quick) DURATION=3s ROUNDS=1 WARMUP=1s ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "--- $*"; }
. "$HERE/lib.sh"

# ------------------------------------------------------------------ preflight
for tool in nginx wrk curl "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run 'make deps' (or scripts/deps.sh)"
done
if [ "$NGINX_ONLY" != 1 ]; then
    [ -x "$BIN" ] || die "Tollgate binary $BIN not found or not executable.
  Build it with 'make build' (swift build -c release --static-swift-stdlib), point TOLLGATE_BIN
  at another build, or pass --nginx-only to measure the nginx baseline alone."
    # The measured binary is the one users run: release, Swift runtime linked in.
    if ldd "$BIN" 2>/dev/null | grep -q 'libswiftCore'; then
        echo "run.sh: warning: $BIN loads the Swift runtime as a shared library; the product is" \
             "built with --static-swift-stdlib (make build), and its idle RSS is lower" >&2
    fi
fi
# 1,000 held connections need more descriptors than a default 1024 (inherited by every child).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
[ "$(ulimit -n)" -ge $((KEEPALIVE_CONNS + SSE_STREAMS + 256)) ] ||
    echo "run.sh: warning: open-file limit $(ulimit -n) may be too low for the held connections" >&2

to_seconds() {   # 10s | 2m | 1500ms -> whole seconds (rounded up)
    case $1 in
        *ms) echo $(( (${1%ms} + 999) / 1000 )) ;;
        *s) echo "${1%s}" ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *) echo "$1" ;;
    esac
}
WRK_TIMEOUT=$(( $(to_seconds "$DURATION") + 30 ))

WORK=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
chmod 755 "$WORK"          # nginx workers run as nobody when started by root
RESULTS=$WORK/results
mkdir -p "$RESULTS" "$OUT_DIR"

# ------------------------------------------------------------------ process bookkeeping
PIDS=()
PROBLEMS=()  # measurements that completed only in part; the run exits 1 after reporting them
AUX_PIDS=    # helpers whose CPU counts as the benchmark's own during wrk runs (an upstream)

install_cleanup

# ------------------------------------------------------------------ nginx
# nginx_start (lib.sh) NAME WORKERS SERVER_BLOCKS -> sets NGINX_PID. Conf in $WORK/NAME, no
# daemon, no access log, everything it writes kept under $WORK/NAME.

healthz_location='        location = /healthz { default_type application/json; return 200 '"'"'{"status":"ok"}'"'"'; }'

# nginx_proxy_server LISTEN_PORT UPSTREAM_PORT [EXTRA_DIRECTIVES]: the nginx reverse proxy both
# proxy scenarios compare with (HTTP/1.1 to a keep-alive upstream pool).
nginx_proxy_server() {
    cat <<EOF
    upstream bench_upstream { server 127.0.0.1:$2; keepalive 64; }
    server {
        listen 127.0.0.1:$1 reuseport;
$healthz_location
        location /v1/ {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            ${3:-}
        }
    }
EOF
}

# ------------------------------------------------------------------ tollgate
# tollgate_config PORT BACKENDS_AND_MODELS_YAML -> YAML on stdout. The bench user has no limits.
# Not a copy of Config/tollgate.yaml on purpose: its backends may be real hosts, and a benchmark
# here must send traffic to this machine only.
tollgate_config() {
    local port=$1 rest=$2 dir=$3
    cat <<EOF
server:
  listen: 127.0.0.1:$port
  workers: $WORKERS
  drain_timeout: 2s
storage:
  sqlite: $dir/tollgate.db
$rest
users:
  bench: { keys: ["\${TOLLGATE_BENCH_KEY}"] }
EOF
}

# one_backend UPSTREAM_PORT -> the backends and models YAML of the benchmark model on one
# openai backend (the proxy, limits and router scenarios' baseline).
one_backend() {
    printf 'backends:\n  up: { kind: openai, url: http://127.0.0.1:%s, max_concurrency: 4096 }\nmodels:\n  %s: { task: chat, backends: [up] }' \
        "$1" "$BENCH_MODEL"
}

# tollgate_ready KEY: waits until the Tollgate just started answers the benchmark chat.
tollgate_ready() {
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$TG_PORT/v1/chat/completions" --method POST \
        --data "$CHAT_BODY" -H "Content-Type: application/json" -H "Authorization: Bearer $1" \
        --expect chatcmpl-bench
}

# chat_upstream NAME PORT: nginx answering every chat with the fixed reply; sets NGINX_PID and
# AUX_PIDS (its CPU belongs to the benchmark, not to "other processes").
chat_upstream() {
    nginx_start "$1" "$UPSTREAM_WORKERS" "    server {
        listen 127.0.0.1:$2;
        location ~ /chat/completions\$ { default_type application/json; return 200 '$FIXED_REPLY'; }
    }"
    AUX_PIDS=$NGINX_PID
}

# tollgate_start NAME CONFIG_TEXT [SERVE_ARGS...] -> sets TG_PID and TG_PORT (the port it printed).
tollgate_start() {
    local name=$1 dir=$WORK/$1 addr
    mkdir -p "$dir"
    printf '%s\n' "$2" >"$dir/tollgate.yaml"
    shift 2
    TOLLGATE_BENCH_KEY=$BENCH_KEY "$BIN" serve --config "$dir/tollgate.yaml" "$@" >/dev/null 2>"$dir/stderr" &
    TG_PID=$!
    PIDS+=("$TG_PID")
    addr=$("$ROOT/scripts/wait-for-listen.sh" "$dir/stderr" "$TG_PID" 30) ||
        die "tollgate ($name) did not start; config: $dir/tollgate.yaml"
    TG_PORT=${addr##*:}
}

# ------------------------------------------------------------------ measurements
idle_mem() {   # SCENARIO_DIR SERVER PID: after start and one request (done by the caller)
    sleep 1
    $PY "$HERE/tools.py" mem --label "$2 idle" --out "$1/mem-$2-idle.json" "$3"
}

after_load_mem() {
    $PY "$HERE/tools.py" mem --label "$2 after load" --out "$1/mem-$2-after-load.json" "$3"
}

run_wrk() {   # SCENARIO_DIR SERVER ROUND PID URL [LUA] ; ROUND 0 = warm-up, not kept
    local d=$1 server=$2 round=$3 pid=$4 url=$5 lua=${6:-} dur=$DURATION out
    local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
    [ -n "$lua" ] && args+=(-s "$lua")
    if [ "$round" = 0 ]; then dur=$WARMUP out=$d/warmup-$server.json; else out=$d/wrk-$server-$round.json; fi
    BENCH_MODEL=$BENCH_MODEL BENCH_KEY=$BENCH_KEY \
        $PY "$HERE/tools.py" wrk --out "$out" --label "$server $([ "$round" = 0 ] && echo warm-up || echo "round $round")" \
        --pids "$pid" ${AUX_PIDS:+--aux-pids $AUX_PIDS} --timeout "$WRK_TIMEOUT" -- wrk "${args[@]}" -d"$dur" "$url"
}

# wrk_alternating SCENARIO_DIR LUA  "server pid url" ...: warm-up each, then ROUNDS rounds in
# which every server runs once, in turn, so drift on the machine hits them alike.
wrk_alternating() {
    local d=$1 lua=$2 spec server pid url r
    shift 2
    for spec in "$@"; do read -r server pid url <<<"$spec"; run_wrk "$d" "$server" 0 "$pid" "$url" "$lua"; done
    for r in $(seq "$ROUNDS"); do
        for spec in "$@"; do read -r server pid url <<<"$spec"; run_wrk "$d" "$server" "$r" "$pid" "$url" "$lua"; done
    done
}

hold() {   # SCENARIO_DIR SERVER PID PORT MODE COUNT [extra args]
    local d=$1 server=$2 pid=$3 port=$4 mode=$5 n=$6
    shift 6
    local rc=0
    $PY "$HERE/hold_connections.py" --mode "$mode" --port "$port" --conns "$n" --pids "$pid" \
        --label "$server, $n $([ "$mode" = sse ] && echo 'SSE streams' || echo 'keep-alive connections')" \
        --out "$d/hold-$server.json" "$@" || rc=$?
    # 3: measured, but not every connection opened. Keep going (the table says how many did)
    # and fail the run at the end, so a partial figure is never taken for the full one.
    case $rc in
        0) ;;
        3) PROBLEMS+=("$(basename "$d"): $server held fewer than $n connections (see the table)") ;;
        *) die "hold_connections failed for $server" ;;
    esac
}

load_then_stop() {   # SCENARIO_DIR LUA NGINX_PID SPEC... : wrk rounds, memory after load, stop both
    local d=$1 lua=$2 ngx=$3
    shift 3
    wrk_alternating "$d" "$lua" "$@"
    after_load_mem "$d" nginx "$ngx"
    [ "$NGINX_ONLY" = 1 ] || after_load_mem "$d" tollgate "$TG_PID"
    stop_pid "$ngx"
    [ "$NGINX_ONLY" = 1 ] || stop_pid "$TG_PID"
}

write_method() {   # SCENARIO_DIR KEY=VALUE... -> method.json (values are strings)
    local d=$1
    shift
    $PY - "$d/method.json" "$@" <<'PY'
import json, sys
json.dump(dict(a.split("=", 1) for a in sys.argv[2:]), open(sys.argv[1], "w"), indent=1)
PY
}

# ------------------------------------------------------------------ scenario: healthz
scenario_healthz() {
    local d=$RESULTS/healthz np tp specs=()
    mkdir -p "$d"
    log "healthz: GET /healthz, nginx 'return 200' vs Tollgate, $WORKERS workers each"
    write_method "$d" "load=wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency" \
        "rounds=$ROUNDS, alternating nginx/tollgate after a $WARMUP warm-up each" \
        "pick=best requests/s of the rounds (p50/p99 from that same run), median beside it" \
        "memory=VmRSS summed over the process tree (nginx: master+workers); PSS alongside" \
        "idle=after start and one request" \
        "held=$KEEPALIVE_CONNS keep-alive connections, each after one GET /healthz"
    read -r np tp <<<"$(ports 2)"

    nginx_start nginx-healthz "$WORKERS" "    server {
        listen 127.0.0.1:$np reuseport;
$healthz_location
    }"
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$np/healthz" --expect '"ok"'
    idle_mem "$d" nginx "$NGINX_PID"
    hold "$d" nginx "$NGINX_PID" "$np" healthz "$KEEPALIVE_CONNS"
    specs+=("nginx $NGINX_PID http://127.0.0.1:$np/healthz")
    local ngx=$NGINX_PID

    if [ "$NGINX_ONLY" != 1 ]; then
        tollgate_start tollgate-healthz "$(tollgate_config "$tp" "backends:
  sim: { kind: simulated, latency: 1ms }
models:
  demo-chat: { task: chat, backends: [sim] }" "$WORK/tollgate-healthz")"
        $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$TG_PORT/healthz" --expect '"ok"'
        idle_mem "$d" tollgate "$TG_PID"
        hold "$d" tollgate "$TG_PID" "$TG_PORT" healthz "$KEEPALIVE_CONNS"
        specs+=("tollgate $TG_PID http://127.0.0.1:$TG_PORT/healthz")
    fi

    load_then_stop "$d" "" "$ngx" "${specs[@]}"
    $PY "$HERE/report.py" healthz "$RESULTS" --out "$OUT_DIR/healthz.json" \
        --describe "GET /healthz, keep-alive, $WORKERS workers each"
}

# ------------------------------------------------------------------ scenario: proxy (BENCH_PROXY=1)
# wrk -> Tollgate (openai backend) -> nginx upstream with a fixed JSON reply, against
# wrk -> nginx proxy_pass (keep-alive upstream pool) -> the same upstream.
scenario_proxy() {
    local d=$RESULTS/proxy up np tp fp specs=()
    mkdir -p "$d"
    log "proxy: POST /v1/chat/completions through Tollgate and through nginx proxy_pass to one nginx upstream"
    write_method "$d" "load=wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s Benchmarks/chat.lua" \
        "rounds=$ROUNDS, alternating after a $WARMUP warm-up each" \
        "pick=best requests/s of the rounds, median beside it" \
        "upstream=nginx, $UPSTREAM_WORKERS worker(s), fixed chat.completion JSON" \
        "nginx_proxy=proxy_pass, HTTP/1.1, upstream keepalive 64, $WORKERS workers" \
        "tollgate=openai backend, $WORKERS workers" \
        "server CPU=front server only (the upstream's CPU is not counted)" \
        "curl_floor=Benchmarks/curl_floor.c, minimal C proxy on the same libcurl, $WORKERS workers" \
        "added latency=wrk -t1 -c1 -d$DURATION p50/p99 through each minus the same straight to the upstream"
    local up_port_unmetered
    read -r up np tp fp up_port_unmetered <<<"$(ports 5)"

    nginx_start nginx-upstream "$UPSTREAM_WORKERS" "    server {
        listen 127.0.0.1:$up;
$healthz_location
        location ~ /chat/completions\$ { default_type application/json; return 200 '$FIXED_REPLY'; }
    }"
    local upstream_pid=$NGINX_PID
    AUX_PIDS=$upstream_pid   # its CPU belongs to the benchmark, not to "other processes"
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$up/v1/chat/completions" --method POST \
        --data "$CHAT_BODY" -H "Content-Type: application/json" --expect chatcmpl-bench

    nginx_start nginx-proxy "$WORKERS" "$(nginx_proxy_server "$np" "$up")"
    local ngx=$NGINX_PID
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$np/v1/chat/completions" --method POST \
        --data "$CHAT_BODY" -H "Content-Type: application/json" --expect chatcmpl-bench
    idle_mem "$d" nginx "$ngx"
    specs+=("nginx $ngx http://127.0.0.1:$np/v1/chat/completions")

    if [ "$NGINX_ONLY" != 1 ]; then
        tollgate_start tollgate-proxy "$(tollgate_config "$tp" "$(one_backend "$up")" "$WORK/tollgate-proxy")"
        tollgate_ready "$BENCH_KEY"
        idle_mem "$d" tollgate "$TG_PID"
        specs+=("tollgate $TG_PID http://127.0.0.1:$TG_PORT/v1/chat/completions")
        # The same gateway without metering (`serve --metering off`: no usage log, no usage
        # counters), so the cost of metering is measured in the same run (issue 9: ≥ 0.95×).
        tollgate_start tollgate-unmetered "$(tollgate_config "$up_port_unmetered" "$(one_backend "$up")" "$WORK/tollgate-unmetered")" --metering off
        tollgate_ready "$BENCH_KEY"
        idle_mem "$d" tollgate-unmetered "$TG_PID"
        specs+=("tollgate-unmetered $TG_PID http://127.0.0.1:$TG_PORT/v1/chat/completions")
    fi

    # The libcurl reference (Benchmarks/curl_floor.c): the same proxying in minimal C on the
    # same libcurl, so the table shows how much of the gap to nginx is libcurl's own.
    local floor_pid= floor_bin
    if floor_bin=$(build_curl_floor); then
        "$floor_bin" "$fp" "http://127.0.0.1:$up/v1/chat/completions" "$WORKERS" 2>"$WORK/curl-floor.log" &
        floor_pid=$!
        PIDS+=("$floor_pid")
        $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$fp/v1/chat/completions" --method POST \
            --data "$CHAT_BODY" -H "Content-Type: application/json" --expect chatcmpl-bench
        idle_mem "$d" curl-floor "$floor_pid"
        specs+=("curl-floor $floor_pid http://127.0.0.1:$fp/v1/chat/completions")
    fi

    # Added latency at one connection: wrk -t1 -c1 straight to the upstream, then through each.
    latency_at_one_connection "$d" "direct $upstream_pid http://127.0.0.1:$up/v1/chat/completions" "${specs[@]}"

    load_then_stop "$d" "$HERE/chat.lua" "$ngx" "${specs[@]}"
    [ -z "$floor_pid" ] || stop_pid "$floor_pid"
    stop_pid "$upstream_pid"
    AUX_PIDS=
    $PY "$HERE/report.py" proxy "$RESULTS" --out "$OUT_DIR/proxy.json" \
        --describe "POST /v1/chat/completions (fixed JSON) via the gateway vs nginx proxy_pass"
}

# Builds Benchmarks/curl_floor.c into $WORK; prints the binary's path, or fails (with a note)
# when no C compiler is found (the Swift toolchain's clang will do).
build_curl_floor() {
    local cc=${CC:-}
    [ -n "$cc" ] || for cc in cc gcc clang ""; do [ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1 && break; done
    if [ -z "$cc" ]; then
        echo "run.sh: note: no C compiler, the libcurl reference (curl_floor) is left out" >&2
        return 1
    fi
    "$cc" -O2 -o "$WORK/curl_floor" "$FLOOR_SRC" -lcurl -lpthread >&2 || {
        echo "run.sh: note: $FLOOR_SRC did not build, the libcurl reference is left out" >&2
        return 1
    }
    echo "$WORK/curl_floor"
}

# latency_at_one_connection SCENARIO_DIR "server pid url"...: one wrk connection, one request
# at a time, so p50 is the time one request spends in each path (-> lat-<server>.json).
latency_at_one_connection() {
    local d=$1 spec server pid url
    shift
    for spec in "$@"; do
        read -r server pid url <<<"$spec"
        BENCH_MODEL=$BENCH_MODEL BENCH_KEY=$BENCH_KEY wrk -t1 -c1 -d1s -s "$HERE/chat.lua" "$url" >/dev/null
        BENCH_MODEL=$BENCH_MODEL BENCH_KEY=$BENCH_KEY \
            $PY "$HERE/tools.py" wrk --out "$d/lat-$server.json" --label "$server, 1 connection" \
            --pids "$pid" --timeout "$WRK_TIMEOUT" -- wrk -t1 -c1 -d"$DURATION" --latency -s "$HERE/chat.lua" "$url"
    done
}

# ------------------------------------------------------------------ scenario: SSE streams (BENCH_PROXY=1)
# SSE_STREAMS concurrent streaming completions held open through Tollgate and through nginx
# (proxy_buffering off) from a Python upstream that sends one event every 0.5 s; memory of the
# front server only.
scenario_sse() {
    local d=$RESULTS/sse up np tp sample
    mkdir -p "$d"
    log "sse: $SSE_STREAMS concurrent streaming chat completions held open"
    write_method "$d" "upstream=Benchmarks/sse_upstream.py: one chat.completion.chunk every 0.5 s, 240 per stream" \
        "held=$SSE_STREAMS streams, each read to its first event and drained afterwards" \
        "memory=front server's VmRSS (process tree), largest of 3 samples 0.5 s apart" \
        "nginx_proxy=proxy_pass, proxy_buffering off, upstream keepalive 64, $WORKERS workers" \
        "tollgate=openai backend, $WORKERS workers"
    read -r up np tp <<<"$(ports 3)"

    $PY "$HERE/sse_upstream.py" --port "$up" --interval 0.5 --events 240 --max-seconds 900 \
        2>"$WORK/sse-upstream.log" &
    local upstream_pid=$!
    PIDS+=("$upstream_pid")
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$up/healthz" --expect '"ok"'

    nginx_start nginx-sse "$WORKERS" "$(nginx_proxy_server "$np" "$up" "proxy_buffering off; proxy_read_timeout 300s;")"
    local ngx=$NGINX_PID
    stream_check() {   # URL [header]: the first SSE event arrives
        sample=$(curl -sN --max-time 3 -X POST -H 'Content-Type: application/json' ${2:+-H "$2"} \
            --data '{"model":"'"$BENCH_MODEL"'","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
            "$1" 2>/dev/null || true)
        case $sample in *"data: "*) ;; *) die "no SSE event from $1 (got: ${sample:0:200})" ;; esac
    }
    $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$np/healthz" --expect '"ok"'
    stream_check "http://127.0.0.1:$np/v1/chat/completions"
    idle_mem "$d" nginx "$ngx"
    hold "$d" nginx "$ngx" "$np" sse "$SSE_STREAMS" --samples 3

    if [ "$NGINX_ONLY" != 1 ]; then
        tollgate_start tollgate-sse "$(tollgate_config "$tp" "backends:
  up: { kind: openai, url: http://127.0.0.1:$up, max_concurrency: $((SSE_STREAMS + 100)) }
models:
  $BENCH_MODEL: { task: chat, backends: [up] }" "$WORK/tollgate-sse")"
        $PY "$HERE/tools.py" wait-http "http://127.0.0.1:$TG_PORT/healthz" --expect '"ok"'
        stream_check "http://127.0.0.1:$TG_PORT/v1/chat/completions" "Authorization: Bearer $BENCH_KEY"
        idle_mem "$d" tollgate "$TG_PID"
        hold "$d" tollgate "$TG_PID" "$TG_PORT" sse "$SSE_STREAMS" --samples 3 --key "$BENCH_KEY"
        stop_pid "$TG_PID"
    fi
    stop_pid "$ngx"
    stop_pid "$upstream_pid"
    $PY "$HERE/report.py" sse "$RESULTS" --out "$OUT_DIR/sse.json" \
        --describe "$SSE_STREAMS concurrent SSE chat streams held open, memory only"
}

# ------------------------------------------------------------------ scenario: limits (BENCH_SCENARIOS=limits)
# The cost of per-user rate limits: BENCH_USERS users, every one with requests_per_minute and
# concurrent set (high enough never to refuse, so what is measured is the limiter's
# bookkeeping, not 429s), against the same users without limits, in the same run. wrk sends
# each request with the next user's key (Benchmarks/chat_keys.lua).
BENCH_USERS=${BENCH_USERS:-1000}
limits_users() {   # WITH_LIMITS(0|1) -> user lines for the end of tollgate_config's users:
    $PY - "$BENCH_USERS" "$1" <<'PY'
import sys
n, limited = int(sys.argv[1]), sys.argv[2] == "1"
limits = ", limits: { requests_per_minute: 100000000, concurrent: 100000 }" if limited else ""
for i in range(n):
    print(f'  u{i:06d}: {{ keys: ["tg-bench-user-{i:06d}-0000000000"]{limits} }}')
PY
}

scenario_limits() {
    local d=$RESULTS/limits up lp np specs=()
    mkdir -p "$d"
    log "limits: $BENCH_USERS users with requests_per_minute + concurrent vs the same users without limits"
    write_method "$d" "load=wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s Benchmarks/chat_keys.lua" \
        "users=$BENCH_USERS, each request with the next user's key" \
        "limits=requests_per_minute 100000000, concurrent 100000 (never refused)" \
        "rounds=$ROUNDS, alternating after a $WARMUP warm-up each" \
        "upstream=nginx, $UPSTREAM_WORKERS worker(s), fixed chat.completion JSON"
    read -r up lp np <<<"$(ports 3)"
    chat_upstream nginx-upstream-limits "$up"
    local upstream_pid=$NGINX_PID
    local rest="$(one_backend "$up")"
    local name with port
    for name in limits nolimits; do
        if [ $name = limits ]; then with=1 port=$lp; else with=0 port=$np; fi
        tollgate_start "tollgate-$name" "$(tollgate_config "$port" "$rest" "$WORK/tollgate-$name")
$(limits_users $with)"
        tollgate_ready tg-bench-user-000000-0000000000
        specs+=("tollgate-$name $TG_PID http://127.0.0.1:$TG_PORT/v1/chat/completions")
    done
    BENCH_USERS=$BENCH_USERS wrk_alternating "$d" "$HERE/chat_keys.lua" "${specs[@]}"
    for spec in "${specs[@]}"; do read -r name pid _ <<<"$spec"; stop_pid "$pid"; done
    stop_pid "$upstream_pid"
    AUX_PIDS=
    $PY - "$d" "$OUT_DIR/limits.json" <<'PY'
import glob, json, os, statistics, sys
d, out = sys.argv[1], sys.argv[2]
result = {}
for server in ("tollgate-limits", "tollgate-nolimits"):
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, f"wrk-{server}-*.json")))]
    rps = [r["requests_per_sec"] for r in runs]
    result[server] = {"best_rps": max(rps), "median_rps": statistics.median(rps),
                      "non_2xx": sum(r.get("non_2xx") or 0 for r in runs),
                      "p99_ms": min(r.get("p99_ms", float("inf")) for r in runs)}
ratio = result["tollgate-limits"]["best_rps"] / result["tollgate-nolimits"]["best_rps"]
result["ratio_limits_over_nolimits"] = ratio
json.dump(result, open(out, "w"), indent=1)
print(f"  limits: {result['tollgate-limits']['best_rps']:,.0f} req/s with limits, "
      f"{result['tollgate-nolimits']['best_rps']:,.0f} without: {ratio:.3f}x "
      f"(non-2xx {result['tollgate-limits']['non_2xx']} / {result['tollgate-nolimits']['non_2xx']})")
PY
}

# router_backends N UPSTREAM_PORT -> backends: lines for N openai backends on one upstream, all
# priced differently (per_second, some with a cold start, and per_request), the cheapest one,
# `r13` (per_request $0.000001), in the middle of the list so neither config order nor the first
# comparisons decide; max_concurrency high on all, so the cheapest always has room and every
# request goes to the same upstream as in the one-backend run: only the routing differs.
router_backends() {
    local n=$1 up=$2 i
    echo "backends:"
    for i in $(seq 0 $((n - 1))); do
        local name price
        name=$(printf 'r%02d' "$i")
        if [ "$i" = 13 ]; then
            price="price: { per_request: 0.000001 }, billing: per_request"
        elif [ $((i % 2)) = 0 ]; then
            price="price: { per_second: 0.000$((190 + i * 7)) }, billing: per_second$([ $((i % 4)) = 0 ] && echo ', cold_start: 20s')"
        else
            price="price: { per_request: 0.00$((20 + i)) }, billing: per_request"
        fi
        echo "  $name: { kind: openai, url: http://127.0.0.1:$up, max_concurrency: 4096, $price }"
    done
}

scenario_router() {
    local d=$RESULTS/router up op rp specs=() n=20 list
    mkdir -p "$d"
    log "router: the model on one backend vs the same model on $n priced candidates (the router picks per request)"
    write_method "$d" "load=wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s Benchmarks/chat.lua" \
        "one=the model on one openai backend" \
        "router=the model on $n openai backends (per_second, some with cold_start, and per_request, all priced differently; r13 the cheapest), max_concurrency 4096 each" \
        "rounds=$ROUNDS, alternating after a $WARMUP warm-up each" \
        "upstream=nginx, $UPSTREAM_WORKERS worker(s), fixed chat.completion JSON, the same for every backend" \
        "tollgate=$WORKERS workers"
    read -r up op rp <<<"$(ports 3)"
    chat_upstream nginx-upstream-router "$up"
    local upstream_pid=$NGINX_PID
    list=$(seq 0 $((n - 1)) | xargs printf 'r%02d, ' | sed 's/, $//')
    local one="$(one_backend "$up")"
    local many="$(router_backends "$n" "$up")
models:
  $BENCH_MODEL: { task: chat, backends: [$list] }"
    local name port rest router_port=
    for name in one router; do
        if [ $name = one ]; then port=$op rest=$one; else port=$rp rest=$many; fi
        tollgate_start "tollgate-$name" "$(tollgate_config "$port" "$rest" "$WORK/tollgate-$name")"
        tollgate_ready "$BENCH_KEY"
        [ $name = router ] && router_port=$TG_PORT
        specs+=("tollgate-$name $TG_PID http://127.0.0.1:$TG_PORT/v1/chat/completions")
    done
    wrk_alternating "$d" "$HERE/chat.lua" "${specs[@]}"
    # Where the router sent the requests (SPEC §6 tollgate_requests_total{backend}): all to
    # the cheapest, or the comparison is not the one meant.
    curl -sf "http://127.0.0.1:$router_port/metrics" >"$d/router-metrics.txt" || true
    for spec in "${specs[@]}"; do read -r name pid _ <<<"$spec"; stop_pid "$pid"; done
    stop_pid "$upstream_pid"
    AUX_PIDS=
    $PY - "$d" "$OUT_DIR/router.json" <<'PY'
import glob, json, os, re, statistics, sys
d, out = sys.argv[1], sys.argv[2]
result = {}
for server in ("tollgate-one", "tollgate-router"):
    runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, f"wrk-{server}-*.json")))]
    rps = [r["requests_per_sec"] for r in runs]
    cpu = [r["cpu_us_per_request"] for r in runs if "cpu_us_per_request" in r]
    result[server] = {"best_rps": max(rps), "median_rps": statistics.median(rps),
                      "median_cpu_us_per_request": statistics.median(cpu) if cpu else None,
                      "non_2xx": sum(r.get("non_2xx") or 0 for r in runs),
                      "max_other_cpu_share": max(r.get("other_cpu_share", 0) for r in runs),
                      "rounds_rps": rps}
one, router = result["tollgate-one"], result["tollgate-router"]
result["ratio_router_over_one"] = router["best_rps"] / one["best_rps"]
result["ratio_router_over_one_median"] = router["median_rps"] / one["median_rps"]
by_backend = {}
try:
    for line in open(os.path.join(d, "router-metrics.txt")):
        m = re.match(r'tollgate_requests_total\{(.*)\} (\S+)', line)
        b = m and re.search(r'backend="([^"]*)"', m.group(1))
        if b:
            by_backend[b.group(1)] = by_backend.get(b.group(1), 0) + float(m.group(2))
except OSError:
    pass
result["router_requests_by_backend"] = by_backend
json.dump(result, open(out, "w"), indent=1)
cpu = lambda r: f"{r['median_cpu_us_per_request']:.1f} us" if r["median_cpu_us_per_request"] else "n/a"
print(f"  router: {router['best_rps']:,.0f} req/s best ({router['median_rps']:,.0f} median, CPU/request {cpu(router)}) "
      f"with 20 candidates, {one['best_rps']:,.0f} ({one['median_rps']:,.0f}, {cpu(one)}) with one backend: "
      f"{result['ratio_router_over_one']:.3f}x best, {result['ratio_router_over_one_median']:.3f}x median "
      f"(goal >= 0.95; non-2xx {router['non_2xx']} / {one['non_2xx']})")
print("  router: requests by backend: " + (", ".join(f"{k} {v:,.0f}" for k, v in sorted(by_backend.items()))
                                          or "(no /metrics figures)"))
PY
}

# ------------------------------------------------------------------ main
$PY "$HERE/tools.py" meta --out "$RESULTS/meta.json" $([ "$NGINX_ONLY" = 1 ] || echo "--tollgate $BIN")
log "$(nproc) CPUs; wrk -t$THREADS -c$CONNECTIONS -d$DURATION x $ROUNDS rounds; results -> $OUT_DIR"
[ "$NGINX_ONLY" = 1 ] && log "nginx only: no Tollgate, no ratios"

if [ -z "$SCENARIOS" ]; then
    SCENARIOS=healthz
    [ "$PROXY" = 1 ] && SCENARIOS="healthz proxy sse"
fi
for s in $SCENARIOS; do
    case $s in
        healthz|proxy|sse|limits|router) "scenario_$s" ;;
        *) die "unknown scenario '$s' (healthz, proxy, sse, limits, router)" ;;
    esac
done
if [ ${#PROBLEMS[@]} -gt 0 ]; then
    echo
    printf 'run.sh: INCOMPLETE: %s\n' "${PROBLEMS[@]}" >&2
    exit 1
fi
