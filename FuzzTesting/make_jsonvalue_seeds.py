#!/usr/bin/env python3
# Writes seeds-jsonvalue/: FuzzJSON inputs (the whole input is the JSON text). See README.md.
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds-jsonvalue")

TEXTS = {
    # Job replies the adapters read.
    "runpod-status": b'{"id":"job-1","status":"COMPLETED","delayTime":123,"executionTime":4567,"output":{"text":"hi"}}',
    "replicate-prediction": b'{"id":"p1","status":"succeeded","output":["https://replicate.delivery/a/b.png"],'
    b'"metrics":{"predict_time":1.25},"error":null}',
    "diarization": b'{"output":{"diarization":[{"start":"0.0","end":"1.5","label":"A"},{"start":1.5,"end":3,"speaker":"B"}]}}',
    "gradio-filedata": b'[{"path":"/tmp/gradio/x.png","url":"https://s.hf.space/file=x.png","orig_name":"x.png"}]',
    # RFC 8259 corners.
    "scalars": b' [null,true,false,0,-0,-0.0,1E+2,1e-2,123.456e78,"",{}] ',
    "huge-number": b"[123456789012345678901234567890.12345678901234567890e-500]",
    "escapes": b'"\\u0000\\b\\f\\n\\r\\t\\"\\\\\\/\\ud834\\udd1e\\u00e9"',
    "utf8": '{"caf\u00e9":"\u20ac\U0001F600\x7f"}'.encode(),
    "duplicates": b'{"a":1,"b":2,"a":{"a":[]}}',
    "deep-ok": b"[[[{\"a\":[1]}]]]",
    "deep-refused": b"[" * 70 + b"]" * 70,
    # Refused.
    "lone-surrogate": b'"\\ud800x"',
    "bad-utf8": b'"\xc0\xaf\xed\xa0\x80"',
    "leading-zero": b"[01]",
    "trailing-comma": b'{"a":1,}',
    "truncated": b'{"a":[1,2,{"b":"c',
    "control-char": b'"a\tb"',
    "bom": b"\xef\xbb\xbf[]",
}

os.makedirs(OUT, exist_ok=True)
for name, text in TEXTS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(text)
