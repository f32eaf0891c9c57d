"""kind: replicate, end to end: the real gateway against fake_replicate (Replicate has no local
server; the fake follows the wire reference, see its docstring). Covers the create with
`Prefer: wait`, polling `urls.get` to a final status, `failed` → 502, the backend's timeout and
the client's disconnect each cancelling the prediction (seen by the fake within 2 s), output
files fetched and inlined, `metrics.predict_time` as the request's GPU seconds, and one
diarization request."""
import base64
import http.client
import json
import socket
import sqlite3
import time
import uuid

import pytest

import fake_replicate
from conftest import AUTH, USER_KEY, Gateway, read_response, wait_until
from fake_replicate import FINAL, PNG, TOKEN, Scenario


def config(base):
    def backend(name, target, extra=""):
        return f"""  {name}:
    kind: replicate
    url: {base}/v1
    api_key: {TOKEN}
    {target}
{extra}"""
    backends = "".join([
        backend("rep-quick", "model: tester/quick"),
        backend("rep-slow", "model: tester/slow"),
        backend("rep-fail", "model: tester/fail"),
        backend("rep-forever", "model: tester/forever", "    timeout: 2s\n    first_byte_timeout: 2s\n"),
        backend("rep-long", "model: tester/long"),
        backend("rep-image", "model: tester/image"),
        backend("rep-foreign", "model: tester/foreign"),
        backend("rep-files", "model: tester/files"),
        backend("rep-timed", "version: v0123456789abcdef"),
        backend("rep-diarize", "model: tester/diarize"),
        backend("rep-held", "model: tester/held"),
        backend("rep-broke", "model: tester/broke"),
        backend("rep-picky", "model: tester/picky"),
    ])
    return f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
{backends}
models:
  quick: {{ task: raw, backends: [rep-quick] }}
  slow: {{ task: raw, backends: [rep-slow] }}
  fail: {{ task: raw, backends: [rep-fail] }}
  forever: {{ task: raw, backends: [rep-forever] }}
  long: {{ task: raw, backends: [rep-long] }}
  files: {{ task: raw, backends: [rep-files] }}
  painter: {{ task: image, backends: [rep-image] }}
  foreign: {{ task: image, backends: [rep-foreign] }}
  timed: {{ task: raw, backends: [rep-timed] }}
  diarizer: {{ task: diarization, backends: [rep-diarize] }}
  held: {{ task: raw, backends: [rep-held] }}
  broke: {{ task: raw, backends: [rep-broke] }}
  picky: {{ task: raw, backends: [rep-picky] }}
users:
  alice:
    keys: ["{USER_KEY}"]
"""


DIARIZATION = {"segments": [
    # thomasmol/whisper-diarization: some versions send start/end as strings.
    {"start": "0.5", "end": "4.2", "speaker": "SPEAKER_01", "text": "hello"},
    {"start": 4.5, "end": 9.25, "speaker": "SPEAKER_00", "text": "hi there"},
]}


@pytest.fixture(scope="module")
def fake():
    server, state = fake_replicate.start()
    state.scenarios.update({
        "quick": Scenario(run=0.05, output={"text": "done"}),
        "slow": Scenario(boot=0.3, run=1.0, hold=0.2, output="slow result"),
        "fail": Scenario(run=0.05, status="failed", error="CUDA out of memory: tried to allocate 20 GiB"),
        "forever": Scenario(run=600, hold=0.2),
        "long": Scenario(run=600, hold=0.2),
        "image": Scenario(run=0.05, output="files:2"),
        "foreign": Scenario(run=0.05, output=["https://evil.example/stolen.png"]),
        "files": Scenario(run=0.05, output=lambda pid, base: {"image": f"{base}/files/{pid}/a.png",
                                                              "public": "https://replicate.delivery/xezq/a.png"}),
        "v0123456789abcdef": Scenario(run=0.05, output=[1, 2, 3], predict_time=2.345),
        "diarize": Scenario(run=0.05, output=DIARIZATION, predict_time=1.5),
        # Replicate holds the create's reply for 1 s, then answers `starting`.
        "held": Scenario(run=600, hold=1.0),
        "broke": Scenario(refuse=402, detail="You have insufficient credit to run this model"),
        "picky": Scenario(refuse=422, detail="prompt is required"),
    })
    yield state
    server.shutdown()


@pytest.fixture(scope="module")
def gw(fake):
    gateway = Gateway(config(fake.base))
    yield gateway
    gateway.stop()


def post(gw, path, body, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, data, dict(AUTH, **(headers or {})))
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp, payload


def test_prefer_wait_answers_at_once(gw, fake):
    resp, body = post(gw, "/v1/run/quick", {"prompt": "a cat", "steps": 4})
    assert resp.status == 200, body
    # /v1/run returns the prediction's `output` unwrapped.
    assert json.loads(body) == {"text": "done"}
    [pid] = fake.created("quick")
    create = next(c for c in fake.creates if c["id"] == pid)
    assert create["path"] == "/v1/models/tester/quick/predictions"
    assert create["headers"]["Authorization"] == f"Bearer {TOKEN}"
    # The client's key never leaves the gateway.
    assert USER_KEY not in json.dumps(create["headers"])
    prefer = create["headers"]["Prefer"]
    assert prefer.startswith("wait=") and 1 <= int(prefer[5:]) <= 60, prefer
    assert create["body"] == {"input": {"prompt": "a cat", "steps": 4}}
    # Final in the create's reply: nothing polled, nothing cancelled.
    assert fake.polls.get(pid, 0) == 0 and pid not in fake.cancels


def test_version_goes_to_predictions_with_version(gw, fake):
    resp, body = post(gw, "/v1/run/timed", {"n": 3})
    assert resp.status == 200, body
    assert json.loads(body) == [1, 2, 3]
    pid = fake.created("v0123456789abcdef")[-1]
    create = next(c for c in fake.creates if c["id"] == pid)
    assert create["path"] == "/v1/predictions"
    assert create["body"] == {"version": "v0123456789abcdef", "input": {"n": 3}}


def test_not_final_reply_is_polled_until_succeeded(gw, fake):
    resp, body = post(gw, "/v1/run/slow", {"prompt": "x"})
    assert resp.status == 200, body
    assert json.loads(body) == "slow result"
    [pid] = fake.created("slow")
    assert fake.polls.get(pid, 0) >= 1
    # Backoff, not a busy loop: 1.3 s of work takes a handful of polls.
    assert fake.polls[pid] <= 12, fake.polls[pid]
    assert pid not in fake.cancels


def test_failed_prediction_is_502_with_its_error(gw, fake):
    resp, body = post(gw, "/v1/run/fail", {"prompt": "x"})
    assert resp.status == 502, body
    err = json.loads(body)["error"]
    assert err["code"] == "bad_gateway"
    assert "CUDA out of memory" in err["message"]


def test_timeout_cancels_the_prediction(gw, fake):
    started = time.monotonic()
    resp, body = post(gw, "/v1/run/forever", {"prompt": "x"})
    answered = time.monotonic()
    assert resp.status == 504, body
    assert json.loads(body)["error"]["code"] == "backend_timeout"
    assert answered - started < 6
    [pid] = fake.created("forever")
    assert wait_until(lambda: pid in fake.cancels, 2), "no cancel within 2 s of the timeout"
    assert fake.cancels[pid] - answered < 2
    assert fake.predictions[pid].status() == "canceled"


def raw_request(gw, path, body):
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    data = json.dumps(body).encode()
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {USER_KEY}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


def test_client_disconnect_cancels_the_prediction(gw, fake):
    sock = raw_request(gw, "/v1/run/long", {"prompt": "x"})
    assert wait_until(lambda: fake.created("long"), 5)
    [pid] = fake.created("long")
    # The create was answered (not final) and the gateway is polling when the client leaves.
    assert wait_until(lambda: fake.polls.get(pid, 0) >= 1, 5)
    sock.close()
    closed = time.monotonic()
    assert wait_until(lambda: pid in fake.cancels, 2), "no cancel within 2 s of the disconnect"
    assert fake.cancels[pid] - closed < 2
    assert fake.predictions[pid].status() == "canceled"


def test_image_files_are_fetched_and_inlined(gw, fake):
    before = len(fake.fetches)
    resp, body = post(gw, "/v1/images/generations", {"model": "painter", "prompt": "a red fox", "n": 2})
    assert resp.status == 200, body
    reply = json.loads(body)
    assert isinstance(reply["created"], int)
    assert [base64.b64decode(item["b64_json"]) for item in reply["data"]] == [PNG, PNG]
    # No URL of the backend reaches the client.
    assert fake.base.encode() not in body
    fetches = fake.fetches[before:]
    assert len(fetches) == 2
    assert all(f["authorization"] == f"Bearer {TOKEN}" for f in fetches)
    [pid] = fake.created("image")
    assert fake.creates[-1]["body"]["input"]["prompt"] == "a red fox"


def test_output_url_off_the_delivery_origins_is_not_fetched(gw, fake):
    before = list(fake.requests)
    resp, body = post(gw, "/v1/images/generations", {"model": "foreign", "prompt": "x"})
    assert resp.status == 502, body
    assert "evil.example" not in json.dumps(fake.requests[len(before):])
    assert json.loads(body)["error"]["code"] == "bad_gateway"


def test_run_inlines_urls_that_need_the_token(gw, fake):
    resp, body = post(gw, "/v1/run/files", {"prompt": "x"})
    assert resp.status == 200, body
    out = json.loads(body)
    # A URL on the backend's own (API) origin needs the gateway's token: inlined as a data URI.
    assert out["image"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    # replicate.delivery URLs need no token: handed on as data.
    assert out["public"] == "https://replicate.delivery/xezq/a.png"


def usage_row(gw, request_id):
    def row():
        try:
            db = sqlite3.connect(f"file:{gw.db_path}?mode=ro", uri=True, timeout=1)
            try:
                return db.execute("SELECT gpu_seconds, status, backend FROM requests WHERE client_request_id = ?",
                                  (request_id,)).fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return None
    assert wait_until(lambda: row() is not None, 10)
    return row()


def test_predict_time_is_the_gpu_seconds(gw, fake):
    rid = "rep-" + uuid.uuid4().hex
    resp, body = post(gw, "/v1/run/timed", {"n": 1}, {"X-Request-ID": rid})
    assert resp.status == 200, body
    assert float(resp.getheader("x-tollgate-gpu-seconds")) == pytest.approx(2.345)
    gpu, status, backend = usage_row(gw, rid)
    assert (status, backend) == (200, "rep-timed")
    assert gpu == pytest.approx(2.345)


def multipart(fields, files):
    boundary = "----tollgate" + uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    for name, (filename, ctype, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def test_diarization_end_to_end(gw, fake):
    audio = bytes(range(256)) * 40
    body, ctype = multipart({"model": "diarizer", "num_speakers": "2"}, {"file": ("talk.wav", "audio/wav", audio)})
    resp, payload = post(gw, "/v1/audio/diarization", body, {"Content-Type": ctype})
    assert resp.status == 200, payload
    reply = json.loads(payload)
    assert reply["object"] == "audio.diarization"
    assert reply["model"] == "diarizer"
    assert reply["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert reply["duration"] == pytest.approx(9.25)
    assert [(s["start"], s["end"], s["speaker"]) for s in reply["segments"]] == [
        (0.5, 4.2, "SPEAKER_01"), (4.5, 9.25, "SPEAKER_00")]
    assert float(resp.getheader("x-tollgate-gpu-seconds")) == pytest.approx(1.5)
    # The upload reached the model as its input: text fields as strings, the file as data.
    sent = fake.creates[-1]["body"]["input"]
    assert sent["num_speakers"] == "2"
    assert base64.b64decode(sent["file"].split(",", 1)[-1]) == audio


def test_disconnect_while_the_create_is_held_still_cancels(gw, fake):
    # The prediction exists once the create's body is in, but its id comes only with the
    # held reply: the gateway keeps that connection to learn the id, then cancels.
    sock = raw_request(gw, "/v1/run/held", {"prompt": "x"})
    assert wait_until(lambda: fake.created("held"), 5)
    [pid] = fake.created("held")
    sock.close()
    closed = time.monotonic()
    assert wait_until(lambda: pid in fake.cancels, 3), "the held prediction was never cancelled"
    assert fake.cancels[pid] - closed < 2
    assert fake.polls.get(pid, 0) == 0
    assert fake.predictions[pid].status() == "canceled"


def test_out_of_credit_is_quota_not_a_failure(gw, fake):
    resp, body = post(gw, "/v1/run/broke", {"prompt": "x"})
    assert resp.status == 503, body
    err = json.loads(body)["error"]
    assert err["code"] == "no_backend_available"
    assert "insufficient credit" in err["message"]


def test_input_validation_error_reaches_the_client(gw, fake):
    resp, body = post(gw, "/v1/run/picky", {"steps": 4})
    assert resp.status == 422, body
    assert "prompt is required" in json.loads(body)["error"]["message"]


def test_half_hour_audio_upload_streams_through(gw, fake):
    # 30 minutes of 16 kHz 16-bit mono WAV (~58 MB): streamed into the create's body as a data
    # URL (base64, ~77 MB), never held whole by the gateway.
    size = 30 * 60 * 16_000 * 2
    boundary = "----tollgate" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ndiarizer\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"talk.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = bytes(range(256)) * 4096  # 1 MiB
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=120)
    sock.sendall(f"POST /v1/audio/diarization HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {USER_KEY}\r\n"
                 f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                 f"Content-Length: {len(head) + size + len(tail)}\r\n\r\n".encode() + head)
    sent = 0
    while sent < size:
        chunk = block[:min(len(block), size - sent)]
        sock.sendall(chunk)
        sent += len(chunk)
    sock.sendall(tail)
    resp, payload = read_response(sock)
    assert resp.status == 200, payload
    assert json.loads(payload)["object"] == "audio.diarization"
    data_url = fake.creates[-1]["body"]["input"]["file"]
    assert data_url.startswith("data:audio/wav;base64,")
    assert len(base64.b64decode(data_url.split(",", 1)[1])) == size
    hwm_mib = gw.rss_kb("VmHWM") / 1024
    print(f"replicate 58 MB diarization upload: gateway VmHWM {hwm_mib:.1f} MiB")
    assert hwm_mib < 64, hwm_mib


def test_diarization_of_a_client_url_passes_it_as_data(gw, fake):
    before = len(fake.requests)
    url = "https://audio.example/meeting.wav"
    resp, payload = post(gw, "/v1/audio/diarization", {"model": "diarizer", "url": url})
    assert resp.status == 200, payload
    assert json.loads(payload)["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert fake.creates[-1]["body"]["input"]["url"] == url
    # The gateway made only its create to the platform: the client's URL is the model's to fetch.
    assert [r[1] for r in fake.requests[before:]] == ["/v1/models/tester/diarize/predictions"]
