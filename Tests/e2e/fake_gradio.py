"""A scriptable Gradio app for the hf_space end-to-end tests that need replies no real Gradio
app sends: a Space under an attacker's control (loopback only).

It speaks Gradio 6's two-step HTTP API as backend-protocols.md §1 describes it (gradio/routes.py
simple_predict_post / simple_predict_get, upload_file, file=, cancel_event):

  GET  /config                               {"version","api_prefix":"/gradio_api","dependencies"}
  POST /gradio_api/upload                    multipart, field `files` → ["<server path>"]
  POST /gradio_api/call/<api>                {"data":[…],"session_hash"} → {"event_id"}
  GET  /gradio_api/call/<api>/<event_id>     SSE: `event: <name>\\ndata: <json>\\n\\n`
  GET  /gradio_api/file=<path>               a result file
  POST /gradio_api/cancel                    {"session_hash","fn_index","event_id"}

What the stream says is the test's choice: `app.scripts[<api>]` is a callable (app, handler)
that writes the SSE body after the head (`event(handler, name, data)` writes one event). Files
are served from `app.files` (path → bytes). Every request is recorded in `app.hits` as
(method, path, headers) for assertions, and each `/call` POST's body in `app.bodies`.
"""
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/gradio_api"


def event(handler, name, data):
    """Writes one SSE event whose data is `data` (bytes are sent as they are, else JSON)."""
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    handler.wfile.write(b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n")
    handler.wfile.flush()


class FakeGradio:
    def __init__(self):
        self.scripts = {}
        self.files = {}
        self.hits = []
        self.bodies = []
        self.lock = threading.Lock()
        self.counter = 0
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def record(self):
                with app.lock:
                    app.hits.append((self.command, self.path, dict(self.headers)))

            def body(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    return self.rfile.read(length)
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        chunk = self.rfile.read(size + 2)
                        if size == 0:
                            return out
                        out += chunk[:-2]
                return b""

            def send_json(self, value, status=200):
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.record()
                if self.path == "/config":
                    deps = [{"id": i, "api_name": name} for i, name in enumerate(sorted(app.scripts))]
                    return self.send_json({"version": "6.31.0", "api_prefix": PREFIX, "protocol": "sse_v3",
                                           "dependencies": deps})
                if self.path.startswith(PREFIX + "/file="):
                    # Gradio's route takes the path percent-decoded (FastAPI's path parameter).
                    data = app.files.get(urllib.parse.unquote(self.path[len(PREFIX + "/file="):]))
                    if data is None:
                        return self.send_json({"detail": "not found"}, 404)
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if self.path.startswith(PREFIX + "/call/"):
                    api = self.path[len(PREFIX + "/call/"):].split("/")[0]
                    script = app.scripts.get(api)
                    if script is None:
                        return self.send_json({"detail": "no such api"}, 404)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    try:
                        script(app, self)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self.send_json({"detail": "not found"}, 404)

            def do_POST(self):
                self.record()
                body = self.body()
                if self.path.startswith(PREFIX + "/call/"):
                    with app.lock:
                        app.bodies.append((self.path, body))
                if self.path == PREFIX + "/upload":
                    return self.send_json(["/tmp/gradio/upload/file.bin"])
                if self.path == PREFIX + "/cancel":
                    return self.send_json({"success": True})
                if self.path.startswith(PREFIX + "/call/"):
                    with app.lock:
                        app.counter += 1
                        n = app.counter
                    return self.send_json({"event_id": f"ev{n}"})
                self.send_json({"detail": "not found"}, 404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self, method, prefix):
        with self.lock:
            return [h for h in self.hits if h[0] == method and h[1].startswith(prefix)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
