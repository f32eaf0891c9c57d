#!/usr/bin/env python3
"""Writes the seed corpus of FuzzConnection, FuzzTesting/seeds-conn/ (committed).

Layout (README.md): a profile byte (bit 0 tiny limits, bit 1 small water marks, bit 2 the
client reads only at the end, bit 3 it half-closes), a count byte, fragment sizes, then the
bytes the client sends on one connection.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds-conn")
H = b"Host: t\r\n"


def seed(stream, profile=0, sizes=(7,)):
    return bytes([profile, len(sizes) - 1] + [s - 1 for s in sizes]) + stream


def get(path, extra=b""):
    return b"GET " + path + b" HTTP/1.1\r\n" + H + extra + b"\r\n"


def post(path, body, extra=b""):
    return b"POST " + path + b" HTTP/1.1\r\n" + H + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


CASES = {
    "hello": (get(b"/hello"), 0, (5,)),
    "close-split": (get(b"/hello", b"Connection: close\r\n"), 0, (3, 11)),
    "http10": (b"GET /hello HTTP/1.0\r\n\r\n", 0, (9,)),
    "deny-unread-body": (post(b"/deny", b"hello"), 0, (4, 20)),
    "malformed-after-good": (get(b"/hello") + b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 0, (30, 2)),
    "pipelined-slow-then-close": (get(b"/slow?5") + get(b"/hello", b"Connection: close\r\n"), 0, (200,)),
    "echo-paused": (post(b"/pause", b"x" * 3000), 2, (100, 7)),
    "echo-chunked": (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0, (3,)),
    "empty-bodies": (post(b"/echo", b"") + b"POST /echo HTTP/1.1\r\n" + H + b"\r\n", 0, (13,)),
    "stream-backpressure": (get(b"/stream?200000") + get(b"/hello"), 6, (64,)),
    "abort-mid-stream": (get(b"/abort?50000") + get(b"/hello"), 2, (40,)),
    "answer-at-first-byte": (post(b"/first", b"y" * 500) + get(b"/hello"), 0, (60, 1)),
    "early-answer-unread": (post(b"/early", b"z" * 100), 8, (30,)),
    "keep-open-idle": (get(b"/hello") + get(b"/slow?3"), 8, (17,)),
    "expect-continue": (post(b"/echo", b"abcd", b"Expect: 100-continue\r\n"), 0, (50, 4)),
    "tiny-limits-431": (get(b"/hello", b"X-Long: " + b"a" * 300 + b"\r\n"), 1, (16,)),
    "head": (b"HEAD /hello HTTP/1.1\r\n" + H + b"\r\n" + get(b"/hello"), 0, (10,)),
    "half-close-after-pipeline": (get(b"/hello") * 4, 8, (1, 2, 3)),
}

if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for name, (stream, profile, sizes) in CASES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed(stream, profile, sizes))
    print(f"wrote {len(CASES)} seeds to {OUT}")
