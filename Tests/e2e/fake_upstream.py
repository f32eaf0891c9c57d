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
  big           returns a large non-streamed body (4 MiB)
  big9          a non-streamed body over 9 MiB (more than the gateway holds for its figures);
                big9-chunked the same without a Content-Length
  huge          returns `HUGE_BYTES` (256 MiB) in 1 MiB writes, counting what it sent per request
                (`sent`): more than any buffer on the way, so only backpressure keeps it bounded
  slow-read     (as /as/slow-read) reads the request body at about 50 MB/s, slower than a
                client on loopback sends it: the gateway must pause the client's upload
  early-sse     (as /as/early-sse) answers an SSE head and one event before reading the body,
                then reads it to its end (or the gateway giving up) and ends the stream
  fail-403, fail-503           403 / 503 with an OpenAI-style error
  echo-auth-500, echo-auth-429 the error message repeats the request's Authorization header
  echo-auth-400 a 400 that repeats it, sent in 3-byte chunks (a secret split across chunks)
  leaky         200 JSON with headers an upstream may send but a client must not see
  cl-and-chunked  200 with both Content-Length and Transfer-Encoding: chunked
  bad-header    200 whose Content-Type carries a bare CR and Cache-Control a control byte
  head-then-reset  200 chunked head, then the connection closes before any body byte
  partial-then-reset  200 with Content-Length 1000, 100 bytes, then the connection closes
  stream-then-reset   two SSE events, then the connection closes mid-stream
  paced         SSE, 100 ms between chunks (for the metering comment's gpu_seconds)
A base URL ending in /as/<behaviour> picks the behaviour instead of the model.
Every request is recorded (path, headers, body length, sha256, body head, x-request-id) for
assertions; `parallel` counts requests in flight per x-request-id, `waits_cancelled` the
slow-first requests whose client (the gateway) went away while they waited.
"""
import hashlib
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 3.0
HUGE_BYTES = 256 << 20


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.disconnects = 0
        self.streams_open = 0
        self.waits_cancelled = 0
        self.disconnected = set()
        self.active = {}
        self.max_parallel = {}
        self.sent = {}

    def add(self, entry):
        with self.lock:
            self.requests.append(entry)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    def for_request(self, request_id):
        with self.lock:
            return [r for r in self.requests if r["rid"] == request_id]

    def enter(self, request_id, sock):
        """Counts the requests of `request_id` whose connection is still open. An earlier one
        is asked directly (a peek that sees its EOF), not by whether its handler thread has
        noticed yet: the gateway closes an abandoned attempt before it starts the next, and on
        loopback that FIN is queued before the next request arrives, so the count is exact."""
        with self.lock:
            live = [s for s in self.active.get(request_id, []) if self._open(s)]
            live.append(sock)
            self.active[request_id] = live
            self.max_parallel[request_id] = max(self.max_parallel.get(request_id, 0), len(live))

    def leave(self, request_id, sock):
        with self.lock:
            self.active[request_id] = [s for s in self.active.get(request_id, []) if s is not sock]

    @staticmethod
    def _open(sock):
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder = None

    def log_message(self, *args):
        pass

    def _read_body(self):
        length = self.headers.get("Content-Length")
        total = 0
        head = b""
        self.body_sha = hashlib.sha256()
        if length is not None:
            remaining = int(length)
            slow = self.path.startswith("/as/slow-read")
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 256 << 10 if slow else 1 << 20))
                if not chunk:
                    break
                if slow:
                    time.sleep(0.005)   # a slow consumer: ~50 MB/s
                self.body_sha.update(chunk)
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
                    self.body_sha.update(chunk)
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
        if self.path.startswith("/as/early-sse"):
            return self._early_sse()
        total, head = self._read_body()
        try:
            body = json.loads(head) if total == len(head) else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}  # /v1/run passes any JSON document (an array, a string) as it is
        model = body.get("model", "")
        if not model and head.startswith(b'{"model"'):
            model = head[10:].split(b'"')[0].decode()
        if self.path.startswith("/as/"):
            # A base URL of {upstream}/as/<behaviour> picks the behaviour without renaming the
            # model, so a replayed body can be compared byte for byte.
            model = self.path.split("/")[2]
        rid = self.headers.get("X-Request-ID", "")
        self.recorder.add({"path": self.path, "headers": dict(self.headers), "length": total,
                           "body": body, "head": head[:512], "sha": self.body_sha.hexdigest(), "rid": rid,
                           "model": model})
        self.recorder.enter(rid, self.connection)
        try:
            self._answer(model, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True   # the gateway went away (capped, cancelled): expected
        finally:
            self.recorder.leave(rid, self.connection)

    def _early_sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        event = b'data: {"choices":[{"index":0,"delta":{"content":"early"}}]}\n\n'
        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.flush()
        try:
            self._read_body()
            done = b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
        except (BrokenPipeError, ConnectionResetError, ValueError):
            self.close_connection = True

    def _client_gone_within(self, seconds):
        """Waits up to `seconds`; True as soon as the client (the gateway) closes the connection."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], max(0.0, min(0.05, deadline - time.monotonic())))
            if ready:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
        return False

    def _raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def _answer(self, model, body):
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        auth = self.headers.get("Authorization", "")
        if model == "slow-first":
            if self._client_gone_within(SLOW_SECONDS):
                with self.recorder.lock:
                    self.recorder.waits_cancelled += 1
                self.close_connection = True
                return
            model = "ok"
        if model == "fail-500":
            return self._send_json(500, {"error": {"message": "GPU exploded", "type": "server_error"}})
        if model == "fail-503":
            return self._send_json(503, {"error": {"message": "loading model", "type": "server_error"}})
        if model == "fail-429":
            return self._send_json(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"})
        if model == "fail-401":
            return self._send_json(401, {"error": {"message": "bad key"}})
        if model == "fail-403":
            return self._send_json(403, {"error": {"message": "forbidden for this project"}})
        if model == "echo-auth-500":
            return self._send_json(500, {"error": {"message": f"upstream failed for header Authorization: {auth}"}})
        if model == "echo-auth-429":
            return self._send_json(429, {"error": {"message": f"rate limited key {auth}"}}, {"Retry-After": "3"})
        if model == "echo-auth-400":
            data = json.dumps({"error": {"message": f"bad request from {auth}; key {auth[7:]}",
                                         "type": "invalid_request_error"}}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Retry-After", "5")
            self.send_header("OpenAI-Organization", "org-secret-123")
            self.end_headers()
            # Three bytes per chunk, each flushed and apart in time, so the gateway sees the
            # key in pieces.
            for i in range(0, len(data), 3):
                piece = data[i:i + 3]
                self._raw(b"%x\r\n%s\r\n" % (len(piece), piece))
                time.sleep(0.002)
            self._raw(b"0\r\n\r\n")
            return
        if model == "bad-400":
            return self._send_json(400, {"error": {"message": "max_tokens too large", "type": "invalid_request_error"}})
        if model == "leaky":
            return self._send_json(200, {"id": "x", "object": "chat.completion", "choices": [], "usage": usage}, {
                "OpenAI-Organization": "org-secret-123", "OpenAI-Project": "proj_abc", "OpenAI-Processing-Ms": "12",
                "X-RateLimit-Limit-Requests": "10000", "X-RateLimit-Remaining-Tokens": "5",
                "Set-Cookie": "__cf_bm=abc; path=/", "Retry-After": "3", "X-Upstream-Secret": "s",
                "Cache-Control": "no-store", "Content-Disposition": "inline"})
        if model == "cl-and-chunked":
            data = b'{"object":"chat.completion","pad":"' + b"y" * 64 + b'"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "5")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._raw(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            return
        if model == "bad-header":
            data = b'{"object":"chat.completion"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json\rX-Injected: yes")
            self.send_header("Cache-Control", "no-\x01store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self._raw(data)
            return
        if model == "head-then-reset":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            time.sleep(0.05)
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if model == "partial-then-reset":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self._raw(b'{"pad":"' + b"z" * 92)
            time.sleep(0.05)
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if model == "huge":
            rid = self.headers.get("X-Request-ID", "")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            block = b"h" * (1 << 20)
            for _ in range(HUGE_BYTES // len(block)):
                self.wfile.write(block)
                with self.recorder.lock:
                    self.recorder.sent[rid] = self.recorder.sent.get(rid, 0) + len(block)
            return
        if model in ("big9", "big9-chunked"):
            data = b'{"pad":"' + b"n" * (9 << 20) + b'"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if model == "big9":
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 1 << 20):
                piece = data[i:i + (1 << 20)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
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
        if body.get("stream") or model in ("stream", "endless", "stream-then-reset", "paced"):
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
                if model == "paced":
                    time.sleep(0.1)
                if model == "stream-then-reset" and i == 2:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
            if (body.get("stream_options") or {}).get("include_usage"):
                chunk("data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model,
                                              "choices": [], "usage": usage}) + "\n\n")
            chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            with self.recorder.lock:
                self.recorder.disconnects += 1
                self.recorder.disconnected.add(self.headers.get("X-Request-ID", ""))
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
