"""hf_space end to end: the real gateway in front of a REAL Gradio app (PyPI `gradio`) on
loopback, standing in for a Hugging Face Space (gradio_apps/space_app.py). One app process
serves every function (Gradio takes seconds to start); the app's log file shows what reached
it, and the Authorization every request carried."""
import base64
import io
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests
from PIL import Image

from conftest import USER_KEY, Gateway, free_port, read_response, stop_process, wait_until

HERE = pathlib.Path(__file__).resolve().parent
TOKEN = "hf_space-secret-token-0123456789"
AUTH = {"Authorization": f"Bearer {USER_KEY}"}


class SpaceApp:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        self.log_path = pathlib.Path(self.dir.name) / "app.log"
        self.log_path.write_text("")
        self.port = free_port()
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=self.dir.name + "/gradio")
        self.out = open(pathlib.Path(self.dir.name) / "app.out", "wb")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "gradio_apps" / "space_app.py"), str(self.port),
                                      str(self.log_path)], stdout=self.out, stderr=subprocess.STDOUT, env=env)
        self.base = f"http://127.0.0.1:{self.port}"

        def up():
            try:
                return requests.get(self.base + "/config", timeout=1).status_code == 200
            except requests.RequestException:
                return self.proc.poll() is not None
        assert wait_until(up, 60) and self.proc.poll() is None, (pathlib.Path(self.dir.name) / "app.out").read_text()

    def lines(self, prefix=""):
        return [l for l in self.log_path.read_text().splitlines() if l.startswith(prefix)]

    def stop(self):
        stop_process(self.proc)
        self.out.close()
        self.dir.cleanup()


def space_backend(name, url, api, inputs, output=0, extra=""):
    return f"""  {name}:
    kind: hf_space
    url: {url}
    token: {TOKEN}
    api_name: /{api}
    inputs: {json.dumps(inputs)}
    output: {output}
{extra}"""


@pytest.fixture(scope="module")
def space():
    app = SpaceApp()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def gw(space):
    url = space.base
    backends = "".join([
        space_backend("s-edit", url, "edit", ["$image", "$prompt"]),
        space_backend("s-generate", url, "generate", ["$prompt", 16]),
        space_backend("s-echo", url, "echo", ["$prompt", "$n", True]),
        space_backend("s-count", url, "count", ["$n"]),
        space_backend("s-slow", url, "slow", ["$tag"]),
        space_backend("s-slow-1s", url, "slow", ["$tag"], extra="    timeout: 1s\n"),
        space_backend("s-file", url, "file", ["$text"]),
        space_backend("s-quota", url, "quota", ["$prompt"]),
        space_backend("s-broken", url, "broken", ["$prompt"]),
        space_backend("s-measure", url, "measure", ["$file"]),
        space_backend("s-diarize", url, "diarize", ["$file"]),
        space_backend("s-pointer", url, "pointer", ["$target"]),
        # The app's /v5 mount claims Gradio 5.49.1 (see space_app.py).
        space_backend("s5-edit", url + "/v5", "edit", ["$image", "$prompt"]),
        space_backend("s5-quota", url + "/v5", "quota", ["$prompt"]),
        space_backend("s5-broken", url + "/v5", "broken", ["$prompt"]),
        space_backend("s5-slow", url + "/v5", "slow", ["$tag"], extra="    timeout: 1s\n"),
        # /v4 serves the routes without a prefix and a /config without api_prefix, as Gradio 4.
        space_backend("s4-edit", url + "/v4", "edit", ["$image", "$prompt"]),
        space_backend("s4-file", url + "/v4", "file", ["$text"]),
    ])
    config = f"""
server:
  listen: 127.0.0.1:0
  workers: 2
  max_body: 200MB
backends:
{backends}
models:
  space-edit: {{ task: image_edit, backends: [s-edit] }}
  space-generate: {{ task: image, backends: [s-generate] }}
  space-echo: {{ task: raw, backends: [s-echo] }}
  space-count: {{ task: raw, backends: [s-count] }}
  space-slow: {{ task: raw, backends: [s-slow] }}
  space-slow-1s: {{ task: raw, backends: [s-slow-1s] }}
  space-file: {{ task: raw, backends: [s-file] }}
  space-quota: {{ task: raw, backends: [s-quota] }}
  space-broken: {{ task: raw, backends: [s-broken] }}
  space-measure: {{ task: transcription, backends: [s-measure] }}
  space-diarize: {{ task: diarization, backends: [s-diarize] }}
  space-pointer: {{ task: raw, backends: [s-pointer] }}
  v5-edit: {{ task: image_edit, backends: [s5-edit] }}
  v5-quota: {{ task: raw, backends: [s5-quota] }}
  v5-broken: {{ task: raw, backends: [s5-broken] }}
  v5-slow: {{ task: raw, backends: [s5-slow] }}
  v4-edit: {{ task: image_edit, backends: [s4-edit] }}
  v4-file: {{ task: raw, backends: [s4-file] }}
users:
  alice:
    keys: ["{USER_KEY}"]
"""
    g = Gateway(config)
    yield g
    g.stop()


def png(width, height, color=(10, 200, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def test_image_edit_multipart_uploads_the_image_and_returns_b64(gw, space):
    image = png(8, 5)
    r = requests.post(gw.base + "/v1/images/edits", headers=AUTH, timeout=30,
                      files={"image": ("in.png", image, "image/png")}, data={"model": "space-edit", "prompt": "abc"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"created", "data"} and len(body["data"]) == 1
    out = Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"])))
    # The app mirrored the image and widened it by the prompt's length: it got both fields.
    assert out.size == (8 + 3, 5)
    assert "edit 8x5 abc" in space.lines("edit")
    # No URL that needs the Space's token is handed out.
    assert "http" not in r.text and TOKEN not in r.text


def test_image_generation_json(gw, space):
    r = requests.post(gw.base + "/v1/images/generations", headers=AUTH, timeout=30,
                      json={"model": "space-generate", "prompt": "a red square"})
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(base64.b64decode(r.json()["data"][0]["b64_json"])))
    assert out.size == (16, 16)
    assert out.convert("RGB").getpixel((3, 3))[0] > 150
    assert "generate a red square 16" in space.lines("generate")


def test_text_function_through_run_keeps_json_types(gw, space):
    r = requests.post(gw.base + "/v1/run/space-echo", headers=AUTH, timeout=30,
                      json={"model": "space-echo", "prompt": "hi", "n": 3})
    assert r.status_code == 200, r.text
    assert r.json() == "hi*3:True"
    # Numbers stay numbers and constants keep their type on the app's side.
    assert "echo hi 3 True" in space.lines("echo")


def test_token_on_every_call_and_never_the_clients_key(gw, space):
    requests.post(gw.base + "/v1/run/space-file", headers=AUTH, timeout=30, json={"model": "space-file", "text": "x"})
    requests.post(gw.base + "/v1/images/edits", headers=AUTH, timeout=30,
                  files={"image": ("in.png", png(2, 2), "image/png")}, data={"model": "space-edit", "prompt": "t"})
    seen = space.lines("auth ")
    for route in ("GET /config", "POST /gradio_api/upload", "POST /gradio_api/call/", "GET /gradio_api/call/",
                  "GET /gradio_api/file="):
        assert any(route in line for line in seen), (route, seen)
    for line in seen:
        assert USER_KEY not in line
        # The fixture's own readiness poll is the only request without the Space's token.
        assert line.endswith(f"Bearer {TOKEN}") or line == "auth GET /config None", line


def test_file_result_is_returned_inline(gw, space):
    r = requests.post(gw.base + "/v1/run/space-file", headers=AUTH, timeout=30,
                      json={"model": "space-file", "text": "abc"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["orig_name"] == "result.txt" and out["meta"] == {"_type": "gradio.FileData"}
    assert out["url"].startswith("data:")
    assert base64.b64decode(out["url"].split(",", 1)[1]) == b"ABC"
    assert "http://" not in r.text


def test_a_file_elsewhere_is_never_fetched(gw, space):
    """Only the Space's own origin is fetched (with the token); a result file elsewhere — here
    at a URL the client chose — is neither fetched nor handed out."""
    import http.server
    import threading
    hits = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append((self.path, self.headers.get("authorization")))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hi")

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = f"http://127.0.0.1:{server.server_address[1]}/secret.png"
        r = requests.post(gw.base + "/v1/run/space-pointer", headers=AUTH, timeout=30,
                          json={"model": "space-pointer", "target": target})
        assert r.status_code == 200, r.text
        assert r.json()["url"] is None and r.json()["orig_name"] == "x.png"
        assert f"pointer {target}" in space.lines("pointer")
        assert hits == []
    finally:
        server.shutdown()


def test_streamed_generating_events(gw, space):
    r = requests.post(gw.base + "/v1/run/space-count", headers=AUTH, timeout=30, stream=True,
                      json={"model": "space-count", "n": 3, "stream": True})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in r.text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((fields["event"], json.loads(fields["data"])))
    assert events == [("generating", "step 0"), ("generating", "step 1"), ("generating", "step 2"),
                      ("complete", "step 2")]


def test_a_generator_without_stream_gives_its_last_output(gw):
    r = requests.post(gw.base + "/v1/run/space-count", headers=AUTH, timeout=30, json={"model": "space-count", "n": 2})
    assert r.status_code == 200, r.text
    assert r.json() == "step 1"


def test_app_error_is_a_502_with_its_text(gw, space):
    r = requests.post(gw.base + "/v1/run/space-broken", headers=AUTH, timeout=30,
                      json={"model": "space-broken", "prompt": "magic"})
    assert r.status_code == 502, r.text
    assert "cannot do magic" in r.json()["error"]["message"]


def test_zerogpu_quota_makes_the_backend_wait(gw, space):
    r = requests.post(gw.base + "/v1/run/space-quota", headers=AUTH, timeout=30,
                      json={"model": "space-quota", "prompt": "first"})
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "no_backend_available"
    assert "ZeroGPU quota" in error["message"]
    assert space.lines("quota") == ["quota first"]
    # Within the 30 s the app named, the backend is skipped: the app never sees the call.
    r = requests.post(gw.base + "/v1/run/space-quota", headers=AUTH, timeout=30,
                      json={"model": "space-quota", "prompt": "second"})
    assert r.status_code == 503, r.text
    assert "ZeroGPU quota" in r.json()["error"]["message"]
    assert space.lines("quota") == ["quota first"]
    # SPEC §4: a backend cooled down for quota is not eligible, so it is not up.
    metrics = requests.get(gw.base + "/metrics", timeout=10).text
    assert 'tollgate_backend_up{backend="s-quota"} 0' in metrics
    assert 'tollgate_backend_up{backend="s-echo"} 1' in metrics


def test_client_disconnect_cancels_the_gradio_job(gw, space):
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    body = json.dumps({"model": "space-slow", "tag": "gone"}).encode()
    sock.sendall(b"POST /v1/run/space-slow HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert wait_until(lambda: space.lines("slow-start gone"), 20)
    sock.close()
    closed = time.monotonic()
    # The queue cancel reaches the app at once; without it the job would run its 60 s.
    assert wait_until(lambda: space.lines("slow-cancelled gone"), 2), space.lines()
    assert time.monotonic() - closed < 2
    assert f"auth POST /gradio_api/cancel Bearer {TOKEN}" in space.lines("auth POST /gradio_api/cancel")


def test_timeout_cancels_the_gradio_job(gw, space):
    r = requests.post(gw.base + "/v1/run/space-slow-1s", headers=AUTH, timeout=30,
                      json={"model": "space-slow-1s", "tag": "late"})
    assert r.status_code == 504, r.text
    ended = time.monotonic()
    assert space.lines("slow-start late")
    assert wait_until(lambda: space.lines("slow-cancelled late"), 2), space.lines()
    assert time.monotonic() - ended < 2


def test_diarization_of_an_uploaded_file(gw, space):
    r = requests.post(gw.base + "/v1/audio/diarization", headers=AUTH, timeout=30,
                      files={"file": ("talk.wav", b"RIFF" + b"\0" * 2000, "audio/wav")}, data={"model": "space-diarize"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "audio.diarization" and body["model"] == "space-diarize"
    assert body["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert [(s["start"], s["end"], s["speaker"]) for s in body["segments"]] == [(0.0, 1.5, "SPEAKER_01"),
                                                                                (1.5, 4.25, "SPEAKER_00")]
    assert body["duration"] == 4.25
    assert space.lines("diarize") == ["diarize 2004"]


def test_large_upload_streams_through_the_gateway(gw, space):
    """A 30-minute-audio-sized file (60 MB, 16 kHz 16-bit mono WAV is ~58 MB) goes to the app's
    /upload as it arrives: the gateway's memory stays far below the file's size."""
    size = 60 << 20
    boundary = "tgboundary0123456789"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nspace-measure\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    before = gw.rss_kb("VmRSS")
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    sock.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + USER_KEY.encode()
                 + f"\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: ".encode()
                 + str(len(head) + size + len(tail)).encode() + b"\r\n\r\n" + head)
    block = b"\x01\x02" * (1 << 19)
    for _ in range(size // len(block)):
        sock.sendall(block)
    sock.sendall(tail)
    resp, text = read_response(sock)
    assert resp.status == 200, text
    assert json.loads(text) == {"text": f"heard {size} bytes"}
    assert space.lines("measure") == [f"measure {size}"]
    peak = gw.rss_kb("VmHWM")
    print(f"gateway RSS before {before} KiB, peak {peak} KiB for a {size >> 20} MiB upload")
    assert peak < 64 * 1024


# --- Gradio before 6.13: `/call` error events carry no text, so the queue protocol is used ----


def test_old_gradio_image_edit_through_the_queue_protocol(gw, space):
    r = requests.post(gw.base + "/v1/images/edits", headers=AUTH, timeout=30,
                      files={"image": ("in.png", png(6, 4), "image/png")}, data={"model": "v5-edit", "prompt": "xy"})
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(base64.b64decode(r.json()["data"][0]["b64_json"])))
    assert out.size == (6 + 2, 4)
    assert any(l.startswith("auth POST /v5/gradio_api/queue/join Bearer") for l in space.lines("auth "))


def test_old_gradio_error_text_and_zerogpu_quota(gw, space):
    r = requests.post(gw.base + "/v1/run/v5-broken", headers=AUTH, timeout=30, json={"model": "v5-broken", "prompt": "v5"})
    assert r.status_code == 502, r.text
    assert "cannot do v5" in r.json()["error"]["message"]
    r = requests.post(gw.base + "/v1/run/v5-quota", headers=AUTH, timeout=30, json={"model": "v5-quota", "prompt": "v5 first"})
    assert r.status_code == 503, r.text
    assert "ZeroGPU quota" in r.json()["error"]["message"]
    r = requests.post(gw.base + "/v1/run/v5-quota", headers=AUTH, timeout=30, json={"model": "v5-quota", "prompt": "v5 again"})
    assert r.status_code == 503, r.text
    assert space.lines("quota v5") == ["quota v5 first"]


def test_old_gradio_timeout_cancels_the_queued_job(gw, space):
    r = requests.post(gw.base + "/v1/run/v5-slow", headers=AUTH, timeout=30, json={"model": "v5-slow", "tag": "v5late"})
    assert r.status_code == 504, r.text
    ended = time.monotonic()
    assert wait_until(lambda: space.lines("slow-cancelled v5late"), 2), space.lines()
    assert time.monotonic() - ended < 2


def test_gradio_4_has_no_api_prefix(gw, space):
    r = requests.post(gw.base + "/v1/images/edits", headers=AUTH, timeout=30,
                      files={"image": ("in.png", png(3, 3), "image/png")}, data={"model": "v4-edit", "prompt": "v4"})
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(base64.b64decode(r.json()["data"][0]["b64_json"])))
    assert out.size == (3 + 2, 3)
    r = requests.post(gw.base + "/v1/run/v4-file", headers=AUTH, timeout=30, json={"model": "v4-file", "text": "four"})
    assert r.status_code == 200, r.text
    assert base64.b64decode(r.json()["url"].split(",", 1)[1]) == b"FOUR"
    seen = space.lines("auth ")
    for route in ("POST /v4/upload ", "POST /v4/queue/join ", "GET /v4/queue/data "):
        assert any(route in line for line in seen), (route, seen)
    assert not any(line.startswith("auth POST /v4/gradio_api") for line in seen)


# --- A Space under an attacker's control (fake_gradio.py): whatever it replies, the gateway ----
# --- stays up, bounded, and fetches only from the Space's origin. ------------------------------

import fake_gradio  # noqa: E402


@pytest.fixture(scope="module")
def hostile():
    app = fake_gradio.FakeGradio()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def hgw(hostile):
    names = ["urls", "samefiles", "spaced"]
    backends = "".join(space_backend(f"h-{n}", hostile.base, n, ["$prompt"]) for n in names)
    backends += space_backend("h-fields", hostile.base, "fields", ["$image", "$prompt"])
    models = "".join(f"  hostile-{n}: {{ task: image, backends: [h-{n}] }}\n" for n in names)
    models += "  hostile-fields: { task: image_edit, backends: [h-fields] }\n"
    g = Gateway(f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
{backends}
models:
{models}
users:
  alice:
    keys: ["{USER_KEY}"]
""")
    yield g
    g.stop()


def gateway_alive(gw):
    return requests.get(gw.base + "/v1/models", headers=AUTH, timeout=10).status_code == 200


def test_a_result_naming_hundreds_of_thousands_of_urls_elsewhere(hgw, hostile):
    """Image URLs on another origin are never fetched; a result listing 300,000 of them
    (a 10 MB event) must not take the gateway down (each skipped URL was a stack frame)."""
    def script(app, h):
        fake_gradio.event(h, "complete", [["http://127.0.0.1:9/x.png"] * 300_000])
    hostile.scripts["urls"] = script
    r = requests.post(hgw.base + "/v1/images/generations", headers=AUTH, timeout=60,
                      json={"model": "hostile-urls", "prompt": "p"})
    assert r.status_code == 502, r.text
    assert gateway_alive(hgw)


def test_a_result_naming_thousands_of_files_on_the_space_is_bounded(hgw, hostile):
    for i in range(3000):
        hostile.files[f"f{i}.png"] = PNG_1PX
    def script(app, h):
        fake_gradio.event(h, "complete", [[f"{app.base}/gradio_api/file=f{i}.png" for i in range(3000)]])
    hostile.scripts["samefiles"] = script
    before = len(hostile.requests("GET", "/gradio_api/file="))
    r = requests.post(hgw.base + "/v1/images/generations", headers=AUTH, timeout=60,
                      json={"model": "hostile-samefiles", "prompt": "p"})
    fetched = len(hostile.requests("GET", "/gradio_api/file=")) - before
    assert r.status_code == 200, r.text
    assert 1 <= len(r.json()["data"]) <= 64 and fetched <= 64, fetched
    assert gateway_alive(hgw)


def test_a_file_whose_name_has_spaces_comes_back(hgw, hostile):
    """Gradio 4 and 5 put the file's path in `url` unquoted; a file named "my image.png" is
    still the app's file, on its origin, and the image must come back."""
    path = "/tmp/gradio/ab/my image é.png"
    hostile.files[path] = PNG_1PX
    def script(app, h):
        fake_gradio.event(h, "complete", [{"path": path, "url": f"{app.base}/gradio_api/file={path}",
                                           "orig_name": "my image é.png", "meta": {"_type": "gradio.FileData"}}])
    hostile.scripts["spaced"] = script
    r = requests.post(hgw.base + "/v1/images/generations", headers=AUTH, timeout=30,
                      json={"model": "hostile-spaced", "prompt": "p"})
    assert r.status_code == 200, r.text
    assert base64.b64decode(r.json()["data"][0]["b64_json"]) == PNG_1PX


@pytest.mark.parametrize("route", ["images/generations", "run/hostile-big"])
def test_a_large_result_file_is_not_copied_over_and_over(hostile, route):
    """A result file is held once and base64-encoded straight into the reply (an image list,
    or a data: URI on /v1/run): the gateway's peak memory for a 40 MiB file stays under three
    times the file (it was four to five)."""
    size = 40 << 20
    hostile.files["/tmp/big.png"] = b"\x89PNG" + b"\x01" * (size - 4)
    def script(app, h):
        fake_gradio.event(h, "complete", [{"path": "/tmp/big.png", "url": f"{app.base}/gradio_api/file=/tmp/big.png",
                                           "meta": {"_type": "gradio.FileData"}}])
    hostile.scripts["big"] = script
    g = Gateway(f"""
server:
  listen: 127.0.0.1:0
  workers: 1
backends:
{space_backend("h-big", hostile.base, "big", ["$prompt"])}
models:
  hostile-big: {{ task: image, backends: [h-big] }}
users:
  alice:
    keys: ["{USER_KEY}"]
""")
    try:
        before = g.rss_kb("VmRSS")
        r = requests.post(g.base + "/v1/" + route, headers=AUTH, timeout=120,
                          json={"model": "hostile-big", "prompt": "p"})
        assert r.status_code == 200, r.status_code
        if route.startswith("run"):
            assert r.json()["url"].startswith("data:image/png;base64,")
            encoded = r.json()["url"].split(",", 1)[1]
        else:
            encoded = r.json()["data"][0]["b64_json"]
        assert len(base64.b64decode(encoded)) == size
        grown = g.rss_kb("VmHWM") - before
        print(f"gateway peak grew {grown} KiB for a {size >> 20} MiB result file on /v1/{route}")
        assert grown < 3 * (size >> 10)
    finally:
        g.stop()

def test_only_the_fields_the_backend_names_are_uploaded(hgw, hostile):
    """A multipart request's parts that `inputs` does not name are read and dropped: a file
    under another name is never uploaded to the Space with the backend's token."""
    def script(app, h):
        fake_gradio.event(h, "complete", ["data:image/png;base64," + base64.b64encode(PNG_1PX).decode()])
    hostile.scripts["fields"] = script
    before = len(hostile.requests("POST", "/gradio_api/upload"))
    r = requests.post(hgw.base + "/v1/images/edits", headers=AUTH, timeout=30,
                      files=[("junk", ("junk.bin", b"J" * 5000, "application/octet-stream")),
                             ("image", ("in.png", PNG_1PX, "image/png")),
                             ("other[]", ("o.bin", b"O" * 10, "application/octet-stream"))],
                      data={"model": "hostile-fields", "prompt": "p", "session_hash": "x", "data": "[1]"})
    assert r.status_code == 200, r.text
    assert len(hostile.requests("POST", "/gradio_api/upload")) - before == 1
    data = json.loads(hostile.bodies[-1][1])["data"]
    assert data[0]["meta"] == {"_type": "gradio.FileData"} and data[0]["orig_name"] == "in.png" and data[1] == "p"
    # OpenAI's SDK sends a list of images as `image[]` parts: the field `image`, as a list.
    r = requests.post(hgw.base + "/v1/images/edits", headers=AUTH, timeout=30,
                      files=[("image[]", ("a.png", PNG_1PX, "image/png")), ("image[]", ("b.png", PNG_1PX, "image/png"))],
                      data={"model": "hostile-fields", "prompt": "q"})
    assert r.status_code == 200, r.text
    data = json.loads(hostile.bodies[-1][1])["data"]
    assert [f["orig_name"] for f in data[0]] == ["a.png", "b.png"] and data[1] == "q"


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
