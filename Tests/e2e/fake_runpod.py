"""A fake RunPod serverless API (queue-based endpoints) for the end-to-end tests, loopback only.

It follows /work/shared/research/backend-protocols.md §2 (runpod/docs
serverless/endpoints/operation-reference.mdx, send-requests.mdx, job-states.mdx; runpod-python
runpod/endpoint/runner.py) where the SDK's local test server (`--rp_serve_api`) cannot: a
`runsync` that answers with a NON-FINAL job when the job outlives its wait, the job states
IN_QUEUE → IN_PROGRESS → COMPLETED | FAILED | CANCELLED | TIMED_OUT, `delayTime` and
`executionTime` in milliseconds, `POST /cancel/<id>`, `GET /status/<id>` and `GET /health`.

  POST /v2/<endpoint>/runsync[?wait=ms]  {"input": …}  holds the request until the job is final
        or `wait` passes (default 90000, clamped to 1000–300000; `sync_hold_ms`, when set,
        replaces it so tests need not wait a second), then the job object.
  POST /v2/<endpoint>/run      {"input": …}  → {"id", "status": "IN_QUEUE"}
  GET  /v2/<endpoint>/status/<id>           → the job object; 404 for an unknown id
  POST /v2/<endpoint>/cancel/<id>           → {"id", "status": "CANCELLED"}
  GET  /v2/<endpoint>/health                → {"jobs": {…}, "workers": {…}}
Every route needs `Authorization: Bearer <API_KEY>` (else 401). A payload over 20 MB (runsync;
10 MB for run) gets 413 unless `max_payload` is raised for a test.

Not RunPod's: `GET /v2/<endpoint>/files/<name>` serves `files[name]` (with the same key), a
stand-in for a self-hosted worker behind `url` whose output names files on its own origin.

A job's behaviour comes from its input's `fake` member (an object, or its JSON text when the
input came from a multipart form, whose fields are strings):
  queue_ms   time IN_QUEUE (reported as delayTime)              [0]
  run_ms     time IN_PROGRESS (reported as executionTime)       [0]
  output     the output                                         [{"echo": <input without fake>}]
  fail       FAILED with this error string instead of COMPLETED
  end        "TIMED_OUT" or "CANCELLED": the platform ends the job so
  ttl_ms     the job is removed this long after its submit: /status is 404 from then on
             (send-requests.mdx: "If TTL expires while a job is running, the job is
             immediately removed and status checks return 404")
  busy_polls the first this many /status polls of the job get 429 (the rate limit's answer)
Any other input gets the echo output, or with a `file` member (a multipart upload, base64)
{"text": "<bytes> bytes sha256 <hex>"}.
"""
import base64
import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_KEY = "runpod-test-key"
RUNSYNC_LIMIT = 20 << 20
RUN_LIMIT = 10 << 20


class Job:
    def __init__(self, spec, input_value, sync):
        self.id = ("sync-" if sync else "") + str(uuid.uuid4())
        self.created = time.monotonic()
        self.queue_ms = int(spec.get("queue_ms", 0))
        self.run_ms = int(spec.get("run_ms", 0))
        self.spec = spec
        self.input = input_value
        self.cancelled_at = None
        self.worker = "fakeworker" + self.id[-6:]

    def status(self, now):
        if self.cancelled_at is not None:
            return "CANCELLED"
        elapsed = (now - self.created) * 1000
        if elapsed < self.queue_ms:
            return "IN_QUEUE"
        if elapsed < self.queue_ms + self.run_ms:
            return "IN_PROGRESS"
        if self.spec.get("end") in ("TIMED_OUT", "CANCELLED"):
            return self.spec["end"]
        return "FAILED" if "fail" in self.spec else "COMPLETED"

    def view(self, now):
        """The job object as the API shows it (job-states.mdx, flux-schnell.mdx)."""
        status = self.status(now)
        body = {"id": self.id, "status": status}
        if status == "IN_PROGRESS":
            body["delayTime"] = self.queue_ms
            body["workerId"] = self.worker
        elif status in ("COMPLETED", "FAILED"):
            body["delayTime"] = self.queue_ms
            body["executionTime"] = self.run_ms
            body["workerId"] = self.worker
            if status == "FAILED":
                body["error"] = self.spec["fail"]
            else:
                body["output"] = self.output()
        return body

    def output(self):
        if "output" in self.spec:
            return self.spec["output"]
        value = self.input if isinstance(self.input, dict) else {"value": self.input}
        if isinstance(value.get("file"), str):
            data = base64.b64decode(value["file"])
            return {"text": f"{len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}"}
        return {"echo": {k: v for k, v in value.items() if k != "fake"}}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.jobs = {}
        self.requests = []          # (method, path, headers dict, body length)
        self.cancels = {}           # job id → monotonic time of its cancel
        self.bodies = []            # the decoded JSON bodies of submits
        self.sync_hold_ms = None
        self.max_payload = None
        self.files = {}
        self.workers = {"idle": 1, "running": 0, "ready": 1, "initializing": 0, "throttled": 0, "unhealthy": 0}

    def submitted(self):
        with self.lock:
            return [r for r in self.requests if r[1].rsplit("/", 1)[-1].split("?")[0] in ("run", "runsync")]

    def polls(self, job_id):
        with self.lock:
            return [r for r in self.requests if r[1].endswith("/status/" + job_id)]

    def job_ids(self):
        with self.lock:
            return list(self.jobs)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go out in separate writes: without TCP_NODELAY the body waits for
    # the client's delayed ACK (~40 ms), which would swamp any latency measured through it.
    disable_nagle_algorithm = True
    state: State = None

    def log_message(self, *args):
        pass

    def _body(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return b""

    def _send(self, status, obj):
        data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method):
        body = self._body() if method == "POST" else b""
        url = urlsplit(self.path)
        with self.state.lock:
            self.state.requests.append((method, self.path, dict(self.headers.items()), len(body)))
        parts = url.path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "v2":
            return self._send(404, {"error": "not found"})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            # runpod-python runner.py's text for this status.
            return self._send(401, {"error": "401 Unauthorized | Make sure Runpod API key is set and valid."})
        op, rest = parts[2], parts[3:]
        if op in ("run", "runsync") and method == "POST" and not rest:
            return self._submit(op, body, parse_qs(url.query))
        if op == "status" and method == "GET" and len(rest) == 1:
            return self._status(rest[0])
        if op == "cancel" and method == "POST" and len(rest) == 1:
            return self._cancel(rest[0])
        if op == "health" and method == "GET" and not rest:
            return self._health()
        if op == "files" and method == "GET" and len(rest) == 1 and rest[0] in self.state.files:
            data = self.state.files[rest[0]]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return self.wfile.write(data)
        return self._send(404 if method in ("GET", "POST") else 405, {"error": "not found"})

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _submit(self, op, body, query):
        limit = self.state.max_payload or (RUNSYNC_LIMIT if op == "runsync" else RUN_LIMIT)
        if len(body) > limit:
            return self._send(413, {"error": "payload too large"})
        try:
            request = json.loads(body)
        except ValueError:
            return self._send(400, {"error": "invalid JSON"})
        if not isinstance(request, dict) or "input" not in request:
            return self._send(400, {"error": "missing input"})
        with self.state.lock:
            self.state.bodies.append(request)
        value = request["input"]
        spec = value.get("fake", {}) if isinstance(value, dict) else {}
        if isinstance(spec, str):
            spec = json.loads(spec)
        job = Job(spec, value, op == "runsync")
        with self.state.lock:
            self.state.jobs[job.id] = job
        if op == "run":
            return self._send(200, {"id": job.id, "status": "IN_QUEUE"})
        wait = int(query.get("wait", ["90000"])[0])
        wait = min(max(wait, 1000), 300000)
        if self.state.sync_hold_ms is not None:
            wait = self.state.sync_hold_ms
        deadline = time.monotonic() + wait / 1000
        while job.status(time.monotonic()) in ("IN_QUEUE", "IN_PROGRESS") and time.monotonic() < deadline:
            time.sleep(0.005)
        view = job.view(time.monotonic())
        if view["status"] in ("IN_QUEUE", "IN_PROGRESS"):
            # operation-reference.mdx: a job that does not finish within the wait comes back
            # with its id and a non-final status, to be polled at /status.
            view = {"id": job.id, "status": view["status"]}
        return self._send(200, view)

    def _status(self, job_id):
        with self.state.lock:
            job = self.state.jobs.get(job_id)
            if job is not None and "ttl_ms" in job.spec and (time.monotonic() - job.created) * 1000 >= job.spec["ttl_ms"]:
                del self.state.jobs[job_id]
                job = None
            busy = job is not None and job.spec.get("busy_polls", 0) > 0
            if busy:
                job.spec["busy_polls"] -= 1
        if job is None:
            return self._send(404, {"error": "job not found"})
        if busy:
            return self._send(429, {"error": "rate limited"})
        return self._send(200, job.view(time.monotonic()))

    def _cancel(self, job_id):
        with self.state.lock:
            job = self.state.jobs.get(job_id)
            if job is None:
                return self._send(404, {"error": "job not found"})
            self.state.cancels[job_id] = time.monotonic()
            if job.status(time.monotonic()) in ("IN_QUEUE", "IN_PROGRESS"):
                job.cancelled_at = time.monotonic()
        return self._send(200, {"id": job_id, "status": "CANCELLED"})

    def _health(self):
        now = time.monotonic()
        with self.state.lock:
            statuses = [j.status(now) for j in self.state.jobs.values()]
            workers = dict(self.state.workers)
        jobs = {"completed": statuses.count("COMPLETED"), "failed": statuses.count("FAILED"),
                "inProgress": statuses.count("IN_PROGRESS"), "inQueue": statuses.count("IN_QUEUE"), "retried": 0}
        return self._send(200, {"jobs": jobs, "workers": workers})


def start():
    state = State()
    handler = type("BoundRunPodHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state
