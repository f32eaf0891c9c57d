// SPDX-License-Identifier: Apache-2.0
// The access log's line format (SPEC §7), pinned byte for byte: every field, the optional ones
// left out, JSON escaping of whatever a client can put into a line, and strings far longer than
// any line's fixed part (the line is built in one reserved region).
import Glibc
import Testing
import TollgateCore
@testable import TollgateMetering

struct AccessLogTests {
    /// The lines `records` produce, read back from a temporary file the writer thread wrote.
    private func lines(_ records: [UsageRecord]) throws -> [String] {
        var template = Array("/tmp/tollgate-accesslog-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(template)
        }
        let writer = LogWriter(outputFD: fd)
        writer.start()
        let log = AccessLog(writer: writer)
        for record in records { log.record(record) }
        log.loopIterationEnded()
        writer.close()
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
            offset += off_t(n)
        }
        #expect(bytes.last == 0x0A)
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// A random prefix (RequestID's fields are set by its generator only): its 24 hex digits
    /// are compared with `description`'s, which RequestIDTests pins.
    private let id: RequestID = {
        var generator = RequestIDGenerator()
        return generator.next()
    }()

    @Test func everyFieldInItsPlace() throws {
        var r = UsageRecord(id: id, clientRequestID: "req-1", timestamp: 1_700_000_000.5, method: "POST",
                            path: "/v1/chat/completions", status: 200, latencyMs: 12.3456, bytesIn: 93, bytesOut: 290)
        r.clientAddress = "192.0.2.7"
        r.ttfbMs = 0.0004
        r.user = "bench"
        r.keyID = "k1"
        r.model = "bench-model"
        r.backend = "up"
        r.attempts = 2
        r.upstreamSeconds = 1.5
        r.gpu = MilliGPUSeconds(1_234)
        r.cost = MicroDollars(190)
        r.coldStart = true
        r.promptTokens = 9
        r.completionTokens = 0
        r.error = "upstream_failed"
        let got = try lines([r])
        #expect(got == [
            #"{"ts":"2023-11-14T22:13:20.500Z","id":"\#(id)","client_request_id":"req-1","client":"192.0.2.7","#
            + #""method":"POST","path":"/v1/chat/completions","status":200,"latency_ms":12.346,"ttfb_ms":0.000,"bytes_in":93,"#
            + #""bytes_out":290,"user":"bench","key_id":"k1","model":"bench-model","backend":"up","attempts":2,"#
            + #""upstream_ms":1500.000,"gpu_seconds":1.234,"cost_usd":0.000190,"cold_start":true,"prompt_tokens":9,"completion_tokens":0,"error":"upstream_failed"}"#,
        ])
    }

    @Test func optionalFieldsAreLeftOut() throws {
        let r = UsageRecord(id: id, clientRequestID: nil, timestamp: 86_400.25, method: "-",
                            path: "-", status: 400, latencyMs: 0, bytesIn: 0, bytesOut: 0)
        #expect(try lines([r]) == [
            #"{"ts":"1970-01-02T00:00:00.250Z","id":"\#(id)","method":"-","path":"-","status":400,"#
            + #""latency_ms":0.000,"bytes_in":0,"bytes_out":0}"#,
        ])
    }

    @Test func whatAClientSendsIsEscaped() throws {
        var r = UsageRecord(id: id, clientRequestID: "a\"b\\c\nd\re\tf\u{01}g\u{7F}h", timestamp: 0, method: "GET",
                            path: "/é/\u{1F600}", status: 404, latencyMs: 1, bytesIn: 0, bytesOut: 10)
        r.model = "m\"odel"
        r.error = "0123456789\u{7F}abcdefgh\"ijklmnopqrstuvw\\xyzéèàçñ\u{1F}"
        let got = try lines([r])
        #expect(got == [
            #"{"ts":"1970-01-01T00:00:00.000Z","id":"\#(id)","#
            + #""client_request_id":"a\"b\\c\nd\re\tf\u0001g\u007fh","method":"GET","path":"/é/\#u{1F600}","#
            + #""status":404,"latency_ms":1.000,"bytes_in":0,"bytes_out":10,"model":"m\"odel","#
            + #""error":"0123456789\u007fabcdefgh\"ijklmnopqrstuvw\\xyzéèàçñ\u001f"}"#,
        ])
    }

    @Test func longStringsAreWrittenWhole() throws {
        // Every byte escaped to six: far beyond any fixed reservation for the line.
        let controls = String(repeating: "\u{01}", count: 20_000)
        let quotes = String(repeating: "\"", count: 30_000)
        var r = UsageRecord(id: id, clientRequestID: controls, timestamp: 0, method: "POST", path: quotes,
                            status: 500, latencyMs: 0, bytesIn: 0, bytesOut: 0)
        r.error = String(repeating: "e", count: 100_000)
        let got = try lines([r, r])
        #expect(got.count == 2)
        #expect(got[0] == got[1])
        #expect(got[0].contains(#""client_request_id":""# + String(repeating: #"\u0001"#, count: 20_000) + #"","#))
        #expect(got[0].contains(#""path":""# + String(repeating: #"\""#, count: 30_000) + #"","#))
        #expect(got[0].hasSuffix(#""error":""# + String(repeating: "e", count: 100_000) + #""}"#))
    }
}
