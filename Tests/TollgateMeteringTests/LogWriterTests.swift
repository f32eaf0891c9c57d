// SPDX-License-Identifier: Apache-2.0
// The log thread against a stdout that is a non-blocking pipe read slowly (a journal or a
// container runtime that falls behind): every line arrives, none is silently lost.
import Glibc
import Testing
@testable import TollgateMetering

struct LogWriterTests {
    @Test func nonBlockingStdoutThatFillsLosesNoLine() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }
        // The pipe's write side non-blocking, as a runtime may hand it to us: writes past its
        // 64 KiB buffer fail with EAGAIN instead of waiting.
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        let writer = LogWriter(outputFD: writeEnd, capacity: 64 << 20)
        writer.start()
        let lines = 20_000
        var expected = 0
        for i in 0..<lines {
            let line = "{\"n\":\(i),\"pad\":\"\(String(repeating: "x", count: 60))\"}\n"
            expected += line.utf8.count
            var copy = line
            copy.withUTF8 { writer.submit(UnsafeRawBufferPointer($0)) }
        }
        // Read slowly in another thread while the writer keeps hitting a full pipe.
        let reader = PipeReader(fd: readEnd)
        reader.start()
        writer.close()
        close(writeEnd)
        reader.join()
        #expect(reader.total == expected)
        #expect(reader.newlines == lines)
        #expect(writer.droppedLines == 0)
    }

    @Test func linesThatCannotBeWrittenAreCounted() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])  // nobody will ever read: writes fail with EPIPE
        signal(SIGPIPE, SIG_IGN)  // as serve does: EPIPE as an error, not a signal
        let writer = LogWriter(outputFD: fds[1], capacity: 1 << 20)
        writer.start()
        var text = "a\nb\nc\n"
        text.withUTF8 { writer.submit(UnsafeRawBufferPointer($0)) }
        writer.close()
        close(fds[1])
        #expect(writer.droppedLines == 3)
    }
}

extension LogWriterTests {
    @Test func closeDoesNotWaitForeverOnAStdoutNobodyReads() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        let writer = LogWriter(outputFD: fds[1], capacity: 8 << 20, closeGraceNs: 200_000_000)
        writer.start()
        let line = Array(String(repeating: "z", count: 99).utf8) + [0x0A]
        for _ in 0..<4000 { line.withUnsafeBytes { writer.submit($0) } }   // 400 KB > the pipe's 64 KiB
        let start = ContinuousClock.now
        writer.close()   // the reader never comes: bounded, and the loss is counted
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(writer.droppedLines > 0)
    }
}

/// Reads a pipe to EOF in small, slow steps on its own thread.
final class PipeReader: @unchecked Sendable {
    let fd: Int32
    private(set) var total = 0
    private(set) var newlines = 0
    private var thread = pthread_t()

    init(fd: Int32) { self.fd = fd }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let reader = Unmanaged<PipeReader>.fromOpaque(raw!).takeRetainedValue()
            reader.run()
            return nil
        }, box)
    }

    func join() { pthread_join(thread, nil) }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, 4096) }
            if n <= 0 { return }
            total += n
            newlines += buffer[0..<n].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            var pfd = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&pfd, 0, 1)  // a slow consumer
        }
    }
}
