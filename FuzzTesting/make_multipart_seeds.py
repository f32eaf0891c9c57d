#!/usr/bin/env python3
# Writes seeds-multipart/: FuzzMultipart inputs (byte 0 = piece-size count - 1, then the piece
# sizes - 1, then a multipart/form-data body with the boundary "bound42"). See README.md.
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds-multipart")
CD = b'Content-Disposition: form-data; name="%s"'

def part(name, data, extra=b""):
    return b"--bound42\r\n" + (CD % name) + extra + b"\r\n\r\n" + data + b"\r\n"

BODIES = {
    "fields-and-file": part(b"model", b"whisper-1")
        + part(b"file", b"RIFF\x00\x01\r\n--bound4x", b'; filename="a.wav"\r\nContent-Type: audio/wav')
        + b"--bound42--\r\n",
    "preamble-padding": b"preamble\r\n--bound42 \t\r\n" + (CD % b"x") + b"\r\n\r\n\r\n--bound42x\r\n--bound42-y\r\n--bound42--  \r\n",
    "empty-form": b"--bound42--",
    "epilogue": part(b"a", b"1") + b"--bound42--\r\nepilogue",
    "truncated": part(b"a", b"1") + b"--bou",
    "bare-lf": b"--bound42\r\nContent-Disposition: form-data; name=a\n\r\nx\r\n--bound42--",
    "no-name": b"--bound42\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--bound42--",
    "content-type-line": b"multipart/form-data; boundary=\"a b:c\"\n" + part(b"a", b"1") + b"--bound42--",
}

os.makedirs(OUT, exist_ok=True)
for name, body in BODIES.items():
    for sizes, suffix in (([0], "-1"), ([2, 6, 0], "-3-7-1")):
        with open(os.path.join(OUT, name + suffix), "wb") as f:
            f.write(bytes([len(sizes) - 1]) + bytes(sizes) + body)
