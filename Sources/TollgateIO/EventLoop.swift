// SPDX-License-Identifier: Apache-2.0
// One epoll set and one eventfd for cross-thread wake-ups, run by one thread (swift-nio's
// SelectableEventLoop and curl's ephiperfifo.c, reduced to what we need). Deadlines live in a
// heap whose earliest entry becomes epoll_wait's timeout, as in nginx's event loop: no timerfd,
// so scheduling or cancelling a timer never costs a syscall.
import CLinux
import Glibc
import Synchronization

/// Receives readiness for a registered descriptor, on the loop thread.
public protocol IOHandler: AnyObject {
    func handleIO(_ events: IOEvents)
}

/// Called once at the end of every loop iteration (after all events and timers), e.g. to flush
/// a batched log buffer with one write.
public protocol LoopIterationObserver: AnyObject {
    func loopIterationEnded()
}

/// An event loop. Everything except `execute(_:)`, `stop()` and the immutable properties is
/// confined to the loop's thread (checked with `assertInLoop()` in debug builds).
public final class EventLoop: @unchecked Sendable {
    private struct Slot {
        var generation: UInt32 = 0
        var interest: IOEvents = []
        var handler: (any IOHandler)?
    }

    /// Which loop of its group this is (0-based).
    public let index: Int

    private let epollFD: Int32
    private let wakeFD: Int32
    private static let wakeToken: UInt64 = .max

    // Loop-thread state (reads and writes: the loop thread only).
    private var slots: [Slot] = []
    private var nextGeneration: UInt32 = 1
    private var timers = TimerQueue()
    private var observers: [any LoopIterationObserver] = []
    private var isRunning = false
    private var thread = pthread_t()
    /// Monotonic time in nanoseconds, read once per iteration after epoll_wait returns.
    public private(set) var now: UInt64 = tg_monotonic_ns()

    /// A 64 KiB buffer any handler may use during one callback (never across callbacks): reads
    /// land here first so idle connections keep no buffer of their own.
    public let scratch: UnsafeMutableRawBufferPointer

    // Cross-thread state.
    private let tasks = Mutex<[@Sendable () -> Void]>([])
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)

    public init(index: Int) throws(IOError) {
        self.index = index
        epollFD = try syscallNonBlocking("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        wakeFD = try syscallNonBlocking("eventfd") { eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK)) }
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        let input = UInt32(EPOLLIN.rawValue)
        try syscallNonBlocking("epoll_ctl") { tg_epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, input, Self.wakeToken) }
    }

    deinit {
        closeDescriptor(wakeFD)
        closeDescriptor(epollFD)
        scratch.deallocate()
    }

    // MARK: - Thread confinement

    /// True when called on this loop's thread.
    public var inLoop: Bool { isRunning && pthread_equal(pthread_self(), thread) != 0 }

    @inline(__always)
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(!isRunning || inLoop, "not on event loop \(index)", file: file, line: line)
    }

    // MARK: - Registrations

    /// Adds `fd` to the epoll set. The registration's generation rides in `epoll_event.data`, so
    /// an event queued for a descriptor that was closed and reused in the same batch is dropped.
    public func register(_ fd: Int32, interest: IOEvents, handler: any IOHandler) throws(IOError) {
        assertInLoop()
        let index = Int(fd)
        if index >= slots.count {
            slots.append(contentsOf: repeatElement(Slot(), count: max(index + 1 - slots.count, slots.count)))
        }
        let generation = nextGeneration
        nextGeneration = nextGeneration == UInt32.max ? 1 : nextGeneration + 1
        let data = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
        let mask = interest.epollMask
        try syscallNonBlocking("epoll_ctl(ADD)") { tg_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, mask, data) }
        slots[index] = Slot(generation: generation, interest: interest, handler: handler)
    }

    /// Changes the interest set; a no-op (no syscall) when it is unchanged.
    public func setInterest(_ fd: Int32, _ interest: IOEvents) throws(IOError) {
        assertInLoop()
        let index = Int(fd)
        guard index < slots.count, slots[index].handler != nil else { return }
        guard slots[index].interest != interest else { return }
        let data = UInt64(slots[index].generation) << 32 | UInt64(UInt32(bitPattern: fd))
        let mask = interest.epollMask
        try syscallNonBlocking("epoll_ctl(MOD)") { tg_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, mask, data) }
        slots[index].interest = interest
    }

    /// The current interest of a registered descriptor.
    public func interest(of fd: Int32) -> IOEvents {
        let index = Int(fd)
        guard index < slots.count, slots[index].handler != nil else { return [] }
        return slots[index].interest
    }

    /// Whether `fd`'s registration is `handler`'s (a guest such as libcurl, whose descriptors
    /// may be closed behind its back, checks before changing or removing one).
    public func isRegistered(_ fd: Int32, to handler: any IOHandler) -> Bool {
        let index = Int(fd)
        guard index >= 0, index < slots.count, let owner = slots[index].handler else { return false }
        return owner === handler
    }

    /// Removes `fd` from the epoll set (call before closing it).
    public func deregister(_ fd: Int32) {
        assertInLoop()
        let index = Int(fd)
        guard index < slots.count, slots[index].handler != nil else { return }
        _ = tg_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
        slots[index] = Slot()
    }

    // MARK: - Timers

    /// Calls `handler.timerFired` once `now >= deadline` (monotonic nanoseconds).
    /// - Returns: a token for `cancel(_:)`.
    @discardableResult
    public func schedule(_ handler: any TimerHandler, at deadline: UInt64) -> TimerToken {
        assertInLoop()
        // A deadline already reached runs at the end of this iteration (runDueTimers); later
        // ones shorten the next epoll_wait (waitTimeout).
        return timers.push(handler, at: max(deadline, 1))
    }

    /// Removes a pending timer (and the reference it holds to its handler).
    public func cancel(_ token: TimerToken) {
        assertInLoop()
        timers.cancel(token)
    }

    /// epoll_wait's timeout in milliseconds: -1 without timers, 0 when one is due, else rounded
    /// up so a timer never fires early (epoll_wait(2) rounds the timeout up to the clock's
    /// granularity; the kernel's timer slack, 50 µs by default, is the only lateness added).
    private func waitTimeout() -> Int32 {
        guard let next = timers.earliest else { return -1 }
        let current = tg_monotonic_ns()
        guard next > current else { return 0 }
        return Int32(clamping: (next - current + 999_999) / 1_000_000)
    }

    private func runDueTimers() {
        now = tg_monotonic_ns()
        while var entry = timers.popDue(now: now) {
            entry.handler?.timerFired(deadline: entry.deadline, now: now)
            timers.recycle(&entry)
        }
    }

    // MARK: - Observers and tasks

    public func addIterationObserver(_ observer: any LoopIterationObserver) {
        assertInLoop()
        observers.append(observer)
    }

    /// Runs `task` on the loop thread soon. Safe from any thread; a burst of calls costs one
    /// eventfd write (the pending flag coalesces wake-ups, as in swift-nio).
    public func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            wakeup()
        }
    }

    private func wakeup() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    private func runTasks() {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeFD, &counter, 8)
        wakePending.store(false, ordering: .releasing)
        let batch = tasks.withLock { queue -> [@Sendable () -> Void] in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for task in batch { task() }
    }

    /// Asks the loop to return from `run()` after its current iteration. Safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wakePending.store(true, ordering: .releasing)
        wakeup()
    }

    // MARK: - Running

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        thread = pthread_self()
        isRunning = true
        defer { isRunning = false }
        var capacity = 256
        var events = UnsafeMutableRawPointer.allocate(byteCount: capacity * tg_epoll_event_size(), alignment: 8)
        defer { events.deallocate() }
        while !stopRequested.load(ordering: .acquiring) {
            let typed = events.assumingMemoryBound(to: epoll_event.self)
            let count = epoll_wait(epollFD, typed, Int32(capacity), waitTimeout())
            now = tg_monotonic_ns()
            if count < 0 {
                let code = tg_errno()
                precondition(code == EINTR, "epoll_wait failed: errno \(code)")
                continue
            }
            for i in 0..<Int(count) {
                let data = tg_epoll_event_data(typed, Int32(i))
                if data == Self.wakeToken {
                    runTasks()
                    continue
                }
                let fd = Int(UInt32(truncatingIfNeeded: data))
                let generation = UInt32(truncatingIfNeeded: data >> 32)
                guard fd < slots.count, slots[fd].generation == generation,
                      let handler = slots[fd].handler else { continue }
                handler.handleIO(IOEvents(epollBits: tg_epoll_event_events(typed, Int32(i))))
            }
            runDueTimers()
            for observer in observers { observer.loopIterationEnded() }
            if Int(count) == capacity && capacity < 8192 {
                // A full batch: grow so one wait can drain more ready descriptors (swift-nio).
                events.deallocate()
                capacity *= 2
                events = UnsafeMutableRawPointer.allocate(byteCount: capacity * tg_epoll_event_size(), alignment: 8)
            }
        }
    }
}
