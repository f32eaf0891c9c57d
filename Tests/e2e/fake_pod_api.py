"""A fake pod management API for the end-to-end tests (the target of an `idle: {action: http}`
call), on loopback, in this process. It follows RunPod's REST API for pods
(/work/shared/research/backend-protocols.md §2.5: base https://rest.runpod.io/v1, bearer auth):

  POST /v1/pods/<id>/stop    → 200 {"id", "desiredStatus": "EXITED"}
  POST /v1/pods/<id>/start   → 200 {"id", "desiredStatus": "RUNNING"}
  GET  /v1/pods/<id>         → 200 {"id", "desiredStatus", "costPerHr"}
An unknown pod → 400 "Invalid Pod ID."; no or another key → 401. Any other method or path
(an idle call may be configured as GET, PUT, PATCH or DELETE anywhere) → 404, recorded all
the same.

The pod's own worker (what a pod serves while it runs), for a gateway backend `url`
`<fake>/proxy/<id>`: `/proxy/<id>/...` answers as fake_http's worker (chat completions,
embeddings, ...) while the pod is RUNNING; while EXITED it answers 502 (the proxy in front of a
stopped pod) — unless `wake_on_request` is set, in which case the request starts the pod (a box
whose next request wakes it: the `http` action has no wake call) and is answered.

Scripting, per pod (`api.add_pod(id)`, a `FakePod`): `status`, `fail` ({"stop"|"start"|"get":
status}), `delay_ms` ({"stop"|...: ms}), `wake_on_request`. Counters: `stops`, `starts`,
`wakes_by_request`. Every request is recorded as a `Call` (time, method, path with query,
lowercased headers, pod, op, status): `api.calls(pod=None, op=None)`; worker requests have op
"proxy".

Usage:
    api = fake_pod_api.start()      # FakePodAPI, port in api.port, url in api.url
    pod = api.add_pod("p1")
    ... idle: {after: 1s, action: http, request: {url: api.url + "/v1/pods/p1/stop",
               headers: {Authorization: "Bearer " + fake_pod_api.API_KEY}}} ...
    api.close()
"""
import json
import threading
import time
from dataclasses import dataclass, field
from fake_server import serve
from typing import Optional
from urllib.parse import urlsplit

from fake_http import worker_answer

API_KEY = "pod-api-test-key"


@dataclass
class Call:
    at: float
    method: str
    path: str
    headers: dict
    pod: Optional[str]
    op: Optional[str]              # stop | start | get | proxy | None
    status: int = 0


@dataclass
class FakePod:
    pod_id: str
    status: str = "RUNNING"        # RUNNING | EXITED
    cost_per_hr: float = 0.44
    wake_on_request: bool = False
    fail: dict = field(default_factory=dict)
    delay_ms: dict = field(default_factory=dict)
    stops: int = 0
    starts: int = 0
    wakes_by_request: int = 0

    def view(self):
        return {"id": self.pod_id, "desiredStatus": self.status, "costPerHr": self.cost_per_hr}


class FakePodAPI:
    def __init__(self, api_key=API_KEY):
        self.api_key = api_key
        self.lock = threading.Lock()
        self.pods = {}
        self._calls = []
        self.server = serve(self._handle)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def add_pod(self, pod_id, **options):
        pod = FakePod(pod_id=pod_id, **options)
        with self.lock:
            self.pods[pod_id] = pod
        return pod

    def pod(self, pod_id):
        return self.pods[pod_id]

    def calls(self, pod=None, op=None):
        with self.lock:
            return [c for c in self._calls if (pod is None or c.pod == pod) and (op is None or c.op == op)]

    def stop_calls(self, pod=None):
        return self.calls(pod=pod, op="stop")

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, handler):
        length = handler.headers.get("Content-Length")
        body = handler.rfile.read(int(length)) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        parts = urlsplit(handler.path).path.strip("/").split("/")
        pod_id = op = None
        if len(parts) >= 2 and parts[0] == "proxy":
            pod_id, op = parts[1], "proxy"
        elif len(parts) == 4 and parts[:2] == ["v1", "pods"] and parts[3] in ("stop", "start") and handler.command == "POST":
            pod_id, op = parts[2], parts[3]
        elif len(parts) == 3 and parts[:2] == ["v1", "pods"] and handler.command == "GET":
            pod_id, op = parts[2], "get"
        call = Call(at=time.monotonic(), method=handler.command, path=handler.path, headers=headers, pod=pod_id, op=op)
        status, content_type, data, delay = self._answer(call, headers, body)
        call.status = status
        with self.lock:
            self._calls.append(call)
        if delay:
            time.sleep(delay / 1000)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, call, headers, body):
        """(status, content type, body, delay ms)."""
        def js(status, obj, delay=0):
            return status, "application/json", json.dumps(obj).encode(), delay

        with self.lock:
            pod = self.pods.get(call.pod) if call.pod else None
            if call.op == "proxy":
                if pod is None:
                    return js(404, {"error": "no such pod"})
                if pod.status != "RUNNING":
                    if not pod.wake_on_request:
                        return js(502, {"error": "pod is not running"})
                    pod.status = "RUNNING"
                    pod.wakes_by_request += 1
                rest = call.path.split("/", 3)[3] if call.path.count("/") >= 3 else ""
                status, content_type, data = worker_answer(call.method, "/" + rest, headers, len(body), "", body)
                return status, content_type, data, 0
            if call.op is None:
                return js(404, {"error": "not found"})
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return js(401, {"error": "Unauthorized"})
            if pod is None:
                return js(400, {"error": "Invalid Pod ID."})
            delay = pod.delay_ms.get(call.op, 0)
            if call.op in pod.fail:
                return js(pod.fail[call.op], {"error": f"scripted failure of {call.op}"}, delay)
            if call.op == "stop":
                pod.status = "EXITED"
                pod.stops += 1
            elif call.op == "start":
                pod.status = "RUNNING"
                pod.starts += 1
            return js(200, pod.view(), delay)


def start(api_key=API_KEY):
    return FakePodAPI(api_key)
