// SPDX-License-Identifier: Apache-2.0
// A blocking raw-socket HTTP/1.1 client for tests: sends exact bytes, reads responses with a
// receive deadline (SO_RCVTIMEO), so no test sleeps or hangs.
import Glibc

package struct RawResponse {
    package var status: Int
    package var headers: [(String, String)]
    package var body: [UInt8]
    /// The body ended as its framing said; false when the connection closed mid-body (only
    /// with `readResponse(toleratingCut: true)`).
    package var complete = true

    package init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    package var text: String { String(decoding: body, as: UTF8.self) }
}

package enum RawClientError: Error { case connectFailed(Int32), timeout, closed, malformed(String) }

package final class RawClient {
    package let fd: Int32
    private var buffer: [UInt8] = []

    package init(port: UInt16, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw RawClientError.connectFailed(e)
        }
    }

    deinit { Glibc.close(fd) }

    package func send(_ text: String) { send(Array(text.utf8)) }

    package func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// Sends and reports whether the kernel accepted all bytes (false once the peer is gone).
    package func trySend(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// Reads more bytes; false on EOF. Throws on timeout or reset.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw RawClientError.timeout }
            throw RawClientError.closed
        }
        if n == 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A), i > 0, buffer[i - 1] == 0x0D {
                let line = String(decoding: buffer[0..<(i - 1)], as: UTF8.self)
                buffer.removeFirst(i + 1)
                return line
            }
            guard try fill() else { throw RawClientError.closed }
        }
    }

    private func readExactly(_ n: Int) throws -> [UInt8] {
        while buffer.count < n {
            guard try fill() else { throw RawClientError.closed }
        }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    /// Reads one response (interim 1xx responses are returned as their own responses).
    /// `toleratingCut`: a body the server cut short by closing comes back with `complete`
    /// false instead of throwing.
    package func readResponse(isHEAD: Bool = false, toleratingCut: Bool = false) throws -> RawResponse {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
            throw RawClientError.malformed(statusLine)
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw RawClientError.malformed(line) }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces()))
        }
        var response = RawResponse(status: status, headers: headers, body: [])
        if status < 200 || isHEAD || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            do {
                response.body = try readExactly(length)
            } catch RawClientError.closed where toleratingCut {
                response.body = buffer
                buffer = []
                response.complete = false
            }
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            do {
                while true {
                    let sizeLine = try readLine()
                    guard let size = Int(sizeLine, radix: 16) else { throw RawClientError.malformed(sizeLine) }
                    if size == 0 {
                        while try !readLine().isEmpty {}
                        break
                    }
                    response.body += try readExactly(size)
                    _ = try readLine()
                }
            } catch RawClientError.closed where toleratingCut {
                response.complete = false
            }
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// Reads until `marker` has arrived; returns everything received so far (kept for later
    /// reads too).
    package func read(until marker: String) throws -> String {
        let pattern = Array(marker.utf8)
        while true {
            if buffer.count >= pattern.count,
               (0...(buffer.count - pattern.count)).contains(where: { buffer[$0..<($0 + pattern.count)].elementsEqual(pattern) }) {
                return String(decoding: buffer, as: UTF8.self)
            }
            guard try fill() else { throw RawClientError.closed }
        }
    }

    /// Whether the server closed the connection (EOF or reset) before the receive deadline.
    package func isClosedByServer() -> Bool {
        do { return try !fill() } catch RawClientError.closed { return true } catch { return false }
    }

    /// Hangs up both directions (the descriptor stays open until the client is freed).
    package func hangUp() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Reads until the server closes the connection (EOF) and returns what came before it;
    /// throws when the receive deadline passes first.
    package func readUntilClosed() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }
}

private extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension RawClient {
    /// Waits (polling, bounded) until the server process has read every byte this client sent:
    /// the server side's receive queue in /proc/net/tcp is empty. Lets a test make the server
    /// see a request in two reads exactly where it chose to split it.
    package func waitUntilServerRead(seconds: Double = 5) -> Bool {
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        var remote = sockaddr_in()
        var remoteLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        _ = withUnsafeMutablePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &remoteLength) }
        }
        let clientPort = UInt16(bigEndian: local.sin_port)
        let serverPort = UInt16(bigEndian: remote.sin_port)
        // The server's socket: local = server port, remote = our port (0100007F = 127.0.0.1).
        let wanted = String(format4: serverPort) + " 0100007F:" + String(format4: clientPort)
        return eventually(seconds) {
            guard let table = try? readProcFile("/proc/net/tcp") else { return false }
            for line in table.split(separator: "\n") where line.contains(wanted) {
                let fields = line.split(separator: " ")
                guard fields.count > 4, fields[1].hasSuffix(String(format4: serverPort)) else { continue }
                let queues = fields[4].split(separator: ":")
                if queues.count == 2, Int(queues[1], radix: 16) == 0 { return true }
            }
            return false
        }
    }
}

private func readProcFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw RawClientError.closed }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

private extension String {
    /// A port as /proc/net/tcp writes it: four upper-case hex digits.
    init(format4 port: UInt16) {
        let hex = String(port, radix: 16, uppercase: true)
        self = String(repeating: "0", count: 4 - hex.count) + hex
    }
}
