// SPDX-License-Identifier: Apache-2.0
// The one way a test waits for another thread (a server loop, a writer): poll a condition
// until it holds or a deadline passes. No fixed sleeps, and never unbounded.
import CLinux
import Glibc

/// Polls `condition` every millisecond until it holds or `seconds` have passed; returns whether
/// it held. The condition is checked once more at the deadline, so a slow machine that misses
/// every poll still gets the last word.
package func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = tg_monotonic_ns() + UInt64(seconds * 1e9)
    while tg_monotonic_ns() < deadline {
        if condition() { return true }
        var none = pollfd(fd: -1, events: 0, revents: 0)
        _ = poll(&none, 0, 1)
    }
    return condition()
}
