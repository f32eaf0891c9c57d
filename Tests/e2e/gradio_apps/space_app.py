"""A real Gradio app standing in for a Hugging Face Space in the hf_space end-to-end tests.

Started by Tests/e2e/test_hf_space.py as `python3 space_app.py <port> <log file>` on loopback.
One process serves every function the tests need (Gradio takes seconds to start). The log file
gets one line per event the tests must observe from the app's side: a call reaching a function,
a generator being cancelled.
"""
import asyncio
import os
import sys
import tempfile

import gradio as gr
from PIL import Image, ImageOps

PORT = int(sys.argv[1])
LOG = sys.argv[2]
TOKEN = os.environ.get("SPACE_TOKEN")


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


def edit(image, prompt):
    """Image in, image out: mirrored, with the prompt's length as its width change."""
    log(f"edit {image.size[0]}x{image.size[1]} {prompt}")
    return ImageOps.mirror(image).resize((image.size[0] + len(prompt), image.size[1]))


def generate(prompt, size):
    log(f"generate {prompt} {size}")
    return Image.new("RGB", (int(size), int(size)), (200, 30, 60))


def echo(text, times, flag):
    log(f"echo {text} {times!r} {flag!r}")
    return f"{text}*{times}:{flag}"


async def count(n):
    for i in range(int(n)):
        yield f"step {i}"
        await asyncio.sleep(0.05)


async def slow(tag):
    """A long job (a paid GPU at work) the gateway must stop when it abandons the call. Not a
    generator: Gradio stops a generator by itself once the result stream's reader is gone, but
    a plain function runs to its end unless the queue cancel (POST /cancel) cancels its task."""
    log(f"slow-start {tag}")
    finished = False
    try:
        await asyncio.sleep(60)
        finished = True
        return f"{tag} done"
    finally:
        if not finished:
            log(f"slow-cancelled {tag}")


def make_file(text):
    path = os.path.join(tempfile.mkdtemp(), "result.txt")
    with open(path, "w") as f:
        f.write(text.upper())
    return path


def quota(prompt):
    log(f"quota {prompt}")
    # spaces/zero/client.py schedule(): the message and title ZeroGPU raises for an exhausted
    # quota (backend-protocols.md §1.5).
    raise gr.Error("You have exceeded your free ZeroGPU quota (60s requested vs. 0s left). Try again in 0:00:30. "
                   "Subscribe to Hugging Face PRO to get 40 min of ZeroGPU quota a day - "
                   "https://huggingface.co/subscribe/pro?from=ZeroGPU", title="ZeroGPU quota exceeded")


def broken(prompt):
    log(f"broken {prompt}")
    raise gr.Error(f"cannot do {prompt}")


def transcribe(audio_path, language):
    size = os.path.getsize(audio_path)
    log(f"transcribe {size} {language}")
    return f"heard {size} bytes in {language}"


def diarize(path):
    """pyannote-style output, as diarization Spaces return it (gr.JSON)."""
    size = os.path.getsize(path)
    log(f"diarize {size}")
    return {"diarization": [{"start": 0.0, "end": 1.5, "speaker": "SPEAKER_01"},
                            {"start": "1.5", "end": "4.25", "speaker": "SPEAKER_00"}]}


def pointer(url):
    """A result naming a file elsewhere (here: wherever the client said)."""
    log(f"pointer {url}")
    return {"path": "/elsewhere.png", "url": url, "orig_name": "x.png", "meta": {"_type": "gradio.FileData"}}


def measure(path):
    size = os.path.getsize(path)
    log(f"measure {size}")
    return f"heard {size} bytes"


def build():
    with gr.Blocks() as demo:
        image_in = gr.Image(type="pil")
        prompt = gr.Textbox()
        image_out = gr.Image(type="pil")
        size = gr.Number()
        text_out = gr.Textbox()
        flag = gr.Checkbox()
        file_out = gr.File()
        audio_in = gr.Audio(type="filepath")
        file_in = gr.File(type="filepath")
        json_out = gr.JSON()
        button = gr.Button()
        button.click(edit, [image_in, prompt], image_out, api_name="edit")
        button.click(generate, [prompt, size], image_out, api_name="generate")
        button.click(echo, [prompt, size, flag], text_out, api_name="echo")
        button.click(count, [size], text_out, api_name="count")
        button.click(slow, [prompt], text_out, api_name="slow")
        button.click(make_file, [prompt], file_out, api_name="file")
        button.click(quota, [prompt], text_out, api_name="quota")
        button.click(broken, [prompt], text_out, api_name="broken")
        button.click(transcribe, [audio_in, prompt], text_out, api_name="transcribe")
        button.click(measure, [file_in], text_out, api_name="measure")
        button.click(diarize, [file_in], json_out, api_name="diarize")
        button.click(pointer, [prompt], json_out, api_name="pointer")
    return demo


demo = build()
# The same functions at /v5, whose /config claims Gradio 5.49.1: an app that sends `/call`
# clients no error text (backend-protocols.md §1.2), which the gateway calls through the queue
# protocol. The protocol code serving it is the real Gradio's.
demo_v5 = build()
OLD_VERSION = "5.49.1"


if __name__ == "__main__":
    import fastapi
    import uvicorn

    # A Space's front sees every request; so does this middleware: one log line per request
    # with the Authorization it carried, so the tests can check the token went on every call
    # (config, upload, call, stream, file, cancel).
    app = fastapi.FastAPI()

    @app.middleware("http")
    async def record_auth(request, call_next):
        path = request.url.path
        log(f"auth {request.method} {path} {request.headers.get('authorization')}")
        # /v4 plays Gradio 4: the /v5 app's routes at the root of the mount (no api_prefix),
        # backend-protocols.md §1.1.
        as_v4 = path.startswith("/v4/")
        if as_v4:
            target = "/v5/config" if path == "/v4/config" else "/v5/gradio_api/" + path[len("/v4/"):]
            request.scope["path"] = target
            request.scope["raw_path"] = target.encode()
        response = await call_next(request)
        if path in ("/v5/config", "/v4/config") and response.status_code == 200:
            import json
            body = b"".join([chunk async for chunk in response.body_iterator])
            config = json.loads(body)
            config["version"] = OLD_VERSION
            if as_v4:
                config["version"] = "4.44.1"
                config.pop("api_prefix", None)
            return fastapi.responses.JSONResponse(config)
        return response

    demo.queue(default_concurrency_limit=8)
    demo_v5.queue(default_concurrency_limit=8)
    app = gr.mount_gradio_app(app, demo_v5, path="/v5", show_error=False)
    app = gr.mount_gradio_app(app, demo, path="", show_error=False)
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
