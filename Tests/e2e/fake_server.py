"""The HTTP/1.1 server every scriptable fake here runs on: loopback, port 0 (or a given one), a
thread per connection, and every method handed to one `handle(request_handler)` callable."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handle, methods=("GET", "POST", "PUT", "PATCH", "DELETE"), port=0):
    """Starts a daemon server that calls `handle(handler)` for each request; returns it (its
    `server_address[1]` is the port)."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

    for method in methods:
        setattr(Handler, "do_" + method, lambda self: handle(self))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
