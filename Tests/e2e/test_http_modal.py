"""The `http` and `modal` kinds end to end: the real gateway against fake_http's worker and
fake_modal's web endpoint (Modal has no local server; the fake follows its documented wire
behaviour, see fake_modal.py)."""
import hashlib
import http.client
import json
import socket

import pytest

from conftest import AUTH, USER_KEY, Gateway, chat, log_line, read_response
from fake_http import Worker
from fake_modal import ModalEndpoint

MODAL_KEY, MODAL_SECRET = "wk-test-key-123", "ws-test-secret-456"
HTTP_API_KEY = "sk-http-backend-789"


@pytest.fixture(scope="module")
def env():
    worker = Worker()
    elsewhere = Worker()
    modal = ModalEndpoint(MODAL_KEY, MODAL_SECRET)
    modal_slow = ModalEndpoint(MODAL_KEY, MODAL_SECRET, legs=2, limit_seconds=0.3)
    modal_absolute = ModalEndpoint(MODAL_KEY, MODAL_SECRET, legs=1, limit_seconds=0.05, absolute_location=True)
    modal_cross = ModalEndpoint(MODAL_KEY, MODAL_SECRET, legs=1, limit_seconds=0.05, cross_origin=elsewhere.port)
    modal_endless = ModalEndpoint(MODAL_KEY, MODAL_SECRET, legs=1000, limit_seconds=0.01)
    config = f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
  box:
    kind: http
    url: http://127.0.0.1:{worker.port}/box
    api_key: {HTTP_API_KEY}
  box-v1:
    kind: http
    url: http://127.0.0.1:{worker.port}/box/v1/
  box-pyannote:
    kind: http
    url: http://127.0.0.1:{worker.port}/pyannote
  box-not-diarization:
    kind: http
    url: http://127.0.0.1:{worker.port}/not-diarization
  modal:
    kind: modal
    url: http://127.0.0.1:{modal.port}
    token_id: {MODAL_KEY}
    token_secret: {MODAL_SECRET}
  modal-no-token:
    kind: modal
    url: http://127.0.0.1:{modal.port}
  modal-slow:
    kind: modal
    url: http://127.0.0.1:{modal_slow.port}/
    token_id: {MODAL_KEY}
    token_secret: {MODAL_SECRET}
  modal-absolute:
    kind: modal
    url: http://127.0.0.1:{modal_absolute.port}
    token_id: {MODAL_KEY}
    token_secret: {MODAL_SECRET}
  modal-cross:
    kind: modal
    url: http://127.0.0.1:{modal_cross.port}
    token_id: {MODAL_KEY}
    token_secret: {MODAL_SECRET}
  modal-endless:
    kind: modal
    url: http://127.0.0.1:{modal_endless.port}
    token_id: {MODAL_KEY}
    token_secret: {MODAL_SECRET}
models:
  box-chat: {{ task: chat, backends: [box] }}
  box-v1-chat: {{ task: chat, backends: [box-v1] }}
  box-embed: {{ task: embedding, backends: [box] }}
  modal-chat: {{ task: chat, backends: [modal] }}
  modal-no-token-chat: {{ task: chat, backends: [modal-no-token] }}
  modal-slow-chat: {{ task: chat, backends: [modal-slow] }}
  modal-absolute-chat: {{ task: chat, backends: [modal-absolute] }}
  modal-cross-chat: {{ task: chat, backends: [modal-cross] }}
  modal-endless-chat: {{ task: chat, backends: [modal-endless] }}
  box-raw: {{ task: raw, backends: [box] }}
  box-asr: {{ task: transcription, backends: [box] }}
  box-diarize: {{ task: diarization, backends: [box] }}
  pyannote-diarize: {{ task: diarization, backends: [box-pyannote] }}
  not-diarize: {{ task: diarization, backends: [box-not-diarization] }}
  modal-diarize: {{ task: diarization, backends: [modal-slow] }}
users:
  alice:
    keys: ["{USER_KEY}"]
"""
    gw = Gateway(config)
    yield gw, dict(worker=worker, elsewhere=elsewhere, modal=modal, modal_slow=modal_slow,
                   modal_absolute=modal_absolute, modal_cross=modal_cross, modal_endless=modal_endless)
    assert gw.stop() == 0
    for fake in (worker, elsewhere, modal, modal_slow, modal_absolute, modal_cross, modal_endless):
        fake.close()


def post(gw, path, body, headers=None, timeout=60):
    """The response (its `x-request-id` is the gateway's id of the request) and its body."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)
    sent = dict(headers or AUTH)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, body=data, headers=sent)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response, payload


def new_requests(fake, before):
    return fake.requests()[before:]


# --- kind http ------------------------------------------------------------------------------

def test_http_forwards_to_url_plus_the_route_path_with_its_own_key(env):
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    body = json.dumps(chat("box-chat")).encode()
    response, payload = post(gw, "/v1/chat/completions", body)
    assert response.status == 200, payload
    assert json.loads(payload)["choices"][0]["message"]["content"] == "POST /box/v1/chat/completions"
    [seen] = new_requests(worker, before)
    assert seen["path"] == "/box/v1/chat/completions"
    assert seen["headers"]["authorization"] == f"Bearer {HTTP_API_KEY}"
    assert USER_KEY not in json.dumps(seen["headers"])
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-request-id"] == response.getheader("x-request-id")
    # As-is: the body the worker got is byte for byte the client's.
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()
    entry = log_line(gw, response.getheader("x-request-id"))
    assert entry["backend"] == "box" and entry["completion_tokens"] == 4


def test_http_base_ending_in_v1_is_not_doubled(env):
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    response, payload = post(gw, "/v1/chat/completions", chat("box-v1-chat"))
    assert response.status == 200, payload
    [seen] = new_requests(worker, before)
    assert seen["path"] == "/box/v1/chat/completions"
    assert "authorization" not in seen["headers"]  # no api_key configured, and never the client's


def test_http_stream_goes_as_is(env):
    """No stream_options added for an `http` backend: its body is the client's."""
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    body = json.dumps(chat("box-chat", stream=True)).encode()
    response, payload = post(gw, "/v1/chat/completions", body)
    assert response.status == 200, payload
    assert response.getheader("content-type").startswith("text/event-stream")
    text = payload.decode()
    assert [json.loads(line[6:])["choices"][0]["delta"]["content"]
            for line in text.splitlines() if line.startswith("data: {")] == ["p0", "p1", "p2"]
    assert text.rstrip().endswith("data: [DONE]")
    [seen] = new_requests(worker, before)
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()


def test_http_embeddings(env):
    gw, fakes = env
    response, payload = post(gw, "/v1/embeddings", {"model": "box-embed", "input": "x"})
    assert response.status == 200, payload
    assert json.loads(payload)["data"][0]["embedding"] == [0.5, 0.25]
    assert fakes["worker"].requests()[-1]["path"] == "/box/v1/embeddings"


# --- kind modal -----------------------------------------------------------------------------

def test_modal_sends_its_proxy_auth_headers_and_never_the_clients(env):
    gw, fakes = env
    modal = fakes["modal"]
    before = len(modal.requests())
    response, payload = post(gw, "/v1/chat/completions", chat("modal-chat"))
    assert response.status == 200, payload
    assert json.loads(payload)["choices"][0]["message"]["content"] == "POST /v1/chat/completions"
    # Modal's own headers describe our account with it: never passed on.
    assert response.getheader("modal-function-call-id") is None
    [seen] = new_requests(modal, before)
    assert seen["headers"]["modal-key"] == MODAL_KEY
    assert seen["headers"]["modal-secret"] == MODAL_SECRET
    assert "authorization" not in seen["headers"]
    assert USER_KEY not in json.dumps(seen["headers"])


def test_modal_without_tokens_gets_the_proxy_401(env):
    """No token in config: no Modal-Key/Modal-Secret; Modal's proxy refuses before any
    container starts, and the gateway answers its 401 as a bad gateway credential (502)."""
    gw, fakes = env
    modal = fakes["modal"]
    before = len(modal.requests())
    response, payload = post(gw, "/v1/chat/completions", chat("modal-no-token-chat"))
    assert response.status == 502, payload
    [seen] = new_requests(modal, before)
    assert "modal-key" not in seen["headers"] and "modal-secret" not in seen["headers"]


@pytest.mark.parametrize("fake_name,model,legs", [("modal_slow", "modal-slow-chat", 2),
                                                  ("modal_absolute", "modal-absolute-chat", 1)])
def test_modal_303_is_followed_with_get_on_the_same_origin(env, fake_name, model, legs):
    """A call longer than Modal's HTTP limit: 303 to `?__modal_function_call_id=fc-…` (relative
    or absolute, same origin), again while pending, then the result. Each hop is a GET with
    the same credentials and no body; the client sees only the final 200."""
    gw, fakes = env
    modal = fakes[fake_name]
    before = len(modal.requests())
    response, payload = post(gw, "/v1/chat/completions", chat(model))
    request_id = response.getheader("x-request-id")
    assert response.status == 200, payload
    assert json.loads(payload)["choices"][0]["message"]["content"] == "POST /v1/chat/completions"
    seen = new_requests(modal, before)
    assert [r["method"] for r in seen] == ["POST"] + ["GET"] * legs
    call_ids = {r["path"] for r in seen[1:]}
    assert len(call_ids) == 1 and call_ids.pop().startswith("/v1/chat/completions?__modal_function_call_id=fc-")
    for hop in seen[1:]:
        assert hop["headers"]["modal-key"] == MODAL_KEY and hop["headers"]["modal-secret"] == MODAL_SECRET
        assert hop["headers"]["x-request-id"] == request_id
        assert hop["bytes"] == 0 and "content-type" not in hop["headers"]
        assert "authorization" not in hop["headers"]
    entry = log_line(gw, request_id)
    assert entry["status"] == 200
    # GPU time is the measured upstream time: every leg waited the endpoint's limit.
    assert entry["gpu_seconds"] >= legs * modal.limit_seconds


def test_modal_cross_origin_303_is_refused(env):
    gw, fakes = env
    modal, elsewhere = fakes["modal_cross"], fakes["elsewhere"]
    before, elsewhere_before = len(modal.requests()), len(elsewhere.requests())
    response, payload = post(gw, "/v1/chat/completions", chat("modal-cross-chat"))
    assert response.status == 502, payload
    assert json.loads(payload)["error"]["code"] == "backend_redirect"
    assert [r["method"] for r in new_requests(modal, before)] == ["POST"]
    assert new_requests(elsewhere, elsewhere_before) == []


def test_modal_redirects_are_bounded(env):
    """A call that stays pending past the hop limit (20 legs, ~50 minutes at Modal) ends as a
    refused redirect instead of polling forever."""
    gw, fakes = env
    modal = fakes["modal_endless"]
    before = len(modal.requests())
    response, payload = post(gw, "/v1/chat/completions", chat("modal-endless-chat"))
    assert response.status == 502, payload
    assert json.loads(payload)["error"]["code"] == "backend_redirect"
    assert [r["method"] for r in new_requests(modal, before)] == ["POST"] + ["GET"] * 20


# --- /v1/run, diarization, a long upload -----------------------------------------------------

def test_run_goes_to_url_plus_the_rest_with_its_query(env):
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    body = b'{"prompt": "a cat", "steps": 4}'
    response, payload = post(gw, "/v1/run/box-raw/predict/fast?seed=7&tag=a%20b", body)
    assert response.status == 200, payload
    answer = json.loads(payload)
    assert (answer["path"], answer["query"]) == ("/box/predict/fast", "seed=7&tag=a%20b")
    [seen] = new_requests(worker, before)
    assert seen["path"] == "/box/predict/fast?seed=7&tag=a%20b"
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()
    assert seen["headers"]["authorization"] == f"Bearer {HTTP_API_KEY}"


def test_run_passes_a_multipart_body_and_its_content_type(env):
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    boundary = "tg-run-boundary-42"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhello\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + bytes(range(256)) * 64 + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Authorization": f"Bearer {USER_KEY}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response, payload = post(gw, "/v1/run/box-raw", body, headers=headers)
    assert response.status == 200, payload
    [seen] = new_requests(worker, before)
    assert seen["path"] == "/box"
    assert seen["headers"]["content-type"] == f"multipart/form-data; boundary={boundary}"
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("model", ["box-diarize", "pyannote-diarize", "modal-diarize"])
def test_a_diarization_reply_is_shaped(env, model):
    """`segments` with string times (whisper-diarization on Replicate), pyannote's
    `diarization` list, and a Modal call that needed its 303s: SPEC §3's object each time. The
    `{"url"}` goes to the backend as data."""
    gw, fakes = env
    worker = fakes["modal_slow" if model.startswith("modal") else "worker"]
    before = len(worker.requests())
    body = json.dumps({"model": model, "url": "https://audio.example/meeting.wav"}).encode()
    response, payload = post(gw, "/v1/audio/diarization", body)
    assert response.status == 200, payload
    assert response.getheader("content-type").startswith("application/json")
    shaped = json.loads(payload)
    assert shaped["object"] == "audio.diarization" and shaped["model"] == model
    assert shaped["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert [(s["start"], s["end"], s["speaker"]) for s in sorted(shaped["segments"], key=lambda s: s["start"])] == [
        (0.5, 4.2, "SPEAKER_00"), (4.5, 9.25, "SPEAKER_01")]
    assert shaped["duration"] == 9.25
    seen = new_requests(worker, before)
    assert seen[0]["path"].endswith("/v1/audio/diarization") and seen[0]["sha256"] == hashlib.sha256(body).hexdigest()
    # Nothing reached the audio's URL: the gateway never fetches a client's URL.


def test_a_reply_without_diarization_is_a_bad_gateway(env):
    gw, _ = env
    response, payload = post(gw, "/v1/audio/diarization", {"model": "not-diarize", "url": "https://a.example/x.wav"})
    assert response.status == 502, payload
    assert json.loads(payload)["error"]["code"] == "bad_gateway"


def test_thirty_minutes_of_audio_upload_to_an_http_backend(env):
    """~60 MB of multipart audio (30 minutes of 16-bit 16 kHz stereo WAV) through
    /v1/audio/transcriptions: streamed to the worker byte for byte, the gateway's memory small."""
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    boundary = "tg-asr-boundary-30min"
    audio_bytes = 60 << 20
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nbox-asr\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"meeting.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = bytes(range(256)) * 4096  # 1 MiB
    digest = hashlib.sha256(head)
    baseline_kb = gw.rss_kb("VmRSS")
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=120)
    sock.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + f"\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: ".encode()
                 + str(len(head) + audio_bytes + len(tail)).encode() + b"\r\n\r\n" + head)
    peak_kb = 0
    for i in range(audio_bytes // len(block)):
        sock.sendall(block)
        digest.update(block)
        if i % 8 == 0:
            peak_kb = max(peak_kb, gw.rss_kb("VmRSS"))
    sock.sendall(tail)
    digest.update(tail)
    response, payload = read_response(sock)
    assert response.status == 200, payload
    answer = json.loads(payload)
    assert answer["text"] == "thirty minutes of speech"
    [seen] = new_requests(worker, before)
    assert seen["path"] == "/box/v1/audio/transcriptions"
    assert seen["bytes"] == len(head) + audio_bytes + len(tail)
    assert seen["sha256"] == digest.hexdigest()
    assert seen["headers"]["content-type"] == f"multipart/form-data; boundary={boundary}"
    grown_mib = (peak_kb - baseline_kb) / 1024
    print(f"60 MiB upload: gateway RSS +{grown_mib:.1f} MiB at its peak")
    assert grown_mib < 32


@pytest.mark.parametrize("rest", ["/../secret", "/a/../../secret", "/%2e%2e/secret", "/.%2E/secret",
                                  "/..%2fsecret", "/..%5csecret", "/..;/secret", "/./secret", "/..", "/x/..?q=1"])
def test_run_rest_with_dot_segments_is_refused_not_sent(env, rest):
    # The rest is appended to the backend's base path: a `..` segment (libcurl removes dot
    # segments, RFC 3986 §5.2.4; a server may decode %2e or %2f first) would leave that path.
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    response, payload = post(gw, "/v1/run/box-raw" + rest, b'{"x": 1}')
    assert response.status == 400, payload
    assert json.loads(payload)["error"]["code"] == "invalid_request"
    assert new_requests(worker, before) == []


def test_run_rest_with_dots_inside_a_segment_still_goes(env):
    gw, fakes = env
    worker = fakes["worker"]
    before = len(worker.requests())
    response, payload = post(gw, "/v1/run/box-raw/v1.2/..x/a..b?q=..", b'{"x": 1}')
    assert response.status == 200, payload
    [seen] = new_requests(worker, before)
    assert seen["path"] == "/box/v1.2/..x/a..b?q=.."
