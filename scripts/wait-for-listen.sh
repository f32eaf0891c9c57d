#!/usr/bin/env bash
# Waits until a `tollgate serve` started in the background prints its
# "tollgate: listening on HOST:PORT" line to stderr, then prints HOST:PORT on stdout.
#
#   tollgate serve --config c.yaml >/dev/null 2>tg.err & pid=$!
#   addr=$(scripts/wait-for-listen.sh tg.err "$pid" 30)   # -> 127.0.0.1:41234
#
# Exits 1 (with the log's tail on stderr) if the process dies first or TIMEOUT seconds
# (default 30) pass. With `listen: 127.0.0.1:0` the printed port is the real one.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 STDERR_LOG PID [TIMEOUT_SECONDS]" >&2; exit 2; }
log=$1 pid=$2 timeout=${3:-30}
deadline=$(( $(date +%s) + timeout ))
while :; do
    if [ -f "$log" ]; then
        addr=$(grep -m1 -oE 'listening on [^[:space:]]+' "$log" | sed 's/^listening on //' || true)
        if [ -n "$addr" ]; then echo "$addr"; exit 0; fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "wait-for-listen: process $pid exited before listening; last lines of $log:" >&2
        tail -n 20 "$log" >&2 2>/dev/null || true
        exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "wait-for-listen: no 'listening on' from process $pid within ${timeout}s; last lines of $log:" >&2
        tail -n 20 "$log" >&2 2>/dev/null || true
        exit 1
    fi
    sleep 0.1
done
