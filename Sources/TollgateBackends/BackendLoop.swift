// SPDX-License-Identifier: Apache-2.0
// What one event loop offers the adapters built on it: the loop, its libcurl multi handle (the
// process's DNS cache comes through the CurlShare), and the calls that outlive their exchange.
// One per loop for the life of the loop, not per plan: a job cancel sent under the plan before
// a reload still runs to its end after it.
public import TollgateIO
public import TollgateUpstream

public final class BackendLoop {
    public let eventLoop: EventLoop
    private let curlShare: CurlShare
    /// Made on first use, so loops that never proxy hold no multi handle.
    public private(set) lazy var multi = CurlMulti(loop: eventLoop, share: curlShare)
    /// Job cancels and other calls that must finish after their request is gone.
    public private(set) lazy var detachedCalls = DetachedCalls(multi: multi)

    public init(loop: EventLoop, curlShare: CurlShare) {
        self.eventLoop = loop
        self.curlShare = curlShare
    }
}
