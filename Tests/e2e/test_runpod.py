"""kind: runpod end to end (issue 10 items 4 and 8), the real gateway against
(a) the runpod SDK's own local API (`runpod_handler.py --rp_serve_api`): /runsync, /run then
    /status (POST there), FAILED from a raised exception and from an `{"error"}` reply, no
    executionTime (the gateway's own time is the bill), images, diarization, a ~60 MB upload;
(b) fake_runpod.py, which follows the hosted API's reference where the SDK cannot: a non-final
    runsync polled at /status, executionTime/delayTime, the backend's timeout, /cancel of every
    abandoned job (client gone, timeout, failover, mid-submit) seen within 2 s, /health.
Nothing sleeps to wait: every wait polls with a deadline."""
import base64
import hashlib
import http.client
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import fake_runpod
from conftest import USER_KEY, Gateway, free_port, log_line, stop_process, wait_until

HERE = pathlib.Path(__file__).resolve().parent
KEY = fake_runpod.API_KEY


class SDKWorker:
    """runpod_handler.py served by the SDK's FastAPI app (uvicorn) on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        # The SDK keeps its job list in a file in the working directory (.runpod_jobs.pkl).
        self.dir = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "runpod_handler.py"), "--rp_serve_api", "--rp_api_host", "127.0.0.1",
             "--rp_api_port", str(self.port), "--rp_log_level", "ERROR"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir.name,
            env=dict(os.environ, UVICORN_LOG_LEVEL="warning"))

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False
        if not wait_until(up, 30):
            self.stop()
            raise RuntimeError("the runpod SDK's local API did not start")

    def stop(self):
        stop_process(self.proc)
        self.dir.cleanup()


@pytest.fixture(scope="module")
def fake():
    server, state = fake_runpod.start()
    yield server.server_address[1], state
    server.shutdown()


@pytest.fixture(scope="module")
def sdk():
    worker = SDKWorker()
    yield worker
    worker.stop()


def backend(name, url, extra="", key=KEY):
    return f"""  {name}:
    kind: runpod
    endpoint_id: ep1
    url: {url}
    api_key: {key}
{extra}"""


@pytest.fixture(scope="module")
def gw(fake, sdk):
    fake_port, _ = fake
    base = f"http://127.0.0.1:{fake_port}/v2/ep1"
    long = "    timeout: 20s\n    first_byte_timeout: 20s\n"
    backends = "".join([
        backend("rp", base, long + "    price: { per_second: 0.001 }\n    billing: per_second\n"),
        backend("rp-short", base, "    timeout: 1500ms\n    first_byte_timeout: 1500ms\n"),
        backend("rp-fo", base, "    timeout: 20s\n    first_byte_timeout: 1s\n"),
        # The request path's answer to a refused key, so no probe marks it down first.
        backend("rp-badkey", base, long + "    health: none\n", key="wrong-key"),
        backend("rp-small", base, long + "    max_response: 64KB\n"),
        # The SDK's local API has no /health (the hosted API does): passive outcomes only.
        backend("rp-sdk", f"http://127.0.0.1:{sdk.port}", long + "    max_response: 200MB\n    health: none\n"),
    ])
    config = f"""
server:
  listen: 127.0.0.1:0
  workers: 2
  max_body: 200MB
backends:
{backends}
models:
  fake-run: {{ task: raw, backends: [rp] }}
  fake-img: {{ task: image, backends: [rp] }}
  fake-diar: {{ task: diarization, backends: [rp] }}
  fake-asr: {{ task: transcription, backends: [rp] }}
  fake-short: {{ task: raw, backends: [rp-short] }}
  fake-fo: {{ task: raw, backends: [rp-fo, rp] }}
  fake-badkey: {{ task: raw, backends: [rp-badkey] }}
  small-img: {{ task: image, backends: [rp-small] }}
  sdk-run: {{ task: raw, backends: [rp-sdk] }}
  sdk-img: {{ task: image, backends: [rp-sdk] }}
  sdk-diar: {{ task: diarization, backends: [rp-sdk] }}
  sdk-asr: {{ task: transcription, backends: [rp-sdk] }}
users:
  alice:
    keys: ["{USER_KEY}"]
"""
    g = Gateway(config)
    yield g
    g.stop()


def post(gw, path, body, ctype="application/json", timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    conn.request("POST", path, body=data, headers={"Authorization": f"Bearer {USER_KEY}", "Content-Type": ctype})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp, payload


def multipart(fields, files, boundary="tollgate-rp-boundary"):
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def raw_request(gw, path, body):
    """Sends a request and returns the open socket (the test decides when to hang up)."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {USER_KEY}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


def usage_row(gw, request_id, columns):
    """The request's usage row, once the writer committed it."""
    import sqlite3
    found = []

    def read():
        db = sqlite3.connect(f"file:{gw.db_path}?mode=ro", uri=True)
        try:
            found[:] = [db.execute(f"SELECT {columns} FROM requests WHERE id = ?", (request_id,)).fetchone()]
        except sqlite3.OperationalError:
            found[:] = [None]
        finally:
            db.close()
        return found[0] is not None
    assert wait_until(read, 10), request_id
    return found[0]


def job_of(state, marker):
    """The id of the job whose input carried `marker` (waits for the fake to have it)."""
    def find():
        with state.lock:
            for job_id, job in state.jobs.items():
                if isinstance(job.input, dict) and job.input.get("marker") == marker:
                    return job_id
        return None
    assert wait_until(lambda: find() is not None, 10), marker
    return find()


# --- (a) the runpod SDK's local API ------------------------------------------------------------

def test_sdk_runsync_returns_the_output_unwrapped(gw):
    resp, payload = post(gw, "/v1/run/sdk-run", {"prompt": "hello", "n": 2})
    assert resp.status == 200, payload
    assert json.loads(payload) == {"echo": {"prompt": "hello", "n": 2}}
    assert resp.getheader("x-tollgate-backend") == "rp-sdk"
    assert resp.getheader("content-type") == "application/json"


def test_sdk_run_then_status_reaches_the_result(gw):
    # /v1/run/<model>/run submits with POST /run (the SDK answers IN_PROGRESS without running
    # the job) and polls /status/<id>; the SDK serves /status only as POST (a 405 to GET).
    resp, payload = post(gw, "/v1/run/sdk-run/run", {"mode": "sleep", "seconds": 0.2})
    assert resp.status == 200, payload
    assert json.loads(payload) == {"echo": {"mode": "sleep", "seconds": 0.2}}


def test_sdk_a_raised_exception_is_502_with_its_message(gw):
    resp, payload = post(gw, "/v1/run/sdk-run", {"mode": "fail", "message": "CUDA out of memory"})
    assert resp.status == 502, payload
    error = json.loads(payload)["error"]
    assert error["code"] == "bad_gateway"
    # The SDK sends JSON inside the error string; its error_message is what the client reads.
    assert "CUDA out of memory" in error["message"] and "Traceback" not in error["message"]


def test_sdk_an_error_reply_is_502_with_its_text(gw):
    resp, payload = post(gw, "/v1/run/sdk-run", {"mode": "error", "message": "bad prompt for this worker"})
    assert resp.status == 502, payload
    assert "bad prompt for this worker" in json.loads(payload)["error"]["message"]


def test_sdk_reports_no_execution_time_so_the_gateway_times_the_call(gw):
    resp, payload = post(gw, "/v1/run/sdk-run", {"mode": "sleep", "seconds": 0.3})
    assert resp.status == 200, payload
    assert float(resp.getheader("x-tollgate-gpu-seconds")) >= 0.3
    line = log_line(gw, resp.getheader("x-request-id"))
    assert line["backend"] == "rp-sdk"


def test_sdk_image_generation_is_b64_json(gw):
    resp, payload = post(gw, "/v1/images/generations", {"model": "sdk-img", "prompt": "a cat", "mode": "image"})
    assert resp.status == 200, payload
    body = json.loads(payload)
    assert isinstance(body["created"], int)
    assert base64.b64decode(body["data"][0]["b64_json"]).startswith(b"\x89PNG")


def test_sdk_diarization_end_to_end(gw):
    body, ctype = multipart({"model": "sdk-diar", "mode": "diarize"}, {"file": ("talk.wav", b"RIFF" + b"\0" * 1000)})
    resp, payload = post(gw, "/v1/audio/diarization", body, ctype)
    assert resp.status == 200, payload
    result = json.loads(payload)
    assert result["object"] == "audio.diarization"
    assert result["model"] == "sdk-diar"
    assert result["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert [(s["start"], s["end"], s["speaker"]) for s in result["segments"]] == [
        (2.5, 4.0, "SPEAKER_01"), (0.0, 2.5, "SPEAKER_00")] or sorted(
        (s["start"], s["end"], s["speaker"]) for s in result["segments"]) == [(0.0, 2.5, "SPEAKER_00"), (2.5, 4.0, "SPEAKER_01")]
    assert result["duration"] == 4.0


def test_sdk_a_60mb_upload_through_transcriptions(gw):
    # About 30 minutes of 16 kHz 16-bit mono audio. The worker gets it base64 in {"input"} and
    # answers with its size and digest: every byte arrived, in order.
    data = os.urandom(1 << 20) * 60
    body, ctype = multipart({"model": "sdk-asr"}, {"file": ("talk.wav", data)})
    resp, payload = post(gw, "/v1/audio/transcriptions", body, ctype, timeout=120)
    assert resp.status == 200, payload[:300]
    assert json.loads(payload) == {"text": f"{len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}"}
    # The gateway streamed the upload (base64 on the fly): its peak memory stays far below it.
    assert gw.rss_kb() < 64 << 10, gw.rss_kb()


# --- (b) the fake of the hosted API --------------------------------------------------------------

def test_runsync_sends_the_body_wrapped_in_input_with_the_platform_key(gw, fake):
    _, state = fake
    resp, payload = post(gw, "/v1/run/fake-run", {"marker": "wrap", "x": [1, 2]})
    assert resp.status == 200, payload
    assert json.loads(payload) == {"echo": {"marker": "wrap", "x": [1, 2]}}
    job = job_of(state, "wrap")
    with state.lock:
        submit = [r for r in state.requests if "/runsync" in r[1] and r[3] > 0][-1]
        body = [b for b in state.bodies if b["input"].get("marker") == "wrap"][0]
    assert body == {"input": {"marker": "wrap", "x": [1, 2]}}
    assert submit[2]["Authorization"] == f"Bearer {KEY}"
    assert USER_KEY not in json.dumps(submit[2])
    assert submit[1].startswith("/v2/ep1/runsync?wait=")
    assert job.startswith("sync-")


def test_a_non_final_runsync_is_polled_at_status_until_completed(gw, fake):
    _, state = fake
    state.sync_hold_ms = 100
    try:
        spec = {"queue_ms": 300, "run_ms": 700, "output": {"answer": 42}}
        resp, payload = post(gw, "/v1/run/fake-run", {"marker": "poll", "fake": spec})
    finally:
        state.sync_hold_ms = None
    assert resp.status == 200, payload
    assert json.loads(payload) == {"answer": 42}
    job = job_of(state, "poll")
    polls = state.polls(job)
    assert polls and all(p[0] == "GET" for p in polls)
    # executionTime is the bill (0.7 s), not the wall time; delayTime the queue.
    assert resp.getheader("x-tollgate-gpu-seconds") == "0.700"
    assert usage_row(gw, resp.getheader("x-request-id"), "queue_ms, gpu_ms") == (300.0, 700)
    assert job not in state.cancels


def test_execution_and_delay_time_are_the_meter_on_runsync(gw, fake):
    resp, payload = post(gw, "/v1/run/fake-run", {"fake": {"queue_ms": 50, "run_ms": 120}})
    assert resp.status == 200, payload
    assert resp.getheader("x-tollgate-gpu-seconds") == "0.120"
    assert float(resp.getheader("x-tollgate-cost-usd")) == pytest.approx(0.00012, abs=1e-6)


def test_failed_is_502_with_the_platform_text(gw):
    resp, payload = post(gw, "/v1/run/fake-run", {"fake": {"run_ms": 20, "fail": "worker exploded: disk full"}})
    assert resp.status == 502, payload
    error = json.loads(payload)["error"]
    assert error["code"] == "bad_gateway" and "worker exploded: disk full" in error["message"]


@pytest.mark.parametrize("end", ["TIMED_OUT", "CANCELLED"])
def test_a_job_the_platform_ended_is_a_failure(gw, end):
    resp, payload = post(gw, "/v1/run/fake-run", {"fake": {"end": end}})
    assert resp.status == 502, payload
    assert end.lower().replace("_", " ")[:6] in json.loads(payload)["error"]["message"].lower().replace("_", " ")


def test_a_job_past_the_backend_timeout_is_cancelled_and_504(gw, fake):
    _, state = fake
    state.sync_hold_ms = 100
    try:
        resp, payload = post(gw, "/v1/run/fake-short", {"marker": "timeout", "fake": {"run_ms": 60000}})
        answered = time.monotonic()
    finally:
        state.sync_hold_ms = None
    assert resp.status == 504, payload
    assert json.loads(payload)["error"]["code"] == "backend_timeout"
    job = job_of(state, "timeout")
    assert wait_until(lambda: job in state.cancels, 2.0), "no /cancel within 2 s"
    assert state.cancels[job] - answered < 2.0


def test_a_client_that_hangs_up_gets_its_job_cancelled(gw, fake):
    _, state = fake
    state.sync_hold_ms = 100
    try:
        sock = raw_request(gw, "/v1/run/fake-run", {"marker": "hangup", "fake": {"run_ms": 60000}})
        job = job_of(state, "hangup")
        assert wait_until(lambda: len(state.polls(job)) > 0, 10)
        sock.close()
        closed = time.monotonic()
        assert wait_until(lambda: job in state.cancels, 2.0), "no /cancel within 2 s of the hang-up"
        assert state.cancels[job] - closed < 2.0
    finally:
        state.sync_hold_ms = None


def test_a_client_that_hangs_up_during_runsync_gets_its_job_cancelled_once_its_id_is_known(gw, fake):
    # The job's id comes only with runsync's answer: the abandoned submit waits for it.
    _, state = fake
    state.sync_hold_ms = 500
    try:
        sock = raw_request(gw, "/v1/run/fake-run", {"marker": "midsubmit", "fake": {"run_ms": 60000}})
        job = job_of(state, "midsubmit")
        sock.close()
        closed = time.monotonic()
        assert wait_until(lambda: job in state.cancels, 2.0), "no /cancel within 2 s of the hang-up"
        assert state.cancels[job] - closed < 2.0
        assert state.polls(job) == []
    finally:
        state.sync_hold_ms = None


def test_failover_cancels_the_abandoned_job_and_the_next_backend_answers(gw, fake):
    _, state = fake
    state.sync_hold_ms = 100
    try:
        # rp-fo's first_byte_timeout (1 s) abandons its job while it is still queued (1.5 s);
        # rp submits the same input again and answers once that one is through its queue.
        resp, payload = post(gw, "/v1/run/fake-fo", {"marker": "failover", "fake": {"queue_ms": 1500, "run_ms": 10}})
    finally:
        state.sync_hold_ms = None
    assert resp.status == 200, payload
    assert resp.getheader("x-tollgate-backend") == "rp"
    with state.lock:
        jobs = sorted((j for j in state.jobs.values() if isinstance(j.input, dict) and j.input.get("marker") == "failover"),
                      key=lambda j: j.created)
    assert len(jobs) == 2
    abandoned, answered = jobs
    assert abandoned.id in state.cancels and answered.id not in state.cancels
    # The cancel went out when the attempt was abandoned (1 s after its submit), not later.
    assert state.cancels[abandoned.id] - abandoned.created < 2.0
    assert log_line(gw, resp.getheader("x-request-id"))["attempts"] == 2


def test_the_platform_refusing_our_key_is_502_misconfigured(gw):
    resp, payload = post(gw, "/v1/run/fake-badkey", {"x": 1})
    assert resp.status == 502, payload
    assert json.loads(payload)["error"]["code"] == "backend_misconfigured"


def test_an_unknown_run_path_is_404_and_never_reaches_the_platform(gw, fake):
    _, state = fake
    before = len(state.requests)
    resp, payload = post(gw, "/v1/run/fake-run/cancel/abc", {"x": 1})
    assert resp.status == 404, payload
    assert len(state.requests) == before


def test_fake_images_inline_and_foreign_urls_passed_as_data(gw, fake):
    png = base64.b64encode(b"\x89PNG fake").decode()
    out = {"images": [f"data:image/png;base64,{png}", "https://cdn.example.com/out.png"]}
    resp, payload = post(gw, "/v1/images/generations", {"model": "fake-img", "prompt": "x", "fake": {"output": out}})
    assert resp.status == 200, payload
    data = json.loads(payload)["data"]
    assert data == [{"b64_json": png}, {"url": "https://cdn.example.com/out.png"}]


def test_images_on_the_backends_own_origin_are_fetched_with_its_key_and_inlined(gw, fake):
    port, state = fake
    state.files["out.png"] = b"\x89PNG same origin"
    out = {"images": [f"http://127.0.0.1:{port}/v2/ep1/files/out.png"]}
    resp, payload = post(gw, "/v1/images/generations", {"model": "fake-img", "prompt": "x", "fake": {"output": out}})
    assert resp.status == 200, payload
    assert json.loads(payload)["data"] == [{"b64_json": base64.b64encode(b"\x89PNG same origin").decode()}]
    with state.lock:
        fetch = [r for r in state.requests if r[1] == "/v2/ep1/files/out.png"][-1]
    assert fetch[0] == "GET" and fetch[2]["Authorization"] == f"Bearer {KEY}"


def test_fetched_images_together_stay_within_max_response(gw, fake):
    # Each fetch alone is under max_response; eight of them would hold eight times it (and
    # their base64): the images of one reply share the backend's max_response.
    port, state = fake
    state.files["big1.png"] = b"\x89PNG" + b"a" * (40 << 10)
    state.files["big2.png"] = b"\x89PNG" + b"b" * (40 << 10)
    out = {"images": [f"http://127.0.0.1:{port}/v2/ep1/files/big1.png",
                      f"http://127.0.0.1:{port}/v2/ep1/files/big2.png"]}
    resp, payload = post(gw, "/v1/images/generations", {"model": "small-img", "prompt": "x", "fake": {"output": out}})
    assert resp.status == 502, payload[:200]
    assert "image" in json.loads(payload)["error"]["message"]
    # One of them alone still goes.
    out = {"images": [f"http://127.0.0.1:{port}/v2/ep1/files/big1.png"]}
    resp, payload = post(gw, "/v1/images/generations", {"model": "small-img", "prompt": "x", "fake": {"output": out}})
    assert resp.status == 200, payload[:200]


def test_an_image_the_backend_cannot_serve_is_502(gw, fake):
    port, _ = fake
    out = {"images": [f"http://127.0.0.1:{port}/v2/ep1/files/missing.png"]}
    resp, payload = post(gw, "/v1/images/generations", {"model": "fake-img", "prompt": "x", "fake": {"output": out}})
    assert resp.status == 502, payload
    assert "HTTP 404" in json.loads(payload)["error"]["message"]


def test_a_job_whose_result_expired_is_502(gw, fake):
    _, state = fake
    state.sync_hold_ms = 100
    try:
        resp, payload = post(gw, "/v1/run/fake-run", {"fake": {"run_ms": 5000, "ttl_ms": 300}})
    finally:
        state.sync_hold_ms = None
    assert resp.status == 502, payload
    assert "no longer knows the job" in json.loads(payload)["error"]["message"]


def test_rate_limited_polls_are_retried(gw, fake):
    _, state = fake
    state.sync_hold_ms = 100
    try:
        resp, payload = post(gw, "/v1/run/fake-run", {"marker": "busy", "fake": {"run_ms": 400, "busy_polls": 2,
                                                                                  "output": "done"}})
    finally:
        state.sync_hold_ms = None
    assert resp.status == 200, payload
    assert json.loads(payload) == "done"
    assert len(state.polls(job_of(state, "busy"))) >= 3


def test_an_input_over_runsyncs_payload_limit_is_the_platforms_413(gw, fake):
    # 16 MB of audio is over 21 MB as base64: more than runsync's 20 MB (operation-reference.mdx).
    _, state = fake
    before = len(state.jobs)
    body, ctype = multipart({"model": "fake-asr"}, {"file": ("long.wav", b"\0" * (16 << 20))})
    resp, payload = post(gw, "/v1/audio/transcriptions", body, ctype)
    assert resp.status == 413, payload
    assert len(state.jobs) == before


def test_fake_diarization_from_segments(gw):
    out = {"segments": [{"start": 0.5, "end": 4.2, "speaker": "A"}, {"start": 4.2, "end": 9.0, "speaker": "B"}],
           "duration": 9.5}
    resp, payload = post(gw, "/v1/audio/diarization", {"model": "fake-diar", "url": "https://example.com/a.wav",
                                                         "fake": {"output": out}})
    assert resp.status == 200, payload
    result = json.loads(payload)
    assert result["speakers"] == ["A", "B"] and result["duration"] == 9.5
    assert len(result["segments"]) == 2


def test_output_that_cannot_be_shaped_is_502(gw):
    resp, payload = post(gw, "/v1/images/generations", {"model": "fake-img", "prompt": "x", "fake": {"output": {"n": 1}}})
    assert resp.status == 502, payload
    assert "no image" in json.loads(payload)["error"]["message"]
