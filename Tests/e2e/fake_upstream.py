"""A fake OpenAI-compatible upstream for the end-to-end tests (loopback only).

Behaviour is picked by the `model` field the gateway sends upstream:
  ok            JSON chat completion (or embeddings / completions by path)
  stream        SSE chunks, honouring stream_options.include_usage
  slow-first    sleeps `SLOW_SECONDS` before answering
  fail-500      500 with an OpenAI-style error
  fail-429      429 with Retry-After
  fail-401      401 (the gateway's credentials are wrong)
  bad-400       400 (the request's fault: passed through)
  endless       streams a chunk every 10 ms until the client goes away
  big           returns a large non-streamed body of `BIG_BYTES`
Every request is recorded (path, headers, body length, body head) for assertions.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 3.0


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.disconnects = 0
        self.streams_open = 0

    def add(self, entry):
        with self.lock:
            self.requests.append(entry)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder = None

    def log_message(self, *args):
        pass

    def _read_body(self):
        length = self.headers.get("Content-Length")
        total = 0
        head = b""
        if length is not None:
            remaining = int(length)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                if len(head) < 65536:
                    head += chunk[: 65536 - len(head)]
                total += len(chunk)
                remaining -= len(chunk)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                remaining = size
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if len(head) < 65536:
                        head += chunk[: 65536 - len(head)]
                    total += len(chunk)
                    remaining -= len(chunk)
                self.rfile.readline()
        return total, head

    def _send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        total, head = self._read_body()
        try:
            body = json.loads(head) if total == len(head) else {}
        except ValueError:
            body = {}
        model = body.get("model", "")
        if not model and head.startswith(b'{"model"'):
            model = head[10:].split(b'"')[0].decode()
        self.recorder.add({"path": self.path, "headers": dict(self.headers), "length": total,
                           "body": body, "head": head[:512]})
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if model == "slow-first":
            time.sleep(SLOW_SECONDS)
            model = "ok"
        if model == "fail-500":
            return self._send_json(500, {"error": {"message": "GPU exploded", "type": "server_error"}})
        if model == "fail-429":
            return self._send_json(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"})
        if model == "fail-401":
            return self._send_json(401, {"error": {"message": "bad key"}})
        if model == "bad-400":
            return self._send_json(400, {"error": {"message": "max_tokens too large", "type": "invalid_request_error"}})
        if model in ("big", "big-capped"):
            data = b'{"pad":"' + b"x" * (4 << 20) + b'"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.endswith("/embeddings"):
            return self._send_json(200, {"object": "list", "model": model, "usage": {"prompt_tokens": 3, "total_tokens": 3},
                                         "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}]})
        if body.get("stream") or model in ("stream", "endless"):
            return self._stream(model, body, usage)
        return self._send_json(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from upstream"},
                         "finish_reason": "stop"}],
            "usage": usage})

    def _stream(self, model, body, usage):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(payload):
            data = payload.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        with self.recorder.lock:
            self.recorder.streams_open += 1
        try:
            words = ["Hel", "lo", " from", " up", "stream"]
            i = 0
            while True:
                if model != "endless" and i >= len(words):
                    break
                word = words[i % len(words)]
                chunk("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model,
                                              "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}) + "\n\n")
                i += 1
                if model == "endless":
                    time.sleep(0.01)
            if (body.get("stream_options") or {}).get("include_usage"):
                chunk("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model,
                                              "choices": [], "usage": usage}) + "\n\n")
            chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            with self.recorder.lock:
                self.recorder.disconnects += 1
        finally:
            with self.recorder.lock:
                self.recorder.streams_open -= 1


def start():
    recorder = Recorder()
    handler = type("BoundHandler", (Handler,), {"recorder": recorder})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, recorder
