#!/usr/bin/env python3
"""Writes the seed corpus FuzzTesting/seeds/ (run again after editing; the files are committed).

Each seed is the fuzz input layout described in README.md: a limits-profile byte, a count byte,
the fragment sizes, then the bytes a client sends on one connection.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds")

DEFAULT, TINY, SMALL = 0, 1, 2


def seed(stream, profile=DEFAULT, sizes=(7,)):
    assert 1 <= len(sizes) <= 8 and all(1 <= s <= 256 for s in sizes)
    return bytes([profile, len(sizes) - 1] + [s - 1 for s in sizes]) + stream


H = b"Host: api.example\r\n"
CASES = {
    # Valid requests.
    "get": b"GET /v1/models HTTP/1.1\r\n" + H + b"\r\n",
    "get-query": b"GET /v1/models?limit=5&x=%20 HTTP/1.1\r\n" + H + b"Accept: */*\r\nUser-Agent: t\r\n\r\n",
    "post-length": b"POST /v1/chat/completions HTTP/1.1\r\n" + H
        + b"Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"model\":\"m\",\"x\"}",
    "post-chunked": b"POST /v1/chat/completions HTTP/1.1\r\n" + H
        + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "chunked-ext-trailer": b"POST /up HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
        b"a;name=val;q=\"x\"\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n",
    "pipelined-gets": (b"GET /a HTTP/1.1\r\n" + H + b"\r\n") * 3,
    "pipelined-mixed": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc"
        + b"PUT /b HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
        + b"DELETE /c HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
    "http10-keepalive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    "connection-list": b"GET / HTTP/1.1\r\n" + H + b"Connection: upgrade, Close\r\n\r\n",
    "expect-continue": b"POST /v1/audio HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd",
    "options-star": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "leading-crlf": b"\r\n\r\nHEAD /h HTTP/1.1\r\n" + H + b"\r\n",
    "leading-crlf-too-many": b"\r\n" * 33 + b"GET / HTTP/1.1\r\n" + H + b"\r\n",
    "patch-zero-length": b"PATCH /p HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
    "ows-and-obs-text": b"GET / HTTP/1.1\r\n" + H + b"X-A: \t v\xc3\xa9 \xff \t\r\nX-Empty:\r\n\r\n",
    # Framing attacks (reliability-anchors.md §2): every one must be refused, whatever the split.
    "cl-te": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "cl-te-smuggle": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 34\r\n\r\n"
        b"0\r\n\r\nGET /admin HTTP/1.1\r\n" + H + b"\r\n",
    "cl-duplicate": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 10\r\n\r\nhello",
    "cl-list": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5, 10\r\n\r\nhello",
    "cl-plus": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello",
    "cl-overflow": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n",
    "cl-too-large": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999\r\n\r\n",
    "cl-space-before-colon": b"POST / HTTP/1.1\r\n" + H + b"Content-Length : 5\r\n\r\nhello",
    "cl-underscore": b"POST / HTTP/1.1\r\n" + H + b"Content_Length: 5\r\n\r\nhello",
    "te-http10": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te-xchunked": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "te-not-final": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "te-gzip-chunked": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te-leading-comma": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
    "te-vtab": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    "te-chunked-twice": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    "te-obs-fold": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    "bare-cr-value": b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
    "bare-lf-lines": b"GET / HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"\n",
    "nul-in-value": b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
    "host-missing-and-dup": b"GET / HTTP/1.1\r\n" + H + H + b"\r\n",
    "chunk-size-hex-prefix": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "chunk-size-overflow": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\n",
    "chunk-size-trailing-space": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
    "chunk-data-too-long": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    "chunk-bare-lf": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    "trailer-content-length": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
        b"1\r\nx\r\n0\r\nContent-Length: 50\r\nHost: evil\r\n\r\nGET /next HTTP/1.1\r\n" + H + b"\r\n",
    "version-http2": b"GET / HTTP/2.0\r\n" + H + b"\r\n",
    "version-lowercase": b"GET / http/1.1\r\n" + H + b"\r\n",
    "absolute-form": b"GET http://evil/ HTTP/1.1\r\n" + H + b"\r\n",
    "http09": b"GET /\r\n\r\n",
    "tls-client-hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)),
    "unknown-method": b"BREW /pot HTTP/1.1\r\n" + H + b"\r\n",
}

# Cases that exercise the limits, under the small limits profiles.
LIMITED = {
    "tiny-long-target": (TINY, b"GET /" + b"a" * 60 + b" HTTP/1.1\r\n" + H + b"\r\n"),
    "tiny-many-fields": (TINY, b"GET / HTTP/1.1\r\n" + H + b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
    "tiny-body-limit": (TINY, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                        b"8\r\n01234567\r\n9\r\n012345678\r\n0\r\n\r\n"),
    "tiny-chunk-ext": (TINY, b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1;abcdef\r\nx\r\n0\r\n\r\n"),
    "small-pipelined": (SMALL, b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 200\r\n\r\n" + b"b" * 200
                        + b"GET /c HTTP/1.1\r\n" + H + b"X: " + b"y" * 150 + b"\r\n\r\n"),
}

SPLITS = [(7,), (1, 2, 3), (64,), (13, 1), (256,), (2,), (5, 30, 1, 1)]


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for n, (name, stream) in enumerate(sorted(CASES.items())):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed(stream, DEFAULT, SPLITS[n % len(SPLITS)]))
    for n, (name, (profile, stream)) in enumerate(sorted(LIMITED.items())):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(seed(stream, profile, SPLITS[(n + 3) % len(SPLITS)]))
    print(f"{len(CASES) + len(LIMITED)} seeds in {OUT}")


if __name__ == "__main__":
    main()
