"""An OpenAI-ish upstream over TLS for the end-to-end tests, served by hypercorn (HTTP/2 and
HTTP/1.1 by ALPN) on a listening socket the test passes in, with a certificate from the test's
CA (trustme). Run as a script:

    python3 tls_upstream.py FD CERT_AND_KEY_PEM ALPN   (ALPN: "h2,http/1.1" or "http/1.1")

Prints "ready" once serving. Behaviour by the end of the `model` field of a chat request:
  ok          a chat completion whose `system_fingerprint` is the HTTP version used ("2", "1.1")
  stream      five SSE chunks, a usage chunk and [DONE]; the first chunk names the HTTP version
  big-stream  BIG_STREAM_BYTES of SSE events, as fast as flow control lets them go
/modal/...: a Modal long call, 303 then the result on GET (recorded in `modal`).
POST .../v1/embeddings reads a body of any size as it arrives and records its length, sha256
and HTTP version in `uploads`.
GET /stats answers {"sent": bytes of big-stream bodies handed to the server so far,
"http_versions": [...], "disconnects": n, "uploads": [...]}.
"""
import asyncio
import hashlib
import json
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config

BIG_STREAM_BYTES = 64 << 20
EVENT = b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": "x" * 16000}}]}).encode() + b"\n\n"

stats = {"sent": 0, "http_versions": [], "clients": [], "disconnects": 0, "uploads": [], "modal": []}


async def read_body(receive):
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def send_json(send, status, obj):
    data = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def upload(scope, receive, send):
    """An embeddings request of any size, read as it arrives: its length and sha256 recorded
    with the HTTP version, never held."""
    digest, size = hashlib.sha256(), 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            stats["disconnects"] += 1
            return
        piece = message.get("body", b"")
        digest.update(piece)
        size += len(piece)
        if not message.get("more_body"):
            break
    stats["http_versions"].append(scope["http_version"])
    stats["uploads"].append({"http_version": scope["http_version"], "bytes": size, "sha256": digest.hexdigest()})
    await send_json(send, 200, {"object": "list", "model": "e", "usage": {"prompt_tokens": 1, "total_tokens": 1},
                                "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}]})


async def modal(scope, receive, send):
    """A Modal web endpoint's long call (fake_modal.py has the full behaviour): the POST is
    answered 303 to `?__modal_function_call_id=fc-…` on the same path, its GET with the result."""
    await read_body(receive)
    version = scope["http_version"]
    stats["http_versions"].append(version)
    stats["modal"].append({"method": scope["method"], "query": scope["query_string"].decode(), "http_version": version,
                           "modal_key": dict(scope["headers"]).get(b"modal-key", b"").decode()})
    if b"__modal_function_call_id=" not in scope["query_string"]:
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", b"?__modal_function_call_id=fc-01TLS"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send_json(send, 200, {
        "id": "c1", "object": "chat.completion", "model": "m", "system_fingerprint": version,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "from modal"}, "finish_reason": "stop"}]})


def chunk(version, content=None, usage=None):
    obj = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "system_fingerprint": version,
           "choices": [] if usage else [{"index": 0, "delta": {"content": content}}]}
    if usage:
        obj["usage"] = usage
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    version = scope["http_version"]
    if scope["path"] == "/stats":
        await send_json(send, 200, stats)
        return
    if scope["path"].startswith("/modal/"):
        await modal(scope, receive, send)
        return
    if scope["path"].endswith("/v1/embeddings"):
        await upload(scope, receive, send)
        return
    body = await read_body(receive)
    if body is None:
        stats["disconnects"] += 1
        return
    stats["http_versions"].append(version)
    stats["clients"].append(list(scope.get("client") or []))
    model = json.loads(body).get("model", "")
    if model.endswith("big-stream"):
        model = "big-stream"
    elif model.endswith("stream"):
        model = "stream"
    if model.endswith("ok"):
        await send_json(send, 200, {
            "id": "c1", "object": "chat.completion", "model": "m", "system_fingerprint": version,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "over tls"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    try:
        if model == "stream":
            for i in range(5):
                await send({"type": "http.response.body", "body": chunk(version, f"t{i}"), "more_body": True})
            await send({"type": "http.response.body", "more_body": True,
                        "body": chunk(version, usage={"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8})})
        elif model == "big-stream":
            sent = 0
            while sent < BIG_STREAM_BYTES:
                await send({"type": "http.response.body", "body": EVENT, "more_body": True})
                sent += len(EVENT)
                stats["sent"] += len(EVENT)
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
    except Exception:  # the gateway went away mid-stream
        stats["disconnects"] += 1


def main():
    fd, pem, alpn = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.certfile = pem
    config.keyfile = pem
    config.alpn_protocols = alpn.split(",")
    config.accesslog = None
    config.errorlog = None
    # Keep the server's own buffering small, so what piles up is the gateway's.
    config.h2_max_inbound_frame_size = 1 << 14
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    print("ready", flush=True)
    loop.run_until_complete(serve(app, config))


if __name__ == "__main__":
    main()
