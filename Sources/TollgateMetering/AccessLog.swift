// SPDX-License-Identifier: Apache-2.0
// One JSON line per request on stdout (SPEC §7), built on the loop into a per-loop buffer with
// no locks or allocations beyond the line itself, and handed to the LogWriter thread once per
// loop iteration. No header maps, keys or bodies are ever written.
import CLinux
public import TollgateIO
import TollgateCore

public final class AccessLog: UsageSink, LoopIterationObserver {
    private let writer: LogWriter
    private var buffer = ByteBuffer()
    private var cachedSecond: Int64 = -1
    private var cachedPrefix: [UInt8] = []

    public init(writer: LogWriter) {
        self.writer = writer
    }

    public func record(_ r: UsageRecord) {
        buffer.append("{\"ts\":\"")
        appendTimestamp(r.timestamp)
        buffer.append("\",\"id\":\"")
        buffer.append(hex: r.id.prefix, width: 16)
        buffer.append(hex: UInt64(r.id.counter), width: 8)
        buffer.append("\"")
        if let client = r.clientRequestID { field("client_request_id", client) }
        if let address = r.clientAddress { field("client", address) }
        field("method", r.method)
        field("path", r.path)
        buffer.append(",\"status\":")
        buffer.append(decimal: r.status)
        buffer.append(",\"latency_ms\":")
        appendMillis(r.latencyMs)
        if let ttfb = r.ttfbMs {
            buffer.append(",\"ttfb_ms\":")
            appendMillis(ttfb)
        }
        buffer.append(",\"bytes_in\":")
        buffer.append(decimal: r.bytesIn)
        buffer.append(",\"bytes_out\":")
        buffer.append(decimal: r.bytesOut)
        if let user = r.user { field("user", user) }
        if let keyID = r.keyID { field("key_id", keyID) }
        if let model = r.model { field("model", model) }
        if let backend = r.backend { field("backend", backend) }
        if r.attempts > 0 {
            buffer.append(",\"attempts\":")
            buffer.append(decimal: r.attempts)
            buffer.append(",\"upstream_ms\":")
            appendMillis(r.upstreamSeconds * 1000)
        }
        if r.coldStart { buffer.append(",\"cold_start\":true") }
        if let p = r.promptTokens {
            buffer.append(",\"prompt_tokens\":")
            buffer.append(decimal: p)
        }
        if let c = r.completionTokens {
            buffer.append(",\"completion_tokens\":")
            buffer.append(decimal: c)
        }
        if let error = r.error { field("error", error) }
        buffer.append("}\n")
    }

    public func loopIterationEnded() {
        guard !buffer.isEmpty else { return }
        writer.submit(buffer.readable)
        buffer.clear(keepingUpTo: 64 * 1024)
    }

    private func field(_ name: StaticString, _ value: String) {
        buffer.append(",\"")
        buffer.append(name)
        buffer.append("\":\"")
        JSONText.appendEscaped(value, to: &buffer)
        buffer.append(byte: UInt8(ascii: "\""))
    }

    private func appendMillis(_ ms: Double) {
        // Three decimals (microseconds) is what a latency log needs; no Double formatting calls.
        let micros = Int((ms * 1000).rounded())
        buffer.append(decimal: max(micros, 0) / 1000)
        buffer.append(byte: UInt8(ascii: "."))
        let fraction = max(micros, 0) % 1000
        if fraction < 100 { buffer.append(byte: UInt8(ascii: "0")) }
        if fraction < 10 { buffer.append(byte: UInt8(ascii: "0")) }
        buffer.append(decimal: fraction)
    }

    /// RFC 3339 UTC with milliseconds; the date and time up to the second are cached.
    private func appendTimestamp(_ unix: Double) {
        let second = Int64(unix.rounded(.down))
        if second != cachedSecond {
            cachedSecond = second
            let days = second / 86_400
            let date = CivilDate(daysSinceEpoch: days)
            let (y, m, d) = (date.year, date.month, date.day)
            let s = second - days * 86_400
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            cachedPrefix = Array("\(y)-\(two(m))-\(two(d))T\(two(Int(s / 3600))):\(two(Int(s % 3600 / 60))):\(two(Int(s % 60)))".utf8)
        }
        buffer.append(cachedPrefix)
        let millis = Int((unix - Double(second)) * 1000)
        buffer.append(byte: UInt8(ascii: "."))
        if millis < 100 { buffer.append(byte: UInt8(ascii: "0")) }
        if millis < 10 { buffer.append(byte: UInt8(ascii: "0")) }
        buffer.append(decimal: min(max(millis, 0), 999))
        buffer.append(byte: UInt8(ascii: "Z"))
    }
}
