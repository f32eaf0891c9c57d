// SPDX-License-Identifier: Apache-2.0
// The connection as an attacker drives it: every answer that closes the connection, with the
// request head split at every byte (the server sees exactly two reads), alone and pipelined
// behind a good request. A trap here would end the whole process, so the server must still
// answer a fresh connection after each case.
import Testing
import TollgateTestSupport

@Suite(.serialized)
struct ConnectionSplitTests {
    /// Requests whose answer closes the connection, and the status each gets.
    static let closingRequests: [(name: String, bytes: String, status: Int)] = [
        ("connection-close", "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 200),
        ("http-1.0", "GET /hello HTTP/1.0\r\n\r\n", 200),
        ("early-401-unread-body", "POST /deny HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 401),
        ("malformed-line", "GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400),
    ]
    static let good = "GET /hello?first HTTP/1.1\r\nHost: t\r\n\r\n"

    @Test(arguments: closingRequests.indices, [false, true])
    func closingAnswerWithHeadSplitAtEveryByte(_ index: Int, pipelined: Bool) throws {
        let server = try TestServer()
        defer { server.stop() }
        let (name, text, status) = Self.closingRequests[index]
        let request = Array(text.utf8)
        for split in 1..<request.count {
            let client = try RawClient(port: server.port)
            let first = (pipelined ? Array(Self.good.utf8) : []) + request[0..<split]
            client.send(first)
            #expect(client.waitUntilServerRead(), "\(name) split \(split): server did not read the first part")
            client.send(Array(request[split...]))
            if pipelined { #expect(try client.readResponse().text == "hello first", "\(name) split \(split)") }
            let response = try client.readResponse()
            #expect(response.status == status, "\(name) split \(split)")
            #expect(response.header("connection") == "close", "\(name) split \(split)")
            #expect(try client.readUntilClosed().isEmpty, "\(name) split \(split)")
        }
        // The process is alive and still serving.
        let after = try RawClient(port: server.port)
        after.send("GET /hello?alive HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try after.readResponse().text == "hello alive")
    }

    /// The good request is answered at once, or later from a timer (its answer then resumes
    /// parsing from outside the connection's own read callback).
    @Test(arguments: closingRequests.indices, ["/hello?first", "/slow?5"])
    func goodRequestPipelinedWithAClosingOneInOneWrite(_ index: Int, goodPath: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let (name, text, status) = Self.closingRequests[index]
        let good = "GET \(goodPath) HTTP/1.1\r\nHost: t\r\n\r\n"
        let client = try RawClient(port: server.port)
        client.send(good + text + good)
        #expect(try client.readResponse().status == 200, "\(name)")
        let response = try client.readResponse()
        #expect(response.status == status, "\(name)")
        // Nothing after the closing answer is served.
        #expect(try client.readUntilClosed().isEmpty, "\(name)")
        let after = try RawClient(port: server.port)
        after.send("GET /hello?alive HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try after.readResponse().text == "hello alive")
    }

    /// A head far larger than one read (the kernel splits it), answered with a close.
    @Test func largeHeadSplitByTheKernelThenClosingAnswer() throws {
        let server = try TestServer()
        defer { server.stop() }
        let filler = String(repeating: "x", count: 7000)  // 4 × 7 KB: under max_header (32 KB)
        var head = "POST /deny HTTP/1.1\r\nHost: t\r\n"
        for i in 0..<4 { head += "X-Filler-\(i): \(filler)\r\n" }
        head += "Content-Length: 3\r\n\r\nabc"
        let bytes = Array(head.utf8)
        for split in [1, 100, 16 * 1024, 16 * 1024 + 1, bytes.count - 3] {
            let client = try RawClient(port: server.port)
            client.send(Array(bytes[0..<split]))
            #expect(client.waitUntilServerRead())
            client.send(Array(bytes[split...]))
            #expect(try client.readResponse().status == 401, "split \(split)")
        }
        let after = try RawClient(port: server.port)
        after.send("GET /hello?alive HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try after.readResponse().text == "hello alive")
    }
}
