#!/usr/bin/env python3
"""Peak memory of Tollgate under many concurrent multipart uploads (issue 10 "Measure").

Starts an upstream that reads every request body and discards it (kind `openai`, so the
gateway passes a multipart body through as-is), a `tollgate serve` on 127.0.0.1 port 0 in
front of it, then sends --clients concurrent POST /v1/audio/transcriptions uploads of --size
MB each (the `model` field first, then the file, in 1 MiB sends). The gateway's resident memory
is sampled every 20 ms; its VmHWM at the end is the peak. Writes --out (JSON) and prints a line:

  {"clients", "size_mb", "ok", "failed", "seconds", "gateway_peak_rss_mib", "gateway_hwm_mib",
   "max_buffered_mib", "upstream_bytes"}

Environment: TOLLGATE_BIN [.build/release/tollgate]. Standard library only.
"""
import argparse
import http.client
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools import serve_tollgate

ROOT = pathlib.Path(__file__).resolve().parents[1]
KEY = "tg-bench-uploads-key-0000000000"
BOUNDARY = "tollgate-bench-uploads"


class Discard(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _discard(self, remaining):
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            with Discard.lock:
                Discard.received += len(chunk)

    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                self._discard(size)
                self.rfile.readline()
        else:
            self._discard(int(self.headers.get("Content-Length", "0")))
        data = b'{"text":"discarded"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def status_kib(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_gateway(binary, upstream_port, workdir, max_buffered):
    config = pathlib.Path(workdir) / "tollgate.yaml"
    config.write_text(f"""
server:
  listen: 127.0.0.1:0
  workers: 2
  max_body: 1GB
  max_buffered: {max_buffered}MB
  max_connections: 4096
backends:
  discard:
    kind: openai
    url: http://127.0.0.1:{upstream_port}
models:
  asr: {{ task: transcription, backends: [discard] }}
users:
  bench:
    keys: ["{KEY}"]
storage:
  sqlite: {workdir}/usage.db
""")
    return serve_tollgate(binary, config, "uploads.py")


def upload(port, size, results):
    prefix = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nasr\r\n"
              f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
              "Content-Type: audio/wav\r\n\r\n").encode()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    block = bytes(range(256)) * 4096  # 1 MiB, CRs and dashes included
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        sock.sendall((f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {KEY}\r\n"
                      f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                      f"Content-Length: {len(prefix) + size + len(suffix)}\r\n\r\n").encode() + prefix)
        for _ in range(size // len(block)):
            sock.sendall(block)
        sock.sendall(block[: size % len(block)] + suffix)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        resp.read()
        sock.close()
        results.append(resp.status)
    except OSError as e:
        results.append(repr(e))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--size", type=int, default=20, help="MB per upload (MiB, 1 << 20 bytes)")
    parser.add_argument("--max-buffered", type=int, default=256, help="server.max_buffered in MB")
    parser.add_argument("--out", default=str(ROOT / "Benchmarks/out/uploads.json"))
    args = parser.parse_args()
    binary = os.environ.get("TOLLGATE_BIN") or str(ROOT / ".build/release/tollgate")

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Discard)
    upstream.daemon_threads = True
    upstream.request_queue_size = 1024
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as workdir:
        proc, port = start_gateway(binary, upstream.server_address[1], workdir, args.max_buffered)
        try:
            idle_kib = status_kib(proc.pid, "VmRSS")
            results, peak, done = [], [0], threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], status_kib(proc.pid, "VmRSS"))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            threads = [threading.Thread(target=upload, args=(port, args.size << 20, results)) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.monotonic() - started
            done.set()
            sampler.join()
            report = {
                "clients": args.clients, "size_mb": args.size,
                "ok": sum(1 for r in results if r == 200), "failed": [r for r in results if r != 200][:5],
                "seconds": round(seconds, 2),
                "gateway_idle_rss_mib": round(idle_kib / 1024, 1),
                "gateway_peak_rss_mib": round(peak[0] / 1024, 1),
                "gateway_hwm_mib": round(status_kib(proc.pid, "VmHWM") / 1024, 1),
                "max_buffered_mib": args.max_buffered,
                "upstream_bytes": Discard.received,
            }
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    upstream.shutdown()
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0 if report["ok"] == args.clients else 1


if __name__ == "__main__":
    sys.exit(main())
