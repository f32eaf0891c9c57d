"""The image, audio, diarization and /v1/run routes (SPEC §3) end to end: the openai SDK against a
`simulated` backend, raw HTTP against the fake OpenAI-compatible upstream; the body-type checks
(415, malformed multipart, missing or late `model`), a request split at every byte, and the
memory of a 200 MB upload."""
import base64
import hashlib
import json
import os
import socket
import time

import httpx
import openai
import pytest

from conftest import USER_KEY, Gateway, config_for, log_line, read_response, read_to_end

BOUNDARY = "tollgate-e2e-boundary-7d1f"

EXTRA_BACKENDS = """
  up-base:
    kind: openai
    url: {up}/base
  up-ok:
    kind: openai
    url: {up}/as/ok
"""

EXTRA_MODELS = """
  sim-image: { task: image, backends: [sim] }
  sim-edit: { task: image_edit, backends: [sim] }
  sim-asr: { task: transcription, backends: [sim] }
  sim-diar: { task: diarization, backends: [sim] }
  sim-run: { task: raw, backends: [sim] }
  fake-run: { task: raw, backends: [up-base] }
  fake-asr: { task: transcription, backends: [up-ok] }
"""


def routes_config(port, server_extra=""):
    text = config_for(port, EXTRA_BACKENDS.format(up=f"http://127.0.0.1:{port}"), EXTRA_MODELS)
    return text.replace("  max_body: 200MB\n", "  max_body: 200MB\n" + server_extra)


@pytest.fixture(scope="module")
def gw(upstream):
    port, _ = upstream
    g = Gateway(routes_config(port))
    yield g
    g.stop()


def client(g):
    return openai.OpenAI(base_url=g.base + "/v1", api_key=USER_KEY, max_retries=0, timeout=30)


def form(fields, files=(), boundary=BOUNDARY):
    """A multipart/form-data body: `fields` (name, text) then `files` (name, filename, bytes)."""
    out = b""
    for name, value in fields:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode() + value.encode() + b"\r\n"
    for name, filename, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def post(g, path, body, content_type):
    headers = {"Authorization": f"Bearer {USER_KEY}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return httpx.post(g.base + path, content=body, headers=headers, timeout=30)


MP = f"multipart/form-data; boundary={BOUNDARY}"


def error_code(resp):
    return resp.json()["error"]["code"]


# --- The openai SDK against a simulated backend -----------------------------------------------

def test_images_generate(gw):
    result = client(gw).images.generate(model="sim-image", prompt="a lighthouse")
    assert base64.b64decode(result.data[0].b64_json).startswith(b"\x89PNG")


def test_images_edit_multipart(gw):
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    result = client(gw).images.edit(model="sim-edit", image=("in.png", png, "image/png"), prompt="make it blue")
    assert base64.b64decode(result.data[0].b64_json).startswith(b"\x89PNG")


def test_audio_transcription(gw):
    result = client(gw).audio.transcriptions.create(model="sim-asr", file=("a.wav", b"RIFF" + os.urandom(4096), "audio/wav"))
    assert result.text == "This is a simulated reply from Tollgate."


def test_diarization_multipart_and_json_url(gw):
    resp = post(gw, "/v1/audio/diarization", form([("model", "sim-diar")], [("file", "a.wav", b"\r\n--x" * 1000)]), MP)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "audio.diarization" and body["model"] == "sim-diar"
    assert body["speakers"] == sorted(set(s["speaker"] for s in body["segments"]))
    assert body["usage"]["type"] == "duration"
    resp = post(gw, "/v1/audio/diarization", json.dumps({"model": "sim-diar", "url": "https://example.com/a.wav"}).encode(),
                "application/json")
    assert resp.status_code == 200, resp.text
    assert resp.json()["object"] == "audio.diarization"


def test_run_on_a_simulated_backend_takes_json_multipart_and_no_body(gw):
    for body, ctype in ((b'{"inputs":[1,2]}', "application/json"), (form([("a", "1")]), MP), (b"", None)):
        resp = post(gw, "/v1/run/sim-run/predict", body, ctype)
        assert resp.status_code == 200, resp.text
        assert "output" in resp.json()


# --- Raw HTTP against the fake OpenAI-compatible upstream -------------------------------------

def test_run_reaches_the_backend_at_its_path_with_the_body_as_is(gw, upstream):
    _, recorder = upstream
    # A `model` member in a run body is the backend's: not renamed, not the gateway's model.
    body = b'{"model":"theirs","inputs":{"x":[1,2,3]},"k":"\\u00e9"}'
    resp = post(gw, "/v1/run/fake-run/x?y=1", body, "application/json")
    assert resp.status_code == 200, resp.text
    rid = resp.headers["x-request-id"]
    seen = recorder.for_request(rid)
    assert len(seen) == 1
    assert seen[0]["path"] == "/base/x?y=1"
    assert seen[0]["sha"] == hashlib.sha256(body).hexdigest()
    assert seen[0]["headers"]["Content-Type"] == "application/json"
    assert "Bearer" not in seen[0]["headers"].get("Authorization", "")  # no key configured, the client's never leaves
    assert log_line(gw, rid)["path"] == "/v1/run/fake-run"

    body = form([("prompt", "hi")], [("image", "a.bin", os.urandom(70000))])
    resp = post(gw, "/v1/run/fake-run", body, MP)
    assert resp.status_code == 200, resp.text
    rid = resp.headers["x-request-id"]
    seen = recorder.for_request(rid)[0]
    assert seen["path"] == "/base"
    assert seen["sha"] == hashlib.sha256(body).hexdigest()
    assert seen["headers"]["Content-Type"] == MP


def test_run_takes_any_json_document_as_is(gw, upstream):
    # SPEC §3: /v1/run/<model> passes any JSON body (the model is in the path): an array, a
    # string, a number go to the backend byte for byte; the backend judges them.
    _, recorder = upstream
    for body in [b'[1,{"a":2}]', b'"just text"', b' 42 ']:
        resp = post(gw, "/v1/run/fake-run/x", body, "application/json")
        assert resp.status_code == 200, (body, resp.text)
        seen = recorder.for_request(resp.headers["x-request-id"])
        assert len(seen) == 1 and seen[0]["sha"] == hashlib.sha256(body).hexdigest()


def test_multipart_goes_to_the_backend_untouched(gw, upstream):
    _, recorder = upstream
    body = form([("model", "fake-asr"), ("language", "en")], [("file", "a.wav", os.urandom(300000))])
    resp = post(gw, "/v1/audio/transcriptions", body, MP)
    assert resp.status_code == 200, resp.text
    rid = resp.headers["x-request-id"]
    seen = recorder.for_request(rid)[0]
    assert seen["path"] == "/as/ok/v1/audio/transcriptions"
    assert seen["sha"] == hashlib.sha256(body).hexdigest() and seen["length"] == len(body)
    assert seen["headers"]["Content-Type"] == MP
    assert log_line(gw, rid)["path"] == "/v1/audio/transcriptions"


# --- What is refused ----------------------------------------------------------------------------

def test_a_route_given_a_type_it_cannot_take_is_415_after_the_model(gw):
    # JSON on a multipart route: the model is read, then the type refused.
    resp = post(gw, "/v1/audio/transcriptions", b'{"model":"sim-asr"}', "application/json")
    assert resp.status_code == 415 and error_code(resp) == "unsupported_media_type", resp.text
    # ...but an unknown model is found first (SPEC §3 order).
    resp = post(gw, "/v1/audio/transcriptions", b'{"model":"nope"}', "application/json")
    assert resp.status_code == 404 and error_code(resp) == "model_not_found"
    # multipart on a JSON route.
    resp = post(gw, "/v1/images/generations", form([("model", "sim-image"), ("prompt", "x")]), MP)
    assert resp.status_code == 415 and error_code(resp) == "unsupported_media_type"
    # A type no model can be read from, on a route that takes multipart: refused unread.
    resp = post(gw, "/v1/audio/diarization", b"model=sim-diar", "application/x-www-form-urlencoded")
    assert resp.status_code == 415 and error_code(resp) == "unsupported_media_type"
    # /v1/run knows its model from the path: 404 for an unknown one, then 415.
    resp = post(gw, "/v1/run/nope", b"x", "text/plain")
    assert resp.status_code == 404
    resp = post(gw, "/v1/run/sim-run", b"x", "text/plain")
    assert resp.status_code == 415 and error_code(resp) == "unsupported_media_type"


def test_malformed_multipart_is_400_with_the_reason(gw):
    truncated = form([("model", "sim-asr")], [("file", "a.wav", b"abc")])[:-8]
    resp = post(gw, "/v1/audio/transcriptions", truncated, MP)
    assert resp.status_code == 400 and error_code(resp) == "invalid_request"
    assert "closing boundary" in resp.json()["error"]["message"]
    no_disposition = f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    resp = post(gw, "/v1/audio/transcriptions", no_disposition, MP)
    assert resp.status_code == 400 and "Content-Disposition" in resp.json()["error"]["message"]
    resp = post(gw, "/v1/audio/transcriptions", form([("model", "sim-asr")]), "multipart/form-data")
    assert resp.status_code == 400 and "boundary" in resp.json()["error"]["message"]
    twice = form([("model", "sim-asr"), ("model", "gpt-test")], [("file", "a.wav", b"abc")])
    resp = post(gw, "/v1/audio/transcriptions", twice, MP)
    assert resp.status_code == 400 and error_code(resp) == "invalid_request"
    assert "more than one `model`" in resp.json()["error"]["message"]


def test_missing_model_field_is_400(gw):
    resp = post(gw, "/v1/audio/transcriptions", form([("language", "en")], [("file", "a.wav", b"abc")]), MP)
    assert resp.status_code == 400 and error_code(resp) == "missing_model"


@pytest.mark.parametrize("path", ["/v1/images/generations", "/v1/images/edits", "/v1/audio/transcriptions",
                                  "/v1/audio/diarization", "/v1/run/sim-run/x"])
def test_wrong_method_is_405(gw, path):
    resp = httpx.get(gw.base + path, headers={"Authorization": f"Bearer {USER_KEY}"})
    assert resp.status_code == 405 and resp.headers["allow"] == "POST"


def test_run_without_a_model_segment_is_404(gw):
    resp = post(gw, "/v1/run/", b"{}", "application/json")
    assert resp.status_code == 404


def test_model_after_a_big_file_works_within_the_budget_and_is_413_beyond(upstream):
    port, _ = upstream
    g = Gateway(routes_config(port, "  max_buffered: 16MB\n"))
    try:
        body = form([], [("file", "a.wav", b"\x00\r\n" * (4 << 20))]).replace(f"--{BOUNDARY}--".encode(), b"")
        body += form([("model", "sim-asr")])
        resp = post(g, "/v1/audio/transcriptions", body, MP)
        assert resp.status_code == 200, resp.text
        body = form([], [("file", "a.wav", b"a" * (20 << 20))]).replace(f"--{BOUNDARY}--".encode(), b"")
        body += form([("model", "sim-asr")])
        resp = post(g, "/v1/audio/transcriptions", body, MP)
        assert resp.status_code == 413 and error_code(resp) == "request_too_large"
    finally:
        g.stop()


def test_a_multipart_request_split_at_every_byte(gw):
    body = form([("model", "sim-asr"), ("stream", "false")], [("file", "a.wav", b"RIFF\r\n--tollgate\r\n" * 4)])
    head = (f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {USER_KEY}\r\n"
            f"Content-Type: {MP}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(head + body)):
        sock.sendall((head + body)[i:i + 1])
    reply = read_to_end(sock)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
    assert b"This is a simulated reply" in reply


# --- Memory -------------------------------------------------------------------------------------

def stream_upload(port, path, model, size):
    """POSTs a multipart upload of `size` file bytes in 1 MiB sends; returns (status, body)."""
    prefix = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n{model}\r\n"
              f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.wav\"\r\n"
              "Content-Type: audio/wav\r\n\r\n").encode()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    total = len(prefix) + size + len(suffix)
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {USER_KEY}\r\nContent-Type: {MP}\r\n"
                 f"Content-Length: {total}\r\n\r\n".encode() + prefix)
    block = (b"RIFF" + bytes(range(256)) * 16)[: 1 << 12] * 256  # 1 MiB with CRs and dashes in it
    for _ in range(size // len(block)):
        sock.sendall(block)
    sock.sendall(b"\0" * (size % len(block)) + suffix)
    resp, data = read_response(sock)
    return resp.status, data


def test_a_200mb_upload_keeps_the_gateway_small(upstream):
    port, recorder = upstream
    g = Gateway(routes_config(port).replace("max_body: 200MB", "max_body: 256MB"))
    try:
        started = time.monotonic()
        status, data = stream_upload(g.port, "/v1/audio/transcriptions", "fake-asr", 200 << 20)
        elapsed = time.monotonic() - started
        assert status == 200, data[:300]
        last = recorder.last()
        assert last["path"] == "/as/ok/v1/audio/transcriptions" and last["length"] > 200 << 20
        hwm_mib = g.rss_kb("VmHWM") / 1024
        print(f"200 MB multipart upload: {elapsed:.1f}s, gateway VmHWM {hwm_mib:.1f} MiB")
        assert hwm_mib < 64, hwm_mib
    finally:
        g.stop()


@pytest.mark.parametrize("path,model", [("/v1/audio/transcriptions", "sim-asr"), ("/v1/images/edits", "sim-edit"),
                                        ("/v1/audio/diarization", "sim-diar"), ("/v1/run/sim-run", "ignored")])
def test_a_30mb_upload_through_each_multipart_route_to_a_simulated_backend(gw, path, model):
    # Past the replay window the body streams: the simulated backend reads it to its end.
    status, data = stream_upload(gw.port, path, model, 30 << 20)
    assert status == 200, data[:300]
