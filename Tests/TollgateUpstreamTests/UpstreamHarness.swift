// SPDX-License-Identifier: Apache-2.0
// One event loop with its CurlMulti for the length of a test, and a transfer delegate that
// records what curl reported. Everything curl-side runs on the loop thread; the test thread
// only reads snapshots and polls them against a deadline.
import Glibc
import Synchronization
import TollgateIO
import TollgateTestSupport
@testable import TollgateUpstream

/// Polls `condition` every millisecond until it holds or `seconds` pass.
/// A value handed between the loop thread and the test thread.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

final class UpstreamHarness: @unchecked Sendable {
    let group: EventLoopGroup
    var loop: EventLoop { group.loops[0] }
    /// Made, used and (after `shutdown`) dropped while no loop runs it elsewhere.
    private(set) var multi: CurlMulti?

    init() throws {
        group = try EventLoopGroup(count: 1)
        group.start()
        onLoop { self.multi = CurlMulti(loop: self.loop, share: CurlShare()) }
    }

    /// Runs `body` on the loop and returns once it ran.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        let done = Shared(false)
        loop.execute {
            body()
            done.value = true
        }
        _ = eventually(10) { done.value }
    }

    func shutdown() {
        group.stop()
        group.join()
        multi = nil
    }
}

/// What a transfer told its delegate, readable from the test thread.
struct TransferEvents: Sendable {
    var status: Int?
    var headers: [(String, String)] = []
    var contentLength: Int?
    var body: [UInt8] = []
    var bodyCalls = 0
    var outcome: UpstreamOutcome?
    var ends = 0
    var text: String { String(decoding: body, as: UTF8.self) }
}

final class TransferRecorder: UpstreamTransferDelegate, @unchecked Sendable {
    private let events = Mutex(TransferEvents())
    /// Loop-only: the transfer, once started.
    var transfer: UpstreamTransfer?
    /// Loop-only: called after each body piece was recorded; returns whether to keep receiving.
    var onBody: ((TransferRecorder, UpstreamTransfer) -> Bool)?

    var snapshot: TransferEvents { events.withLock { $0 } }

    /// Starts `request` on the harness's loop with this recorder as its delegate.
    func start(_ request: UpstreamRequest, on harness: UpstreamHarness) {
        harness.onLoop {
            guard let multi = harness.multi else { return }
            self.transfer = UpstreamTransfer(request: request, multi: multi, delegate: self)
        }
    }

    func upstreamHead(_ transfer: UpstreamTransfer, status: Int, headers: [(String, String)]) {
        events.withLock {
            $0.status = status
            $0.headers = headers
            $0.contentLength = transfer.contentLength
        }
    }

    func upstreamBody(_ transfer: UpstreamTransfer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        events.withLock {
            $0.body += bytes
            $0.bodyCalls += 1
        }
        return onBody?(self, transfer) ?? true
    }

    func upstreamReadBody(_ transfer: UpstreamTransfer, into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        .end
    }

    func upstreamEnded(_ transfer: UpstreamTransfer, outcome: UpstreamOutcome) {
        events.withLock {
            $0.outcome = outcome
            $0.ends += 1
        }
        self.transfer = nil
    }
}
