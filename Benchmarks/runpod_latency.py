#!/usr/bin/env python3
"""Added latency of a RunPod `runsync` round trip through Tollgate (issue 10, Measure).

Starts Tests/e2e/fake_runpod.py (a job that completes at once, so runsync answers it without
any poll) and `tollgate serve` with a `runpod` backend pointed at it, then times N sequential
requests on one keep-alive connection each way: straight to the fake's /v2/ep1/runsync, and
through the gateway's /v1/run/<model> (which wraps the body in {"input": …}, submits to the
same /runsync, parses the job object and unwraps its output). Rounds alternate so drift hits
both alike. Prints p50/p99 of each and the difference.

    Benchmarks/runpod_latency.py [--bin .build/release/tollgate] [--n 2000] [--rounds 3]
"""
import argparse
import http.client
import json
import pathlib
import socket
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
import fake_runpod  # noqa: E402
from tools import serve_tollgate  # noqa: E402

KEY = "tg-bench-runpod-key-0000000000000"


def start_gateway(binary, fake_port, directory):
    config = pathlib.Path(directory) / "tollgate.yaml"
    config.write_text(f"""
server:
  listen: 127.0.0.1:0
  workers: 1
storage:
  sqlite: {directory}/usage.db
backends:
  rp:
    kind: runpod
    endpoint_id: ep1
    url: http://127.0.0.1:{fake_port}/v2/ep1
    api_key: {fake_runpod.API_KEY}
models:
  bench: {{ task: raw, backends: [rp] }}
users:
  bench:
    keys: ["{KEY}"]
""")
    return serve_tollgate(binary, config, "runpod_latency.py")


def timed(port, path, body, headers, n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()
    # http.client writes the head and the body apart: no Nagle wait between them.
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        samples.append(time.perf_counter() - start)
        assert resp.status == 200, resp.status
    conn.close()
    return samples


def pct(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=str(ROOT / ".build/release/tollgate"))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server, state = fake_runpod.start()
    fake_port = server.server_address[1]
    with tempfile.TemporaryDirectory() as directory:
        gateway, port = start_gateway(args.bin, fake_port, directory)
        try:
            payload = {"prompt": "hi", "fake": {"output": {"text": "ok"}}}
            direct_body = json.dumps({"input": payload}).encode()
            via_body = json.dumps(payload).encode()
            direct_headers = {"Authorization": f"Bearer {fake_runpod.API_KEY}", "Content-Type": "application/json"}
            via_headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            timed(fake_port, "/v2/ep1/runsync", direct_body, direct_headers, 200)  # warm-up
            timed(port, "/v1/run/bench", via_body, via_headers, 200)
            direct, via = [], []
            for _ in range(args.rounds):
                direct += timed(fake_port, "/v2/ep1/runsync", direct_body, direct_headers, args.n)
                via += timed(port, "/v1/run/bench", via_body, via_headers, args.n)
        finally:
            gateway.terminate()
            gateway.wait(10)
            server.shutdown()
    print(f"runsync direct:  p50 {pct(direct, .5):.3f} ms  p99 {pct(direct, .99):.3f} ms  ({len(direct)} requests)")
    print(f"through tollgate: p50 {pct(via, .5):.3f} ms  p99 {pct(via, .99):.3f} ms")
    print(f"added:            p50 {pct(via, .5) - pct(direct, .5):.3f} ms  p99 {pct(via, .99) - pct(direct, .99):.3f} ms")


if __name__ == "__main__":
    main()
