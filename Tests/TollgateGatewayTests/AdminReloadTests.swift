// SPDX-License-Identifier: Apache-2.0
// The admin routes' pure parts: every /admin path is one route (the key is checked before the
// path and method), POST /admin/reload's queue of waiting requests (answered on their own loop,
// bounded, closed when draining), and the replies it renders.
import CLinux
import Glibc
import Synchronization
import Testing
import TollgateHTTP
import TollgateIO
@testable import TollgateGateway

struct AdminRouteTests {
    private struct ParseFailure: Error {}

    private func match(_ method: String, _ target: String) throws -> RouteMatch {
        var parser = HTTPRequestParser()
        let bytes = Array("\(method) \(target) HTTP/1.1\r\nHost: t\r\n\r\n".utf8)
        let (event, _) = try bytes.withUnsafeBytes { try parser.next($0) }
        guard case .head(let head) = event else { throw ParseFailure() }
        return RouteTable().match(head)
    }

    private func admin(_ method: String, _ target: String) throws -> AdminRoute? {
        guard case .found(.admin(let route)) = try match(method, target) else { return nil }
        return route
    }

    @Test func everyAdminPathAndMethodIsAnAdminRoute() throws {
        #expect(try admin("POST", "/admin/reload") == .reload)
        #expect(try admin("GET", "/admin/usage?user=bob") == .usage)
        #expect(try admin("HEAD", "/admin/usage") == .usage)
        #expect(try admin("GET", "/admin/reload") == .methodNotAllowed(allow: "POST"))
        #expect(try admin("DELETE", "/admin/usage") == .methodNotAllowed(allow: "GET, HEAD"))
        #expect(try admin("GET", "/admin/backends") == .backends)
        #expect(try admin("POST", "/admin/backends") == .methodNotAllowed(allow: "GET, HEAD"))
        for target in ["/admin", "/admin/", "/admin/nope", "/admin/reload/x", "/admin/backends/x"] {
            #expect(try admin("GET", target) == .notFound, "\(target)")
            #expect(try admin("POST", target) == .notFound, "\(target)")
        }
    }

    @Test func pathsThatOnlyLookAdminAreNotAdminRoutes() throws {
        for target in ["/administrator", "/adminx/reload", "/v1/admin/reload"] {
            guard case .notFound = try match("GET", target) else {
                Issue.record("\(target) matched a route")
                continue
            }
        }
    }
}

struct ReloadRequestsTests {
    /// A started one-loop group for `body`, stopped after.
    private func withLoop(_ body: (EventLoop) throws -> Void) throws {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer {
            group.stop()
            group.join()
        }
        try body(group.loops[0])
    }

    private func readable(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    private func waitFor(_ condition: () -> Bool) -> Bool {
        let deadline = tg_monotonic_ns() + 5_000_000_000
        while !condition() && tg_monotonic_ns() < deadline { usleep(1_000) }
        return condition()
    }

    private static let summary = ReloadSummary(file: "t.yaml", backends: 1, models: 2, users: 3, keys: 4, warnings: [],
                                               restartRequired: false)

    @Test func aReloadAnswersEveryRequestQueuedBeforeItOnItsLoop() throws {
        try withLoop { loop in
            let requests = ReloadRequests()
            let answers = Answers()
            #expect(!readable(requests.wakeFD))
            for _ in 0..<3 {
                let queued = requests.submit(on: loop) { outcome in
                    loop.assertInLoop()
                    answers.add(outcome)
                }
                #expect((try? queued.get()) != nil)
            }
            // The signal thread is woken once for all three and takes them all.
            #expect(readable(requests.wakeFD))
            let waiters = requests.take()
            #expect(waiters.count == 3)
            #expect(!readable(requests.wakeFD))
            #expect(requests.take().isEmpty)
            ReloadRequests.answer(waiters, with: .reloaded(Self.summary))
            #expect(waitFor { answers.count == 3 })
            #expect(answers.all.allSatisfy { if case .reloaded(Self.summary) = $0 { true } else { false } })
        }
    }

    @Test func aFullQueueRefusesAtOnce() throws {
        try withLoop { loop in
            let requests = ReloadRequests(capacity: 2)
            #expect((try? requests.submit(on: loop) { _ in }.get()) != nil)
            #expect((try? requests.submit(on: loop) { _ in }.get()) != nil)
            guard case .failure(.busy) = requests.submit(on: loop, deliver: { _ in }) else {
                Issue.record("a third request was queued past the capacity")
                return
            }
            #expect(requests.take().count == 2)
            #expect((try? requests.submit(on: loop) { _ in }.get()) != nil)
        }
    }

    @Test func closingAnswersTheWaitingAndRefusesTheRest() throws {
        try withLoop { loop in
            let requests = ReloadRequests()
            let answers = Answers()
            _ = requests.submit(on: loop) { answers.add($0) }
            requests.close(reason: "the gateway is draining")
            #expect(waitFor { answers.count == 1 })
            guard case .unavailable(let reason) = answers.all.first else {
                Issue.record("not answered unavailable: \(answers.all)")
                return
            }
            #expect(reason == "the gateway is draining")
            guard case .failure(.closed) = requests.submit(on: loop, deliver: { _ in }) else {
                Issue.record("a request was queued after close")
                return
            }
            #expect(requests.take().isEmpty)
        }
    }
}

struct AdminReloadReplyTests {
    @Test func aReloadAnswers200WithTheCounts() {
        let summary = ReloadSummary(file: "/etc/tollgate.yaml", backends: 2, models: 3, users: 4, keys: 5,
                                    warnings: ["/etc/tollgate.yaml:7: warning: \"quoted\""], restartRequired: true)
        let (status, body) = AdminReloadEndpoint.reply(.reloaded(summary))
        #expect(status == 200)
        #expect(body == #"{"object":"config.reload","status":"reloaded","config":"/etc/tollgate.yaml","backends":2,"models":3,"users":4,"keys":5,"restart_required":true,"warnings":["/etc/tollgate.yaml:7: warning: \"quoted\""]}"#)
    }

    @Test func anInvalidFileAnswers400WithItsFileLineErrors() {
        let errors = ["t.yaml:3: models.a.backends[0]: unknown backend 'x'", "t.yaml:9: users.bob: expected a mapping"]
        let (status, body) = AdminReloadEndpoint.reply(.invalid(file: "t.yaml", errors: errors))
        #expect(status == 400)
        #expect(body == #"{"error":{"message":"t.yaml has errors; the running config is kept: t.yaml:3: models.a.backends[0]: unknown backend 'x'; t.yaml:9: users.bob: expected a mapping","type":"invalid_request_error","param":null,"code":"invalid_config","errors":["t.yaml:3: models.a.backends[0]: unknown backend 'x'","t.yaml:9: users.bob: expected a mapping"]}}"#)
    }

    @Test func noReloadWhileDrainingIs503() {
        let (status, body) = AdminReloadEndpoint.reply(.unavailable(reason: "the gateway is draining"))
        #expect(status == 503 && body.contains(#""code":"reload_unavailable""#))
    }
}

/// What the loop hands back, for the test thread.
private final class Answers: Sendable {
    private let items = Mutex<[ReloadOutcome]>([])
    func add(_ outcome: ReloadOutcome) { items.withLock { $0.append(outcome) } }
    var all: [ReloadOutcome] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
}
