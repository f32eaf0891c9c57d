"""A fake Replicate HTTP API for the end-to-end tests (loopback only).

It follows the wire reference (../shared/research/backend-protocols.md §4, from
replicate-python-beta `src/replicate/types/prediction.py` and replicate-python
`replicate/prediction.py`):

  POST /v1/models/{owner}/{name}/predictions   body {"input": {...}}
  POST /v1/predictions                         body {"version": "...", "input": {...}}
  GET  /v1/predictions/{id}                    the prediction object (urls.get)
  POST /v1/predictions/{id}/cancel             (urls.cancel)
  GET  /files/{id}/{name}                      an output file (plays replicate.delivery)

`Authorization: Bearer <token>` is required on the API paths (401 problem+json otherwise).
`Prefer: wait` holds the create reply up to 60 s, `Prefer: wait=N` up to N s (1–60), until the
prediction is final; past that the object comes back not final (`starting`/`processing`).
A prediction is `starting` for `boot` seconds, `processing` for `run` seconds, then
`succeeded` or `failed` (with `error`); a cancel before that makes it `canceled`. A final
object carries `metrics.predict_time` (seconds, fractional) and `metrics.total_time`.

Behaviour comes from a Scenario registered under the model's `name` (or the version id).
Everything is recorded for assertions: creates (path, headers, body), polls per id, cancels
with their time, file fetches with their Authorization header.
"""
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "r8_fake_replicate_token_0123456789"
FINAL = ("succeeded", "failed", "canceled", "aborted")
# A tiny valid PNG (1x1, transparent), the bytes an image model's file URL serves.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


@dataclass
class Scenario:
    boot: float = 0.0          # seconds in `starting`
    run: float = 0.0           # seconds in `processing`
    status: str = "succeeded"  # the final status if not cancelled: succeeded | failed
    error: str = None          # `error` of a failed prediction
    # The output: a JSON value, or "files:<n>" for n PNG file URLs on this server, or
    # "file" for one URL (a string), or a callable (prediction id, base URL) -> value.
    output: object = None
    predict_time: float = 0.5
    # The longest this platform holds a `Prefer: wait` reply, whatever was asked (None: as
    # asked): Replicate answers not-final early when a prediction needs longer (a cold boot).
    hold: float = None
    # Refuse the create with this status and Replicate's problem+json body (402: out of
    # credit, 422: input validation, 429: rate limited with Retry-After).
    refuse: int = None
    detail: str = "refused"


@dataclass
class Prediction:
    id: str
    scenario: Scenario
    created: float
    model: str
    version: str
    input: object
    base: str
    canceled_at: float = None
    cancel_status: str = None

    def status(self, now=None):
        now = time.monotonic() if now is None else now
        if self.canceled_at is not None:
            return self.cancel_status
        elapsed = now - self.created
        if elapsed < self.scenario.boot:
            return "starting"
        if elapsed < self.scenario.boot + self.scenario.run:
            return "processing"
        return self.scenario.status

    def output(self):
        out = self.scenario.output
        if callable(out):
            return out(self.id, self.base)
        if isinstance(out, str) and out.startswith("files:"):
            return [f"{self.base}/files/{self.id}/out-{i}.png" for i in range(int(out[6:]))]
        if out == "file":
            return f"{self.base}/files/{self.id}/out-0.png"
        return out

    def to_json(self):
        status = self.status()
        obj = {
            "id": self.id, "model": self.model, "version": self.version, "input": self.input,
            "logs": "", "output": None, "error": None, "status": status,
            "created_at": "2026-11-30T10:00:00.000000Z", "started_at": None, "completed_at": None,
            "data_removed": False, "metrics": {},
            "urls": {
                "get": f"{self.base}/v1/predictions/{self.id}",
                "cancel": f"{self.base}/v1/predictions/{self.id}/cancel",
                "stream": f"{self.base}/v1/stream/{self.id}",
                "web": f"https://replicate.com/p/{self.id}",
            },
        }
        if status != "starting":
            obj["started_at"] = "2026-11-30T10:00:01.000000Z"
        if status in FINAL:
            obj["completed_at"] = "2026-11-30T10:00:02.000000Z"
        if status == "succeeded":
            obj["output"] = self.output()
            obj["metrics"] = {"predict_time": self.scenario.predict_time,
                              "total_time": self.scenario.predict_time + self.scenario.boot}
        elif status == "failed":
            obj["error"] = self.scenario.error or "prediction failed"
            obj["metrics"] = {"predict_time": self.scenario.predict_time}
        return obj


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.scenarios = {}
        self.predictions = {}
        self.creates = []        # {"path", "headers", "body", "id"}
        self.polls = {}          # id -> count
        self.cancels = {}        # id -> monotonic time of the first cancel
        self.fetches = []        # {"path", "authorization"}
        self.requests = []       # every (method, path, authorization)
        self.base = None

    def created(self, name):
        """The prediction ids created for scenario `name`, in order."""
        with self.lock:
            return [c["id"] for c in self.creates if c["scenario"] == name]


def _problem(status, title, detail):
    return status, {"title": title, "detail": detail, "status": status}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None

    def log_message(self, *args):
        pass

    def _send(self, status, obj, content_type="application/json"):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []  # joined once: a 77 MB body in 16 KiB chunks must not be copied per chunk
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(length)

    def _authorized(self):
        auth = self.headers.get("Authorization")
        with self.state.lock:
            self.state.requests.append((self.command, self.path, auth))
        if auth != f"Bearer {TOKEN}":
            self._send(*_problem(401, "Unauthenticated", "You did not pass a valid authentication token"))
            return False
        return True

    @staticmethod
    def _wait_seconds(prefer):
        """`Prefer: wait` → 60, `wait=N` → N (1–60); None when absent or malformed."""
        if prefer is None:
            return None
        m = re.fullmatch(r"\s*wait(?:\s*=\s*(\d+))?\s*", prefer)
        if not m:
            return None
        n = int(m.group(1)) if m.group(1) else 60
        return n if 1 <= n <= 60 else None

    def do_POST(self):
        state = self.state
        body = self._body()
        if not self._authorized():
            return
        m = re.fullmatch(r"/v1/predictions/([\w-]+)/cancel", self.path)
        if m:
            with state.lock:
                p = state.predictions.get(m.group(1))
                if p is None:
                    return self._send(*_problem(404, "Not found", "prediction not found"))
                state.cancels.setdefault(p.id, time.monotonic())
                if p.status() not in FINAL:
                    p.canceled_at = time.monotonic()
                    p.cancel_status = "canceled"
                obj = p.to_json()
            return self._send(200, obj)
        try:
            payload = json.loads(body)
        except ValueError:
            return self._send(*_problem(400, "Bad request", "body is not JSON"))
        m = re.fullmatch(r"/v1/models/([\w.-]+)/([\w.-]+)/predictions", self.path)
        if m:
            name, model, version = m.group(2), f"{m.group(1)}/{m.group(2)}", "hidden"
            if "version" in payload:
                return self._send(*_problem(422, "Input validation failed", "version is not allowed here"))
        elif self.path == "/v1/predictions":
            version = payload.get("version")
            if not isinstance(version, str):
                return self._send(*_problem(422, "Input validation failed", "version is required"))
            name, model = version, "someone/versioned"
        else:
            return self._send(*_problem(404, "Not found", "no such path"))
        if not isinstance(payload.get("input"), dict):
            return self._send(*_problem(422, "Input validation failed", "input must be an object"))
        with state.lock:
            scenario = state.scenarios.get(name)
        if scenario is None:
            return self._send(*_problem(404, "Not found", f"model {name} not found"))
        if scenario.refuse is not None:
            with state.lock:
                state.creates.append({"path": self.path, "headers": dict(self.headers), "body": payload,
                                      "id": None, "scenario": name})
            return self._send(*_problem(scenario.refuse, "Refused", scenario.detail))
        p = Prediction(id=uuid.uuid4().hex[:26], scenario=scenario, created=time.monotonic(), model=model,
                       version=version, input=payload["input"], base=state.base)
        with state.lock:
            state.predictions[p.id] = p
            state.creates.append({"path": self.path, "headers": dict(self.headers), "body": payload,
                                  "id": p.id, "scenario": name})
        hold = self._wait_seconds(self.headers.get("Prefer"))
        if hold is not None and scenario.hold is not None:
            hold = min(hold, scenario.hold)
        if hold is not None:
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline and p.status() not in FINAL:
                time.sleep(0.01)
        with state.lock:
            obj = p.to_json()
        self._send(201, obj)

    def do_GET(self):
        state = self.state
        m = re.fullmatch(r"/files/([\w-]+)/([\w.-]+)", self.path)
        if m:
            with state.lock:
                state.fetches.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            return self._send(200, PNG, "image/png")
        if not self._authorized():
            return
        m = re.fullmatch(r"/v1/predictions/([\w-]+)", self.path)
        if not m:
            return self._send(*_problem(404, "Not found", "no such path"))
        with state.lock:
            p = state.predictions.get(m.group(1))
            if p is None:
                return self._send(*_problem(404, "Not found", "prediction not found"))
            state.polls[p.id] = state.polls.get(p.id, 0) + 1
            obj = p.to_json()
        self._send(200, obj)


def start():
    """Starts the fake on 127.0.0.1 port 0; returns (server, state). `state.base` is its URL."""
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state
