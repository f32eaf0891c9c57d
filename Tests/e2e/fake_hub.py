"""A fake Hugging Face Hub API for the end-to-end tests: a Space's runtime, pause and restart, on
loopback, in this process (the gateway reaches it through HF_ENDPOINT, huggingface_hub's own
variable).

It follows /work/shared/research/backend-protocols.md §1.6 (huggingface_hub hf_api.py
`get_space_runtime` / `pause_space` / `restart_space`, the Hub OpenAPI's stage list, the
recorded cassette test_pause_and_restart_space.yaml):

  GET  /api/spaces/<owner>/<name>/runtime  → the SpaceRuntime JSON: {"stage", "hardware",
        "storage", "gcTimeout", "replicas", "devMode", "domains"} (+ "errorMessage" when set)
  POST /api/spaces/<owner>/<name>/pause    → stage PAUSED, the runtime JSON
  POST /api/spaces/<owner>/<name>/restart  → stage BUILDING, the runtime JSON; the Space reaches
        RUNNING after `restart_polls` runtime reads (GETs that saw it not yet running) or
        `restart_seconds` seconds, whichever is given first (both None: at the next read)
Auth: `Authorization: Bearer <the space's token>`; none → 401, another token → 403 (not the
owner); an unknown Space → 404 {"error": "Repository not found"}; another path → 404.

Scripting, per Space (`hub.space("owner/name")`, a `FakeSpace`):
  stage            the current stage (any string: unknown stages are for the gateway to cope with)
  error_message    sent as "errorMessage"
  restart_polls / restart_seconds   as above [2 / None]
  fail             {"runtime" | "pause" | "restart": status}: answer that status instead
  delay_ms         {"runtime" | "pause" | "restart": ms}: hold the answer this long first
Every request is recorded as a `Call` (time, method, path, authorization, space, op), including
refused ones: `hub.calls(space=None, op=None)`.

Usage:
    hub = fake_hub.start()                       # FakeHub, port in hub.port, url in hub.url
    space = hub.add_space("owner/s", token="hf_test", stage="RUNNING")
    ...  env HF_ENDPOINT=hub.url for the gateway ...
    hub.close()
"""
import json
import threading
import time
from dataclasses import dataclass, field
from fake_server import serve
from typing import Optional
from urllib.parse import urlsplit

OPERATIONS = ("runtime", "pause", "restart")


@dataclass
class Call:
    at: float                      # time.monotonic()
    method: str
    path: str                      # with the query
    authorization: Optional[str]
    space: Optional[str]           # "owner/name" when the path names one
    op: Optional[str]              # runtime | pause | restart | None
    status: int = 0                # what the fake answered


@dataclass
class FakeSpace:
    space_id: str
    token: str
    stage: str = "RUNNING"
    error_message: Optional[str] = None
    hardware: str = "t4-small"
    restart_polls: Optional[int] = 2
    restart_seconds: Optional[float] = None
    fail: dict = field(default_factory=dict)
    delay_ms: dict = field(default_factory=dict)
    pauses: int = 0
    restarts: int = 0
    # After a restart: when it began and how many runtime reads have seen it still building.
    _restart_at: Optional[float] = None
    _polls_since_restart: int = 0

    def settle(self, now, reading):
        """Moves a restarted Space on to RUNNING once its polls or seconds are reached; `reading`
        (a runtime GET) counts as a poll when it still sees the Space building."""
        if self._restart_at is None:
            return
        done = self.restart_polls is None and self.restart_seconds is None
        if self.restart_polls is not None and self._polls_since_restart >= self.restart_polls:
            done = True
        if self.restart_seconds is not None and now - self._restart_at >= self.restart_seconds:
            done = True
        if done:
            self.stage = "RUNNING"
            self._restart_at = None
        elif reading:
            self._polls_since_restart += 1

    def runtime(self):
        """The SpaceRuntime JSON (shape of the recorded cassette)."""
        running = self.stage in ("RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING")
        body = {"stage": self.stage,
                "hardware": {"current": self.hardware if running else None, "requested": self.hardware},
                "storage": None, "gcTimeout": 3600, "replicas": {"requested": 1},
                "devMode": False,
                "domains": [{"domain": self.space_id.replace("/", "-") + ".hf.space", "stage": "READY"}]}
        if self.error_message is not None:
            body["errorMessage"] = self.error_message
        return body


class FakeHub:
    def __init__(self):
        self.lock = threading.Lock()
        self.spaces = {}
        self._calls = []
        self.server = serve(self._handle)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    # --- scripting ---------------------------------------------------------------------------

    def add_space(self, space_id, token, stage="RUNNING", **options):
        space = FakeSpace(space_id=space_id, token=token, stage=stage, **options)
        with self.lock:
            self.spaces[space_id] = space
        return space

    def space(self, space_id):
        return self.spaces[space_id]

    def set_stage(self, space_id, stage, error_message=None):
        with self.lock:
            space = self.spaces[space_id]
            space.stage = stage
            space.error_message = error_message
            space._restart_at = None

    def stage(self, space_id):
        """The stage now (a restarted Space moves on by time here too, without counting a poll)."""
        with self.lock:
            space = self.spaces[space_id]
            space.settle(time.monotonic(), reading=False)
            return space.stage

    def is_serving(self, space_id):
        """Whether the Space's app would answer a visitor now (a fake Gradio app can ask this to
        refuse while the Space is paused, asleep or starting)."""
        return self.stage(space_id) in ("RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING")

    def calls(self, space=None, op=None):
        with self.lock:
            return [c for c in self._calls
                    if (space is None or c.space == space) and (op is None or c.op == op)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # --- serving -----------------------------------------------------------------------------

    def _handle(self, handler):
        length = handler.headers.get("Content-Length")
        if length:
            handler.rfile.read(int(length))
        path = urlsplit(handler.path).path
        parts = path.strip("/").split("/")
        space_id = op = None
        if len(parts) == 5 and parts[0] == "api" and parts[1] == "spaces":
            space_id, op = parts[2] + "/" + parts[3], parts[4]
        call = Call(at=time.monotonic(), method=handler.command, path=handler.path,
                    authorization=handler.headers.get("Authorization"), space=space_id,
                    op=op if op in OPERATIONS else None)
        status, body, delay = self._answer(call)
        call.status = status
        with self.lock:
            self._calls.append(call)
        if delay:
            time.sleep(delay / 1000)
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, call):
        """(status, JSON body, delay ms) for one call; applies pause/restart."""
        with self.lock:
            space = self.spaces.get(call.space) if call.space else None
            expected = {"runtime": "GET", "pause": "POST", "restart": "POST"}.get(call.op)
            if space is None or expected is None:
                return 404, {"error": "Repository not found"}, 0
            if call.method != expected:
                return 405, {"error": "Method not allowed"}, 0
            if not call.authorization:
                return 401, {"error": "Invalid credentials in Authorization header"}, 0
            if call.authorization != f"Bearer {space.token}":
                return 403, {"error": "You don't have the rights to manage this Space"}, 0
            delay = space.delay_ms.get(call.op, 0)
            if call.op in space.fail:
                return space.fail[call.op], {"error": f"scripted failure of {call.op}"}, delay
            now = time.monotonic()
            if call.op == "pause":
                space.stage = "PAUSED"
                space._restart_at = None
                space.pauses += 1
            elif call.op == "restart":
                space.stage = "BUILDING"
                space._restart_at = now
                space._polls_since_restart = 0
                space.restarts += 1
                # No wait asked for: RUNNING at the next read, not in this answer.
            else:
                space.settle(now, reading=True)
            return 200, space.runtime(), delay


def start():
    return FakeHub()
