// SPDX-License-Identifier: Apache-2.0
// The process's control signals, read from a signalfd by the main thread (signalfd(2)): blocked
// before any loop thread exists so every thread inherits the mask, and read synchronously, so
// no handler ever runs on a loop thread in the middle of its work.
import CLinux
import Glibc

public final class ProcessSignals {
    public enum Signal: Sendable, Equatable {
        /// SIGHUP: reload the config.
        case reload
        /// SIGTERM or SIGINT: drain and stop.
        case stop
        /// Not a signal: a `POST /admin/reload` waits for the reloading thread.
        case reloadRequested
    }

    private let fd: Int32

    /// Blocks SIGTERM, SIGINT and SIGHUP for this thread and every thread started after, and
    /// opens the descriptor they arrive on. Call before the gateway starts: once clients may
    /// use up every descriptor, a signalfd made later could fail (EMFILE).
    /// - Returns: nil (with errno's text) when the descriptor cannot be made.
    public static func capture() -> Result<ProcessSignals, SignalCaptureError> {
        var signals = sigset_t()
        _ = tg_block_signals(&signals)
        let fd = tg_signalfd(&signals)
        guard fd >= 0 else { return .failure(SignalCaptureError(reason: String(cString: strerror(tg_errno())))) }
        return .success(ProcessSignals(fd: fd))
    }

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit { close(fd) }

    /// The next signal (blocking, EINTR retried); nil if the descriptor cannot be read.
    /// - Parameter requests: also returns `.reloadRequested` when a `POST /admin/reload` waits
    ///   (a signal that arrived meanwhile comes first).
    public func next(requests: ReloadRequests? = nil) -> Signal? {
        if let requests {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: requests.wakeFD, events: Int16(POLLIN), revents: 0)]
            while true {
                let n = poll(&fds, 2, -1)
                if n < 0 && tg_errno() == EINTR { continue }
                guard n > 0 else { return nil }
                if fds[0].revents != 0 { break }
                if fds[1].revents & Int16(POLLIN) != 0 { return .reloadRequested }
                return nil
            }
        }
        var info = signalfd_siginfo()
        while true {
            let n = read(fd, &info, MemoryLayout<signalfd_siginfo>.size)
            if n == MemoryLayout<signalfd_siginfo>.size { return Int32(info.ssi_signo) == SIGHUP ? .reload : .stop }
            if n < 0 && tg_errno() == EINTR { continue }
            return nil
        }
    }

    /// Why reading failed, for the operator.
    public var lastErrorText: String { String(cString: strerror(tg_errno())) }

    /// What `Gateway.shutdown(drainTimeout:interrupt:)` polls: a second stop signal ends the
    /// drain at once; a SIGHUP while draining has nothing to reload into and is ignored.
    public var interrupt: (fd: Int32, handler: () -> Bool) {
        (fd, { [self] in
            secondStopReceived = secondStopReceived || next() == .stop
            return secondStopReceived
        })
    }

    /// A stop signal arrived while draining (through `interrupt`).
    public private(set) var secondStopReceived = false
}

public struct SignalCaptureError: Error, Sendable {
    public let reason: String
}
