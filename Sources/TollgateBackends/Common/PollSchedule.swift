// SPDX-License-Identifier: Apache-2.0
// When a job-based adapter asks its platform again: 250 ms after the submit, then each wait
// 1.5 times the last, up to 5 s — quick for the short jobs most calls are, a few requests a
// minute for the long ones — bounded by the call's deadline and a number of polls, so no job
// can be polled forever. Pure: the caller passes the loop's clock (monotonic nanoseconds).

public struct PollSchedule: Sendable, Equatable {
    public let firstDelayNs: UInt64
    public let maxDelayNs: UInt64
    /// The schedule's end: no poll is due after it.
    public let deadline: UInt64
    public let maxPolls: Int
    /// Polls handed out so far.
    public private(set) var polls = 0
    private var delayNs: UInt64

    /// - Parameters:
    ///   - deadline: absolute, on the caller's clock (e.g. `EventLoop.now` + the call's budget).
    ///   - maxPolls: most polls ever returned by `next`.
    ///   - growth: each wait is the last × `growth` / 1000 (1500: ×1.5).
    public init(deadline: UInt64, maxPolls: Int, firstDelay: Duration = .milliseconds(250),
                maxDelay: Duration = .seconds(5), growth: UInt64 = 1500) {
        self.deadline = deadline
        self.maxPolls = max(maxPolls, 0)
        firstDelayNs = Self.nanoseconds(firstDelay)
        maxDelayNs = max(Self.nanoseconds(maxDelay), firstDelayNs)
        delayNs = firstDelayNs
        self.growth = max(growth, 1000)
    }

    private let growth: UInt64

    /// The wait before the next poll (without counting it).
    public var nextDelayNs: UInt64 { delayNs }

    /// When the next poll is due, counted as handed out: `now` + the current wait, not past
    /// the deadline (the last poll lands on it). nil when the deadline has passed or `maxPolls`
    /// were handed out: the job is out of time.
    public mutating func next(now: UInt64) -> UInt64? {
        guard polls < maxPolls, now < deadline else { return nil }
        polls += 1
        let (sum, overflow) = now.addingReportingOverflow(delayNs)
        let due = overflow ? deadline : min(sum, deadline)
        let (grown, grownOverflow) = delayNs.multipliedReportingOverflow(by: growth)
        delayNs = grownOverflow ? maxDelayNs : min(grown / 1000, maxDelayNs)
        return due
    }

    /// Whether `now` is past the deadline.
    public func isExpired(now: UInt64) -> Bool { now >= deadline }

    /// Whole nanoseconds of `d`; negative is 0, more than ~31 years is ~31 years.
    private static func nanoseconds(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0 else { return 0 }
        let whole = UInt64(min(seconds, 1_000_000_000)) * 1_000_000_000
        return whole + UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}
