"""A RunPod worker for the end-to-end tests, served by the runpod SDK's own local API:
`python runpod_handler.py --rp_serve_api --rp_api_port <port>` (runpod-python
runpod/serverless/modules/rp_fastapi.py: POST /run, /runsync, /status/<id>).

The input's `mode` picks what it does:
  echo (default)  {"echo": <input>}
  fail            raises RuntimeError(<message>): the SDK reports FAILED with a JSON error text
  error           returns {"error": <message>}: FAILED with that text
  sleep           sleeps `seconds`, then echoes
  image           {"images": [<base64 of a few PNG bytes>]}
  diarize         a pyannote-style {"diarization": [...]} with string times
  file            {"text": "<bytes> bytes sha256 <hex>"} of the base64 `file` field (an upload)
"""
import base64
import hashlib
import time

import runpod

PNG = b"\x89PNG\r\n\x1a\n" + b"tollgate-test-image"


def handler(job):
    value = job["input"]
    mode = value.get("mode", "echo")
    if mode == "fail":
        raise RuntimeError(value.get("message", "the handler failed"))
    if mode == "error":
        return {"error": value.get("message", "the handler returned an error")}
    if mode == "sleep":
        time.sleep(float(value.get("seconds", 0.5)))
    if mode == "image":
        return {"images": [base64.b64encode(PNG).decode()]}
    if mode == "diarize":
        return {"diarization": [
            {"speaker": "SPEAKER_01", "start": "2.5", "end": "4.0"},
            {"speaker": "SPEAKER_00", "start": "0.0", "end": "2.5"},
        ]}
    if mode == "file" or isinstance(value.get("file"), str):
        data = base64.b64decode(value["file"])
        return {"text": f"{len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}"}
    return {"echo": value}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
