// SPDX-License-Identifier: Apache-2.0
// `make bench` → the usage writer on its own (issue 9, Measure): rows per second through the
// real UsageWriter (loop-sized hand-overs of 64 records, batched transactions with their
// rollups) into a database in a temporary directory, and the bytes each row takes on disk
// (file size after the close's checkpoint, divided by rows). No network, no gateway.
//
//   writer_bench [ROWS]        (default 100000)
import Glibc
import TollgateCore
import TollgateMetering

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

let rows = CommandLine.arguments.count > 1 ? max(Int(CommandLine.arguments[1]) ?? 100_000, 1) : 100_000
var template = Array("/tmp/tollgate-writer-bench-XXXXXX".utf8CString)
let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
let path = dir + "/usage.db"
defer {
    for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    rmdir(dir)
}

// Realistic rows: 50 users, 5 models, 3 backends, tokens, timings; ids from the gateway's generator.
let users = (0..<50).map { "user-\($0)" }
let models = ["llama-3.1-8b", "qwen2.5-7b", "flux-schnell", "whisper-large-v3", "bge-m3"]
let backends = ["box", "runpod-a10g", "hf-t4"]
var ids = RequestIDGenerator()
var rng = SplitMix64(seed: 7)
let start = Double(time(nil)) - 3600
var records: [UsageRecord] = []
records.reserveCapacity(rows)
for i in 0..<rows {
    var r = UsageRecord(id: ids.next(), clientRequestID: nil, timestamp: start + Double(i) * 0.01, method: "POST",
                        path: "/v1/chat/completions", status: rng.next() % 50 == 0 ? 502 : 200,
                        latencyMs: 200 + rng.unit() * 2000, bytesIn: 300 + Int(rng.next() % 2000), bytesOut: 800 + Int(rng.next() % 4000))
    r.user = users[Int(rng.next() % 50)]
    r.keyID = "a1b2c3d4"
    r.model = models[Int(rng.next() % 5)]
    r.task = "chat"
    r.backend = backends[Int(rng.next() % 3)]
    r.attempts = 1
    r.ttfbMs = 80 + rng.unit() * 300
    r.upstreamSeconds = r.latencyMs / 1000 - 0.002
    r.gpu = MilliGPUSeconds(Int64(r.upstreamSeconds * 1000))
    r.cost = MicroDollars(Int64(rng.next() % 2_000))
    r.promptTokens = 20 + Int(rng.next() % 500)
    r.completionTokens = 10 + Int(rng.next() % 300)
    if r.status != 200 { r.error = "upstream_error" }
    records.append(r)
}

var options = UsageWriterOptions()
options.queueCapacity = rows + 1   // measure the writer, not the drop policy
let writer: UsageWriter
do {
    writer = try UsageWriter(path: path, options: options)
} catch {
    print("writer_bench: \(error)")
    exit(1)
}
writer.start()
let began = monotonicSeconds()
var chunk: [UsageRecord] = []
for start in stride(from: 0, to: rows, by: 64) {
    chunk.append(contentsOf: records[start..<min(start + 64, rows)])
    writer.submit(&chunk)
}
writer.close()
let elapsed = monotonicSeconds() - began
let bytes = fileSize(path) + fileSize(path + "-wal")
print("usage writer: \(rows) rows in \(Int(elapsed * 1000)) ms = \(Int(Double(writer.committedRows) / elapsed)) rows/s"
      + " (dropped \(writer.droppedRows)); database \(bytes) bytes = \(bytes / max(writer.committedRows, 1)) bytes/row")
