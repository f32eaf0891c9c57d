#!/usr/bin/env python3
"""Open N connections to a server, keep them open, and read the server's memory meanwhile.

healthz mode (keep-alive): on each connection send `GET /healthz HTTP/1.1`, read the whole
response, keep the connection open. Then read the server's memory, then prove the connections
were still alive by sending a second request on each, then close them all.

sse mode (streams): on each connection POST a streaming chat completion and read until the
first SSE event; a task per stream keeps draining what follows (so backpressure does not change
the picture). Then read the server's memory (a few samples; the largest is kept), count the
streams still open, close them all.

Memory is that of --pids and their descendants (see tools.py). Writes one JSON file:
  {"mode", "requested", "opened", "failed", "errors", "mem_before", "mem_held",
   "per_connection_kb", "still_alive", ...}
Exits 3 (after writing the JSON) if fewer than --min-open connections (default: all) opened.
Standard library only.
"""
import argparse
import asyncio
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tools import memory  # noqa: E402


class Conn:
    __slots__ = ("reader", "writer", "drain_task", "events")

    def __init__(self, reader, writer):
        self.reader, self.writer, self.drain_task, self.events = reader, writer, None, 0


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_body(reader, headers):
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")          # no trailers expected
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    raise ValueError("response without Content-Length or chunked encoding on a keep-alive connection")


def healthz_request(args):
    return (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
            f"User-Agent: tollgate-bench\r\n\r\n").encode()


def sse_request(args):
    body = json.dumps({"model": args.model, "stream": True,
                       "messages": [{"role": "user", "content": "Count slowly."}]}).encode()
    return (f"POST {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
            f"Authorization: Bearer {args.key}\r\nContent-Type: application/json\r\n"
            f"Accept: text/event-stream\r\nUser-Agent: tollgate-bench\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def drain(conn):
    try:
        while True:
            chunk = await conn.reader.read(65536)
            if not chunk:
                return "eof"
            conn.events += chunk.count(b"data:")
    except (ConnectionError, asyncio.CancelledError):
        return "closed"


async def step(what, aw, args):
    try:
        return await asyncio.wait_for(aw, args.step_timeout)
    except asyncio.TimeoutError:
        raise RuntimeError(f"no {what} within {args.step_timeout:g}s") from None


async def open_one(args, sem, request):
    async with sem:
        reader, writer = await step("connection", asyncio.open_connection(args.host, args.port), args)
        conn = Conn(reader, writer)
        try:
            writer.write(request)
            await writer.drain()
            status, headers = await step("response head", read_head(reader), args)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
            if args.mode == "healthz":
                await step("response body", read_body(reader, headers), args)
                if headers.get("connection", "").lower() == "close":
                    raise RuntimeError("server answered Connection: close")
            else:
                await step("first SSE event", reader.readuntil(b"\n\n"), args)
                conn.events = 1
                conn.drain_task = asyncio.create_task(drain(conn))
        except BaseException:
            writer.close()
            raise
        return conn


async def still_alive_healthz(conns, args, request):
    async def probe(conn):
        try:
            conn.writer.write(request)
            await conn.writer.drain()
            status, headers = await asyncio.wait_for(read_head(conn.reader), args.step_timeout)
            await asyncio.wait_for(read_body(conn.reader, headers), args.step_timeout)
            return status == 200
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
            return False
    sem = asyncio.Semaphore(args.parallel)

    async def limited(conn):
        async with sem:
            return await probe(conn)
    return sum(await asyncio.gather(*(limited(c) for c in conns)))


async def run(args):
    request = healthz_request(args) if args.mode == "healthz" else sse_request(args)
    mem_before = memory(args.pids)
    sem = asyncio.Semaphore(args.parallel)
    t0 = time.monotonic()
    results = await asyncio.gather(*(open_one(args, sem, request) for _ in range(args.conns)),
                                   return_exceptions=True)
    open_s = time.monotonic() - t0
    conns = [r for r in results if isinstance(r, Conn)]
    errors = {}
    for r in results:
        if not isinstance(r, Conn):
            key = f"{type(r).__name__}: {r}"[:120]
            errors[key] = errors.get(key, 0) + 1

    await asyncio.sleep(args.settle)
    samples = []
    for i in range(args.samples):
        if i:
            await asyncio.sleep(args.sample_interval)
        samples.append(memory(args.pids))
    mem_held = max(samples, key=lambda m: m["rss_kb"])

    if args.mode == "healthz":
        alive = await still_alive_healthz(conns, args, request)
    else:
        alive = sum(1 for c in conns if c.drain_task is not None and not c.drain_task.done())
        events = sum(c.events for c in conns)
    for c in conns:
        if c.drain_task:
            c.drain_task.cancel()
        c.writer.close()
    await asyncio.gather(*(c.writer.wait_closed() for c in conns), return_exceptions=True)
    await asyncio.gather(*(c.drain_task for c in conns if c.drain_task), return_exceptions=True)

    opened = len(conns)
    out = {
        "mode": args.mode, "label": args.label, "requested": args.conns, "opened": opened,
        "failed": args.conns - opened, "errors": errors, "open_seconds": round(open_s, 3),
        "still_alive": alive, "mem_before": mem_before, "mem_held": mem_held,
        "rss_samples_kb": [m["rss_kb"] for m in samples],
        "per_connection_kb": ((mem_held["rss_kb"] - mem_before["rss_kb"]) / opened) if opened else None,
    }
    if args.mode == "sse":
        out["sse_events_seen"] = events
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("healthz", "sse"), default="healthz")
    ap.add_argument("--path", help="default /healthz (healthz) or /v1/chat/completions (sse)")
    ap.add_argument("--model", default="bench-model")
    ap.add_argument("--key", default="tg-bench-key-000000000000")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--min-open", type=int, help="fail below this many opened [all]")
    ap.add_argument("--parallel", type=int, default=100, help="connections being opened at once")
    ap.add_argument("--step-timeout", type=float, default=10)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between opening and measuring")
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--sample-interval", type=float, default=0.5)
    ap.add_argument("--timeout", type=float, default=120, help="bound on the whole run")
    ap.add_argument("--pids", type=int, nargs="+", required=True)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    args.path = args.path or ("/healthz" if args.mode == "healthz" else "/v1/chat/completions")

    dead = [p for p in args.pids if not os.path.exists(f"/proc/{p}")]
    if dead:
        raise SystemExit(f"hold_connections: process(es) {dead} not running")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.conns + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))

    try:
        out = asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except asyncio.TimeoutError:
        raise SystemExit(f"hold_connections: gave up after {args.timeout}s")
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    held, before = out["mem_held"]["rss_kb"], out["mem_before"]["rss_kb"]
    print(f"  {args.label or args.mode}: {out['opened']}/{out['requested']} open "
          f"({out['still_alive']} still alive at the end), RSS {before / 1024:.1f} -> {held / 1024:.1f} MiB"
          + (f" ({out['per_connection_kb']:.1f} KiB/conn)" if out["per_connection_kb"] is not None else ""))
    if out["errors"]:
        print("    errors: " + "; ".join(f"{n}x {e}" for e, n in out["errors"].items()))
    if out["opened"] < (args.min_open if args.min_open is not None else args.conns):
        print(f"hold_connections: only {out['opened']} of {args.conns} connections opened", file=sys.stderr)
        sys.exit(3)   # the JSON is written all the same


if __name__ == "__main__":
    main()
