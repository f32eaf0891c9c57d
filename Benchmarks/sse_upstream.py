#!/usr/bin/env python3
"""A fake OpenAI-compatible upstream for the streaming benchmark (standard library only).

POST .../chat/completions with "stream": true -> text/event-stream (chunked), one
chat.completion.chunk event every --interval seconds, --events of them, then a usage chunk and
`data: [DONE]`. Without "stream" -> one fixed chat.completion JSON. GET /healthz -> ok.
HTTP/1.1 keep-alive; request bodies by Content-Length or chunked. It serves nothing but what a
benchmark on this machine sends it and exits by itself after --max-seconds.

    sse_upstream.py --port 18090 [--interval 0.5] [--events 240] [--max-seconds 900]
"""
import argparse
import asyncio
import json
import sys

FIXED = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench upstream."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
}, separators=(",", ":")).encode()


def chunk_event(payload):
    data = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def delta(i, model):
    return json.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                       "model": model, "choices": [{"index": 0, "delta": {"content": f"tok{i} "},
                                                    "finish_reason": None}]},
                      separators=(",", ":")).encode()


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    return method, path, headers, body


def plain(status, body, ctype=b"application/json"):
    return (b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (status, ctype, len(body))) + body


async def handle(reader, writer, args):
    try:
        while True:
            try:
                method, path, headers, body = await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            path = path.split("?", 1)[0]
            if method == "GET" and path in ("/healthz", "/health"):
                writer.write(plain(b"200 OK", b'{"status":"ok"}'))
            elif method == "POST" and path.endswith("/chat/completions"):
                try:
                    req = json.loads(body or b"{}")
                except ValueError:
                    writer.write(plain(b"400 Bad Request", b'{"error":"bad json"}'))
                    await writer.drain()
                    continue
                if not req.get("stream"):
                    writer.write(plain(b"200 OK", FIXED))
                else:
                    model = str(req.get("model", "bench-model"))
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
                    for i in range(args.events):
                        writer.write(chunk_event(delta(i, model)))
                        await writer.drain()
                        await asyncio.sleep(args.interval)
                    final = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                                        "created": 1700000000, "model": model,
                                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                                        "usage": {"prompt_tokens": 9, "completion_tokens": args.events,
                                                  "total_tokens": 9 + args.events}},
                                       separators=(",", ":")).encode()
                    writer.write(chunk_event(final) + chunk_event(b"[DONE]") + b"0\r\n\r\n")
            else:
                writer.write(plain(b"404 Not Found", b'{"error":"not found"}'))
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main_async(args):
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.port,
                                        backlog=4096, limit=1 << 20)
    print(f"sse_upstream: listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    async with server:
        await asyncio.sleep(args.max_seconds)
    print("sse_upstream: --max-seconds reached, exiting", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between events")
    ap.add_argument("--events", type=int, default=240, help="events per stream")
    ap.add_argument("--max-seconds", type=float, default=900, help="exit after this long")
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
