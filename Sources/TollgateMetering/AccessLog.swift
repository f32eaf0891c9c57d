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
        let second = Int64(r.timestamp.rounded(.down))
        if second != cachedSecond { cacheTimestampPrefix(second) }
        // The line is written into one region reserved for its longest possible form: the
        // fixed part, and every string escaped at its worst (six bytes a byte, `\u00XX`).
        // Strings live in memory, so six times their lengths cannot overflow an Int.
        func length(_ text: String?) -> Int { text?.utf8.count ?? 0 }
        let strings = r.method.utf8.count &+ r.path.utf8.count &+ length(r.clientRequestID) &+ length(r.clientAddress)
            &+ length(r.user) &+ length(r.keyID) &+ length(r.model) &+ length(r.backend) &+ length(r.error)
        let bound = Self.fixedPartBound &+ cachedPrefix.count &+ 6 &* strings
        _ = buffer.writeWithUnsafeMutableBytes(minimumWritable: bound) { region in
            var line = RegionWriter(region)
            write(r, second: second, to: &line)
            // Never short (the bound above is the worst case); should it be, the line is
            // dropped rather than written cut.
            return line.overflowed ? 0 : line.count
        }
    }

    /// Everything of a line but its strings (keys, numbers, the time and the id) fits here.
    private static let fixedPartBound = 1024

    private func write(_ r: UsageRecord, second: Int64, to line: inout RegionWriter) {
        line.append("{\"ts\":\"")
        cachedPrefix.withUnsafeBytes { line.append($0) }
        let millis = Int((r.timestamp - Double(second)) * 1000)
        line.append(byte: UInt8(ascii: "."))
        line.append(decimal: min(max(millis, 0), 999), minimumDigits: 3)
        line.append("Z\",\"id\":\"")
        line.append(requestID: r.id)
        line.append(byte: UInt8(ascii: "\""))
        if let client = r.clientRequestID { line.field(",\"client_request_id\":\"", client) }
        if let address = r.clientAddress { line.field(",\"client\":\"", address) }
        line.field(",\"method\":\"", r.method)
        line.field(",\"path\":\"", r.path)
        line.append(",\"status\":")
        line.append(decimal: r.status)
        line.append(",\"latency_ms\":")
        line.append(millis: r.latencyMs)
        if let ttfb = r.ttfbMs {
            line.append(",\"ttfb_ms\":")
            line.append(millis: ttfb)
        }
        line.append(",\"bytes_in\":")
        line.append(decimal: r.bytesIn)
        line.append(",\"bytes_out\":")
        line.append(decimal: r.bytesOut)
        if let user = r.user { line.field(",\"user\":\"", user) }
        if let keyID = r.keyID { line.field(",\"key_id\":\"", keyID) }
        if let model = r.model { line.field(",\"model\":\"", model) }
        if let backend = r.backend { line.field(",\"backend\":\"", backend) }
        if r.attempts > 0 {
            line.append(",\"attempts\":")
            line.append(decimal: r.attempts)
            line.append(",\"upstream_ms\":")
            line.append(millis: r.upstreamSeconds * 1000)
            // The figures the response's headers (or the stream's closing comment) carried.
            line.append(",\"gpu_seconds\":")
            line.append(fixed: r.gpu.value, places: 3)
            line.append(",\"cost_usd\":")
            line.append(fixed: r.cost.value, places: 6)
        }
        if r.coldStart { line.append(",\"cold_start\":true") }
        if let p = r.promptTokens {
            line.append(",\"prompt_tokens\":")
            line.append(decimal: p)
        }
        if let c = r.completionTokens {
            line.append(",\"completion_tokens\":")
            line.append(decimal: c)
        }
        if let error = r.error { line.field(",\"error\":\"", error) }
        line.append("}\n")
    }

    public func loopIterationEnded() {
        guard !buffer.isEmpty else { return }
        writer.submit(buffer.readable)
        buffer.clear(keepingUpTo: 64 * 1024)
    }

    /// RFC 3339 UTC up to the second (the line adds milliseconds), cached per second.
    private func cacheTimestampPrefix(_ second: Int64) {
        cachedSecond = second
        cachedPrefix = Array(CivilDate.dateTimeText(unixSeconds: second).utf8)
    }
}

/// What only log lines need.
private extension RegionWriter {
    /// Milliseconds with three decimals (microseconds: what a latency log needs), without a
    /// Double formatting call. Negative, not finite or absurdly large values are clamped.
    mutating func append(millis ms: Double) {
        let scaled = (ms * 1000).rounded()
        let micros = scaled >= 0 && scaled < 1e18 ? Int(scaled) : (scaled >= 1e18 ? 999_999_999_999_999_999 : 0)
        append(decimal: micros / 1000)
        append(byte: UInt8(ascii: "."))
        append(decimal: micros % 1000, minimumDigits: 3)
    }

    /// `value` / 10^`places` exactly (FixedPointText's form), without a String.
    mutating func append(fixed value: Int64, places: Int) {
        if value < 0 { append(byte: UInt8(ascii: "-")) }
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let magnitude = value.magnitude
        append(decimal: Int(clamping: magnitude / scale))
        append(byte: UInt8(ascii: "."))
        append(decimal: Int(clamping: magnitude % scale), minimumDigits: places)
    }

    /// `,"name":"` then `text` escaped for the inside of a JSON string (as JSONText does),
    /// then the closing quote.
    mutating func field(_ opening: StaticString, _ text: String) {
        append(opening)
        append(jsonEscaped: text)
        append(byte: UInt8(ascii: "\""))
    }
}
