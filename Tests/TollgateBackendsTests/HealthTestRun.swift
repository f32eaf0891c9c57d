// SPDX-License-Identifier: Apache-2.0
// Runs one probe or idle call on a fresh real loop and collects what its completion saw: every
// value (so "exactly once" is checked), whether it ran inside the starting call, and how long it
// took. A short wait after the first completion would catch a second one.
import Synchronization
import TollgateTestSupport
import TollgateBackends
import TollgateIO
import TollgateUpstream
import Glibc

final class HealthRunBox<T>: @unchecked Sendable {
    var values: [T] = []
    var starting = false
    var insideStart = false
    var returnedCall = false
    var keep: [AnyObject] = []
    let count = Atomic<Int>(0)
}

struct HealthRun<T> {
    var values: [T]
    var insideStart: Bool
    var returnedCall: Bool
    var elapsedMs: Double
    var only: T? { values.count == 1 ? values[0] : nil }
}

/// `start` is called on the loop with a BackendLoop and the completion; it returns the call it
/// started (or nil).
func healthRun<T>(seconds: Double = 10,
                  _ start: @escaping @Sendable (BackendLoop, @escaping (T) -> Void) -> AnyObject?) throws -> HealthRun<T> {
    let box = HealthRunBox<T>()
    let began = healthNowNs()
    var ended: UInt64 = 0
    try withRunningLoop { loop in
        loop.execute {
            let backendLoop = BackendLoop(loop: loop, curlShare: CurlShare())
            box.keep.append(backendLoop)
            box.starting = true
            let call = start(backendLoop) { value in
                if box.starting { box.insideStart = true }
                box.values.append(value)
                box.count.add(1, ordering: .releasing)
            }
            box.starting = false
            if let call {
                box.returnedCall = true
                box.keep.append(call)
            }
        }
        _ = eventually(seconds) { box.count.load(ordering: .acquiring) > 0 }
        ended = healthNowNs()
        let later = LaterFlag()
        loop.execute { loop.schedule(later, at: loop.now + 30_000_000) }
        _ = eventually { later.fired }
    }
    return HealthRun(values: box.values, insideStart: box.insideStart, returnedCall: box.returnedCall,
                     elapsedMs: Double(ended &- began) / 1e6)
}

func healthNowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
