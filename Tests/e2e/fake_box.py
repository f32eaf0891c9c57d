"""A scriptable OpenAI-compatible GPU box for the routing end-to-end tests (issue 12), on
loopback, in this process: one instance per gateway backend, so each backend's traffic is
counted on its own.

Routes:
  POST .../chat/completions   a chat completion whose content names the box and echoes the last
                              user message (`"<box>:<message>"`); what it answers is scripted:
                                status       200 by default; another status answers an
                                             OpenAI-style error with it
                                retry_after  sent as Retry-After with a non-200 status
                                hold         True: each request waits (up to `hold_limit` s)
                                             until the test releases it (`release(n)` /
                                             `release_all()`), so a test can keep a slot busy
                                             without sleeping
  GET  /health                answers `health_status` (200 by default), counted apart
Anything else: 404.

Every inference request is recorded in `inference` (arrival order: the message, the path,
x-request-id) and `parallel_max` is the most requests it held at once; health probes are
counted in `health_calls`. `refuse()` closes the listening socket (connect refused: the box
died) and `revive()` listens again on the same port.
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeBox:
    def __init__(self, name, hold_limit=30.0):
        self.name = name
        self.hold_limit = hold_limit
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.status = 200
        self.retry_after = None
        self.hold = False
        self.health_status = 200
        self.inference = []
        self.health_calls = 0
        self.other_calls = []
        self.in_flight = 0
        self.parallel_max = 0
        self.held = 0
        self._releases = 0
        self._server = None
        self._connections = set()
        self.port = 0
        self._listen()

    # --- serving ---------------------------------------------------------------------------

    def _listen(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with owner.lock:
                    owner._connections.add(self.connection)

            def finish(self):
                with owner.lock:
                    owner._connections.discard(self.connection)
                super().finish()

            def do_GET(self):
                owner._get(self)

            def do_POST(self):
                owner._post(self)

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    @staticmethod
    def _reply(handler, status, obj, extra=()):
        data = json.dumps(obj).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _get(self, handler):
        if handler.path.split("?")[0].endswith("/health"):
            with self.lock:
                self.health_calls += 1
                status = self.health_status
            return self._reply(handler, status, {"status": "ok" if status == 200 else "down"})
        with self.lock:
            self.other_calls.append(("GET", handler.path))
        self._reply(handler, 404, {"error": "not found"})

    def _post(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if not handler.path.split("?")[0].endswith("/chat/completions"):
            with self.lock:
                self.other_calls.append(("POST", handler.path))
            return self._reply(handler, 404, {"error": "not found"})
        try:
            body = json.loads(raw or b"{}")
            message = body["messages"][-1]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            body, message = {}, ""
        with self.cond:
            self.inference.append({"message": message, "path": handler.path,
                                   "rid": handler.headers.get("X-Request-ID", ""), "at": time.monotonic()})
            self.in_flight += 1
            self.parallel_max = max(self.parallel_max, self.in_flight)
            status, retry_after = self.status, self.retry_after
            if self.hold:
                self.held += 1
                deadline = time.monotonic() + self.hold_limit
                while self._releases == 0 and self.hold and time.monotonic() < deadline:
                    self.cond.wait(max(0.0, deadline - time.monotonic()))
                if self._releases > 0:
                    self._releases -= 1
                self.held -= 1
        try:
            if status != 200:
                extra = [("Retry-After", str(retry_after))] if retry_after is not None else []
                return self._reply(handler, status, {"error": {"message": f"{self.name} says {status}",
                                                               "type": "server_error"}}, extra)
            self._reply(handler, 200, {
                "id": "c1", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": f"{self.name}:{message}"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        finally:
            with self.lock:
                self.in_flight -= 1

    # --- scripting -------------------------------------------------------------------------

    def messages(self):
        with self.lock:
            return [r["message"] for r in self.inference]

    def count(self):
        with self.lock:
            return len(self.inference)

    def held_now(self):
        with self.lock:
            return self.held

    def release(self, n=1):
        """Lets `n` held requests answer (the longest waiting first is not promised: the test
        releases one at a time and waits for its effect)."""
        with self.cond:
            self._releases += n
            self.cond.notify_all()

    def release_all(self):
        with self.cond:
            self.hold = False
            self.cond.notify_all()

    def refuse(self):
        """The box dies: nothing listens on its port any more (connect refused), and the
        connections the gateway keeps alive to it are cut."""
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def revive(self):
        self._listen()

    def close(self):
        self.release_all()
        try:
            self._server.shutdown()
            self._server.server_close()
        except OSError:
            pass


def start(name, **options):
    return FakeBox(name, **options)
