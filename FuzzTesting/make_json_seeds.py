#!/usr/bin/env python3
"""Writes the seed corpus FuzzTesting/seeds-json/ for FuzzJSONScanner (run again after editing;
the files are committed).

Each seed is the fuzz input layout described in README.md: a count byte, the piece sizes, then
the request body.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds-json")


def seed(body, sizes=(7,)):
    assert 1 <= len(sizes) <= 8 and all(1 <= s <= 256 for s in sizes)
    return bytes([len(sizes) - 1] + [s - 1 for s in sizes]) + body


CASES = {
    # Ordinary requests.
    "chat": b'{"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi \\"x\\" \\u00e9"}],"stream":true}',
    "chat-options": b'{"model":"m","stream":true,"stream_options":{"include_usage":false},"temperature":0.7}',
    "embeddings": b'{"input":[1,2.5e3,-4,0,-0.0,1E+2,3e-7],"model":"text-embedding-3-small"}',
    "spaced": b' \r\n\t{ "model" :\n"m" ,\t"stream"\r: null } \n',
    "tools": b'{"tools":[{"type":"function","function":{"parameters":{"properties":{"model":{"type":"string"}}}}}],"model":"m"}',
    "model-escapes": b'{"model":"\\u0061\\ud83d\\ude00\\/\\n"}',
    "model-utf8": '{"model":"café-€-😀"}'.encode(),
    "nested-model": b'{"messages":[{"model":"evil","model":"x"}],"model":"m"}',
    "dup-other": b'{"n":1,"n":2,"model":"m"}',
    # Refused by SPEC section 3.
    "bypass-escape": b'{"model":"allowed","m\\u006fdel":"other"}',
    "dup-model": b'{"model":"allowed","model":"other"}',
    "dup-stream": b'{"stream":false,"model":"m","stream":true}',
    "model-number": b'{"model":1}',
    "stream-string": b'{"model":"m","stream":"yes"}',
    # Malformed.
    "trailing-comma": b'{"model":"m",}',
    "lone-surrogate": b'{"model":"a\\ud800"}',
    "bad-utf8": b'{"content":"\xc0\xaf","model":"m"}',
    "bom": b'\xef\xbb\xbf{"model":"m"}',
    "deep": b'{"a":' + b'[' * 520 + b']' * 520 + b'}',
    "big-number": b'{"a":1e400,"model":"m"}',
}

# The include_usage rewrite (StreamOptionsLocator behind the scanner): every shape it edits.
OPTIONS_CASES = {
    "options-absent-empty": b'{}',
    "options-null": b'{"model":"m","stream_options" : null,"stream":true}',
    "options-number": b'{"stream_options":-1.5e2 ,"model":"m"}',
    "options-empty": b'{"stream_options":{ },"model":"m"}',
    "options-nested": b'{"stream_options":{"x":[1,{"include_usage":false}],"include\\u005fusage":"no"},"model":"m"}',
    "options-dup-usage": b'{"model":"m","stream_options":{"include_usage":true,"include_usage":0}}',
}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for i, (name, body) in enumerate(sorted(CASES.items())):
        sizes = [(1,), (7,), (3, 1, 200), (256,)][i % 4]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed(body, sizes))
    for i, (name, body) in enumerate(sorted(OPTIONS_CASES.items())):
        sizes = [(1,), (5, 2), (13,), (256,)][i % 4]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed(body, sizes))
    print(f"wrote {len(CASES) + len(OPTIONS_CASES)} seeds to {OUT}")


if __name__ == "__main__":
    main()
