"""A fake `http`-kind backend for the end-to-end tests: what an operator's own worker (a FastAPI
app on a GPU box behind a tunnel) answers, on loopback, in this process.

Routes (any path prefix before them is the backend's `url` path, kept in the record):
  .../v1/chat/completions   a chat completion naming the path it was called on; `"stream": true`
                            gives three SSE chunks and [DONE]
  .../v1/embeddings         one embedding
  .../v1/audio/transcriptions  reads the body as it streams and answers
                            {"text", "bytes", "sha256", "content_type"}
  .../v1/audio/diarization  a diarization result: `segments` (start/end as strings, like
                            thomasmol/whisper-diarization on Replicate) or, when the path holds
                            "/pyannote", pyannoteAI's `{"output": {"diarization": [...]}}` shape
                            reduced to `{"diarization": [...]}`; "/not-diarization" answers {"ok":1}
  anything else             {"path", "query", "bytes", "sha256", "content_type"} (the /v1/run rest)
Every request is recorded: method, path with query, lowercased headers, body length, sha256.
"""
import hashlib
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_body(handler):
    """The body's length and sha256, read in pieces (Content-Length or chunked); never held."""
    digest, total = hashlib.sha256(), 0
    length = handler.headers.get("Content-Length")
    if length is not None:
        remaining = int(length)
        while remaining:
            piece = handler.rfile.read(min(remaining, 1 << 20))
            if not piece:
                break
            digest.update(piece)
            total += len(piece)
            remaining -= len(piece)
    elif handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            remaining = size
            while remaining:
                piece = handler.rfile.read(min(remaining, 1 << 20))
                digest.update(piece)
                total += len(piece)
                remaining -= len(piece)
            handler.rfile.readline()
    return total, digest.hexdigest()


def worker_answer(method, target, headers, size, sha, body_head):
    """(status, content type, body bytes) the worker answers to a request."""
    parsed = urllib.parse.urlsplit(target)
    path = parsed.path
    if path.endswith("/v1/chat/completions"):
        request = json.loads(body_head or b"{}")
        if request.get("stream"):
            chunks = [{"id": "c1", "object": "chat.completion.chunk", "model": request.get("model"),
                       "choices": [{"index": 0, "delta": {"content": f"p{i}"}}]} for i in range(3)]
            data = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
            return 200, "text/event-stream", data
        return 200, "application/json", json.dumps({
            "id": "c1", "object": "chat.completion", "model": request.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"{method} {path}"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}).encode()
    if path.endswith("/v1/embeddings"):
        return 200, "application/json", json.dumps({
            "object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
            "model": "e", "usage": {"prompt_tokens": 2, "total_tokens": 2}}).encode()
    if path.endswith("/v1/audio/transcriptions"):
        return 200, "application/json", json.dumps({
            "text": "thirty minutes of speech", "bytes": size, "sha256": sha,
            "content_type": headers.get("content-type")}).encode()
    if path.endswith("/v1/audio/diarization"):
        if "/not-diarization" in path:
            return 200, "application/json", b'{"ok":1}'
        if "/pyannote" in path:
            return 200, "application/json", json.dumps({"diarization": [
                {"speaker": "SPEAKER_01", "start": 4.5, "end": 9.25},
                {"speaker": "SPEAKER_00", "start": 0.5, "end": 4.2}]}).encode()
        return 200, "application/json", json.dumps({"segments": [
            {"start": "0.50", "end": "4.20", "speaker": "SPEAKER_00", "text": "hello"},
            {"start": "4.50", "end": "9.25", "speaker": "SPEAKER_01", "text": "hi"}]}).encode()
    return 200, "application/json", json.dumps({
        "path": path, "query": parsed.query, "bytes": size, "sha256": sha,
        "content_type": headers.get("content-type")}).encode()


class Worker:
    """The worker on a ThreadingHTTPServer on 127.0.0.1 port 0, in a daemon thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.handle(self)

            def do_GET(self):
                owner.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, handler, size, sha):
        entry = {"method": handler.command, "path": handler.path,
                 "headers": {k.lower(): v for k, v in handler.headers.items()}, "bytes": size, "sha256": sha}
        with self.lock:
            self.seen.append(entry)
        return entry

    def requests(self):
        with self.lock:
            return list(self.seen)

    def read_request(self, handler):
        """Reads and records the body; returns it if small (≤ 1 MiB, kept for the answer), else b""."""
        small = int(handler.headers.get("Content-Length") or -1)
        if 0 <= small <= 1 << 20:
            body = handler.rfile.read(small)
            size, sha = len(body), hashlib.sha256(body).hexdigest()
        else:
            body, (size, sha) = b"", read_body(handler)
        self.record(handler, size, sha)
        return body, size, sha

    def handle(self, handler):
        """Reads the body (small JSON bodies kept for the answer), answers as the worker."""
        body, size, sha = self.read_request(handler)
        self.reply(handler, *worker_answer(handler.command, handler.path,
                                           {k.lower(): v for k, v in handler.headers.items()}, size, sha, body))

    @staticmethod
    def reply(handler, status, content_type, data, extra=()):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
