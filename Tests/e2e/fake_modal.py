"""A fake Modal web endpoint (`https://<workspace>--<label>.modal.run`) in front of fake_http's
worker, following the reference (backend-protocols.md §3; modal.com/docs/guide/webhook-timeouts,
webhook-proxy-auth):

- Proxy auth (`requires_proxy_auth=True`): without `Modal-Key` and `Modal-Secret` →
  401 text/plain `modal-http: missing credentials for proxy authorization`; wrong ones → 401
  `modal-http: invalid credentials for proxy authorization`. Checked before the function runs.
- A call longer than the HTTP limit (`limit_seconds` here, 150 s at Modal): after the limit the
  endpoint answers **303 See Other** with `Location: <same path>?__modal_function_call_id=fc-…`
  (relative by default, or absolute); a GET of that URL blocks up to the limit again and answers
  another 303 while the call is pending (`legs` 303s in all), then the function's result.
  Re-POSTing the result URL → 400 `modal-http: bad redirect method`; an unknown call id → 404
  `modal-http: invalid function call`.
- Every response carries `Modal-Function-Call-Id: fc-…`.
`cross_origin` makes the Location point at another origin (another port on loopback).
"""
import itertools
import time
import urllib.parse

from fake_http import Worker, worker_answer

_ids = itertools.count(1)


class ModalEndpoint(Worker):
    def __init__(self, key=None, secret=None, legs=0, limit_seconds=0.3, absolute_location=False, cross_origin=None):
        self.key, self.secret = key, secret
        self.legs, self.limit_seconds = legs, limit_seconds
        self.absolute_location, self.cross_origin = absolute_location, cross_origin
        self.calls = {}  # call id → [303s still to send, (status, type, body)]
        super().__init__()

    def plain(self, handler, status, text, call_id):
        self.reply(handler, status, "text/plain; charset=utf-8", text.encode(),
                   extra=[("Modal-Function-Call-Id", call_id)] if call_id else ())

    def handle(self, handler):
        body, size, sha = self.read_request(handler)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if self.key is not None:
            if "modal-key" not in headers or "modal-secret" not in headers:
                return self.plain(handler, 401, "modal-http: missing credentials for proxy authorization", None)
            if headers["modal-key"] != self.key or headers["modal-secret"] != self.secret:
                return self.plain(handler, 401, "modal-http: invalid credentials for proxy authorization", None)
        parsed = urllib.parse.urlsplit(handler.path)
        call_id = urllib.parse.parse_qs(parsed.query).get("__modal_function_call_id", [None])[0]
        if call_id is not None:
            if handler.command != "GET":
                return self.plain(handler, 400, "modal-http: bad redirect method", call_id)
            with self.lock:
                call = self.calls.get(call_id)
            if call is None:
                return self.plain(handler, 404, "modal-http: invalid function call", call_id)
            return self.wait_or_answer(handler, parsed.path, call_id, call)
        call_id = f"fc-{next(_ids):06d}TEST"
        answer = worker_answer(handler.command, handler.path, headers, size, sha, body)
        call = [self.legs, answer]
        with self.lock:
            self.calls[call_id] = call
        self.wait_or_answer(handler, parsed.path, call_id, call)

    def wait_or_answer(self, handler, path, call_id, call):
        with self.lock:
            pending = call[0] > 0
            if pending:
                call[0] -= 1
        if not pending:
            status, content_type, data = call[1]
            return self.reply(handler, status, content_type, data, extra=[("Modal-Function-Call-Id", call_id)])
        # The web endpoint's HTTP limit passes with the call still running (the fake's stand-in
        # for 150 s of work).
        time.sleep(self.limit_seconds)
        target = f"{path}?__modal_function_call_id={call_id}"
        if self.cross_origin:
            location = f"http://localhost:{self.cross_origin}{target}"
        elif self.absolute_location:
            location = f"http://127.0.0.1:{self.port}{target}"
        else:
            location = target
        self.reply(handler, 303, "text/plain; charset=utf-8", b"", extra=[
            ("Location", location), ("Modal-Function-Call-Id", call_id)])
