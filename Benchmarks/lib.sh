# Shared by run.sh and ab.sh: sourced after each has set HERE, PY, WORK and PIDS and defined die.

running() {   # PID exists and is not a zombie waiting to be reaped
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() {   # TERM the process and its descendants, KILL whatever is left after 5 s
    local pid=$1 tree p i
    tree="$pid $(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
    for p in $tree; do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 50); do
        local alive=0
        for p in $tree; do running "$p" && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in $tree; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
}

nginx_start() {   # NAME WORKERS SERVER_BLOCKS -> NGINX_PID
    local name=$1 workers=$2 servers=$3 dir=$WORK/$1
    mkdir -p "$dir/tmp"
    chmod 755 "$dir"
    cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $(ulimit -n);
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_timeout 75s;
    keepalive_requests 1000000;   # wrk's connections are never recycled (nor are Tollgate's)
$servers
}
EOF
    nginx -q -t -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" ||
        die "nginx rejected $dir/nginx.conf"
    nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
}

ports() { $PY "$HERE/tools.py" ports "$1" | tr '\n' ' '; }

# On any exit: stop every process in PIDS, and remove WORK unless the run failed (then its
# configs and logs are kept for a look) or BENCH_KEEP_WORK=1. Call once WORK and PIDS exist.
install_cleanup() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    set +e
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && stop_pid "$pid"; done
    if [ "${BENCH_KEEP_WORK:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 130 ] && [ $rc -ne 143 ]; }; then
        echo "${0##*/}: configs, logs and raw results kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
