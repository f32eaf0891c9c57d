// SPDX-License-Identifier: Apache-2.0
// One client request ↔ its upstream attempts: the attempt loop. The body (RequestBody) is read
// as it arrives until its `model` is known; the model's candidates are then tried in order,
// each attempt (ProxyAttempt) reading the body and reporting its response, which the relay
// (ResponseRelay) passes on. How an attempt ended goes through SPEC §3's outcome table
// (FailoverTable) — next candidate, reply passed on, error answer, or the end of a response
// under way — and the facts for the meter gather in ExchangeUsage. One object per request:
// the body, the relay and the usage are values inside it. Loop-confined.
import TollgateBackends
import TollgateHTTP
import TollgateIO
import TollgateLimits
import TollgateRouting
import TollgateUpstream
import TollgateCore
import TollgateMetering

final class ProxyExchange: HTTPExchangeDelegate, BodyBudgetWaiter, SlotWaiter {
    private let exchange: HTTPExchange
    /// The plan (and its adapters) this request started with; a reload does not change it.
    private let runtime: PlanRuntime
    private var plan: GatewayPlan { runtime.plan }
    private let operation: APIOperation
    private let user: UserPlan
    /// The facts handed to the meter when the exchange ends.
    private(set) var usage: ExchangeUsage
    private var body: RequestBody
    private var relay = ResponseRelay()
    /// The share of `server.max_buffered` a plain reply holds while it waits for its figures.
    private var replyLease: BodyBudgetLease

    private var modelPlan: ModelPlan?
    private var dispatched = false
    /// The request's way through its model's candidates: the router's picks, the attempts
    /// made and the deadline (SPEC §3, §4). Set at dispatch.
    private var route: RequestRoute?
    /// The backend (plan index) whose slot the current attempt holds, given back once.
    private var slotHeld: Int?
    /// Waiting in the model's line for a slot (SPEC §4 FIFO, `queue_timeout`).
    private var waitTicket: UInt64?
    private var waitTimer: TimerToken?
    /// While waiting: when a candidate out for a stated time (a cool-down, an open circuit)
    /// comes back, the request tries again — no slot is freed to call it then.
    private var recheckTimer: TimerToken?
    /// When the wait began (first time in line), and the time waited so far.
    private var waitStartedNs: UInt64?
    private var waitedNs: UInt64 = 0
    /// 429's Retry-After of the current attempt, when it answered so.
    private var retryAfter: String?
    /// The failure that sent the request on to the next candidate: its answer is the
    /// client's when no candidate is left to try (SPEC §3's right column).
    private var lastFailure: AttemptFailure?
    /// The attempt in charge; every report goes through it and counts only while it is current.
    private var current: ProxyAttempt?
    /// Every failed candidate's reason, for the 503's message.
    private var failureReasons: [String] = []
    /// The client has a response head: no failover from here on.
    private var responseBegun = false
    private var inLiveStreams = false
    /// The body's type (its Content-Type), and a refusal decided before any of it is read.
    private let mediaType: RequestMediaType
    private var earlyRefusal: (status: Int, code: String, message: String)?
    /// `/v1/run/<model>[/<rest>]`: the model and the rest of the target.
    private let runTarget: RunTarget?
    /// The backend (index into the plan) the current attempt calls.
    private var currentIndex: Int?
    /// The current attempt's quota lease (SPEC §4): taken before it is dispatched, settled to
    /// its metered figures when it ends. Dropped with the exchange, it is voided.
    private var quotaLease: Lease?
    /// How far the lease covers the current attempt (ms of its run), and its tick.
    private var quotaCoveredMs: Int64 = 0
    private var quotaTimer: TimerToken?

    init(exchange: HTTPExchange, context: PlanRuntime, operation: APIOperation, runTarget: RunTarget?, user: UserPlan,
         keyID: String, budget: RequestBodyBudget) {
        self.exchange = exchange
        self.runtime = context
        self.operation = operation
        self.user = user
        self.usage = ExchangeUsage(user: user.name, keyID: keyID)
        mediaType = RequestMediaType(contentType: exchange.head.contentType)
        self.runTarget = runTarget
        var multipart: MultipartFieldScanner?
        switch mediaType.reading(for: operation) {
        case .json: break
        case .multipart(let boundary):
            do {
                multipart = try MultipartFieldScanner(boundary: boundary)
            } catch {
                earlyRefusal = (400, "invalid_request", "The multipart body cannot be read: \(MultipartFieldScanner.reason(error)).")
            }
        case .refuse(let status, let code, let message):
            earlyRefusal = (status, code, message)
        }
        if let why = runTarget?.restRefusal { earlyRefusal = (400, "invalid_request", why) }
        self.body = RequestBody(framing: exchange.head.framing, operation: operation, budget: budget, loop: context.loop,
                                multipart: multipart, routeModel: runTarget?.model)
        self.replyLease = BodyBudgetLease(budget: budget, loop: context.loop)
    }

    var loop: EventLoop { runtime.loop }

    func isCurrent(_ attempt: ProxyAttempt) -> Bool { current === attempt }

    // MARK: - Request body

    /// Starts reading the body once its share of `server.max_buffered` is reserved (SPEC §2):
    /// until then the body stays in the client's kernel (no `100 Continue` either), and the
    /// request waits its turn.
    func start() {
        exchange.delegate = self  // a client that hangs up while waiting is still heard
        if let refusal = earlyRefusal {
            // No `model` can be read from this body, so it is refused unread — after the
            // model's own checks where the route names it (`/v1/run/<model>`, SPEC §3 order).
            if let name = body.model {
                usage.model = name
                guard admit(name) != nil else { return }
            }
            fail(refusal.status, code: refusal.code, message: refusal.message, closeConnection: true)
            return
        }
        if body.reserveFirst(for: self) { exchange.readBody(delegate: self) }
    }

    func bodyBudgetGranted(ticket: UInt64, bytes: Int) -> Bool {
        guard body.budgetGranted(ticket: ticket, bytes: bytes) else { return false }
        guard !exchange.isFinished else {
            body.releaseBudget()
            return true
        }
        exchange.readBody(delegate: self)  // the first grant; later ones resume a paused body
        if body.endBudgetPause() { exchange.resumeBody() }
        return true
    }

    func bodyBudgetWaitExpired(ticket: UInt64) {
        guard body.budgetWaitExpired(ticket: ticket) else { return }
        var headers = HTTPHeaders()
        headers.add("retry-after", "1")
        fail(503, code: "server_busy",
             message: "The gateway holds server.max_buffered bytes of request bodies and could not take more of this one; retry shortly.",
             closeConnection: true, headers: headers)
    }

    func exchangeBody(_ exchange: HTTPExchange, _ bytes: UnsafeRawBufferPointer) {
        switch body.append(bytes) {
        case .appended: break
        case .refused(let rejection):
            refuse(rejection, closeConnection: true)
            return
        case .outOfMemory:
            fail(503, code: "server_overloaded", message: "The gateway is out of memory for request bodies; retry shortly.",
                 closeConnection: true)
            return
        }
        if usage.model == nil { usage.model = body.model }
        if !dispatched {
            if body.model != nil && body.received > RequestBody.replayLimit { dispatch() }
        } else {
            current?.invocation?.bodyReadable()
            if body.isOverHighWater { exchange.pauseBody() }
        }
        if !exchange.isFinished { keepWithinBudget() }
    }

    func exchangeBodyEnded(_ exchange: HTTPExchange) {
        if let rejection = body.finish() {
            refuse(rejection, closeConnection: false)
            return
        }
        if usage.model == nil { usage.model = body.model }
        if !dispatched { dispatch() } else {
            body.shrinkReservation()
            current?.invocation?.bodyReadable()
        }
    }

    /// A body whose `model` is unknown when its whole reservation is used (its length exceeds
    /// `server.max_buffered`) cannot be dispatched without holding more: 413.
    private func keepWithinBudget() {
        switch body.keepWithinBudget(dispatched: dispatched, for: self) {
        case .enough: break
        case .dispatchNow: dispatch()
        case .modelTooLate:
            fail(413, code: "request_too_large",
                 message: "The request's `model` must come within the first \(body.budgetCapacity) bytes of its body (server.max_buffered).",
                 closeConnection: true)
        case .waiting: exchange.pauseBody()
        }
    }

    /// SPEC §3: malformed JSON is 400 `invalid_json`; a body that parsers would read in
    /// different ways (an escaped top-level name, a duplicate `model`) is 400 `invalid_request`,
    /// so what the gateway authorises and prices is what the backend runs. A multipart body
    /// that does not parse (or has two `model` fields) is 400 `invalid_request` with the
    /// parser's reason.
    private func refuse(_ refusal: RequestBody.Refusal, closeConnection: Bool) {
        let rejection: JSONRequestScanner.Rejection
        switch refusal {
        case .json(let r): rejection = r
        case .multipart(let why):
            fail(400, code: "invalid_request", message: "The multipart body is malformed: \(why).", closeConnection: closeConnection)
            return
        }
        switch rejection {
        case .notAnObject:
            fail(400, code: "invalid_json", message: "The request body must be a JSON object.", closeConnection: closeConnection)
        case .malformed(let why):
            fail(400, code: "invalid_json", message: "The request body is not valid JSON: \(why).", closeConnection: closeConnection)
        case .invalidRequest(let why):
            fail(400, code: "invalid_request", message: "The request body is ambiguous: \(why).", closeConnection: closeConnection)
        }
    }

    // MARK: - Routing (SPEC §3 order: model 404/403, then body 400)

    private func dispatch() {
        guard !dispatched, !exchange.isFinished else { return }
        dispatched = true
        body.shrinkReservation()
        guard let name = body.model else {
            fail(400, code: "missing_model", message: "You must provide a model parameter.")
            return
        }
        guard let index = admit(name) else { return }
        let model = plan.models[index]
        // Limits before the body's type (SPEC §3 order): a user or a gateway with nothing left
        // is refused before any backend is tried. Without a cap on either, the shared ledger
        // (a lock) is not asked: nothing there can be exhausted.
        if user.hasQuota || plan.hasGatewayBudget,
           let refusal = runtime.quota.exhausted([.userGPU(user.name), .userSpend(user.name), .gateway]) {
            refuseQuota(refusal)
            return
        }
        // The body's type, once the model is known (SPEC §3: 415 after model and limits).
        if let why = mediaType.refusal(for: operation) {
            fail(415, code: "unsupported_media_type", message: why)
            return
        }
        modelPlan = model
        usage.task = model.task
        guard !model.backends.isEmpty, let routing = plan.modelRouting(index) else {
            fail(503, code: "no_backend_available", message: "No backend is available for this model.")
            return
        }
        route = RequestRoute(model: model, routing: routing, tables: plan.routing, backends: plan.backends, nowNs: loop.now)
        startAttempt()
    }

    /// The model's checks (SPEC §3: 404 unknown, 403 not allowed, 400 wrong task): its index
    /// in the plan (one lookup by name per request), or nil once the client has been answered.
    private func admit(_ name: String) -> Int? {
        guard let index = plan.modelIndex(named: name) else {
            fail(404, code: "model_not_found", message: "The model `\(name)` does not exist or is not served by this gateway.")
            return nil
        }
        let model = plan.models[index]
        guard user.mayUse(name) else {
            fail(403, code: "model_not_allowed", message: "Your key may not use the model `\(name)`.")
            return nil
        }
        guard Self.operation(operation, suits: model.task) else {
            fail(400, code: "wrong_model_task", message: "The model `\(name)` is a \(model.task.rawValue) model and cannot serve \(operation.rawValue).")
            return nil
        }
        return index
    }

    private static func operation(_ op: APIOperation, suits task: ModelTask) -> Bool {
        switch op {
        case .chatCompletions: return task == .chat
        case .completions: return task == .completion || task == .chat
        case .embeddings: return task == .embedding
        case .imageGenerations: return task == .image
        case .imageEdits: return task == .imageEdit
        case .audioTranscriptions: return task == .transcription
        case .audioDiarization: return task == .diarization
        // Any model's endpoint, `raw` ones only this way (SPEC §2 `task`).
        case .run: return true
        }
    }

    // MARK: - The attempt loop

    /// Gives the request to the next candidate (FailoverTable decided there is one), the one
    /// the router picks (SPEC §4); waits in the model's line when every candidate is full.
    private func startAttempt(fromLine: Bool = false) {
        guard modelPlan != nil, var route, !exchange.isFinished else { return }
        if let previous = current { endAttempt(previous, cancelCall: true) }
        let now = loop.now
        let queue = route.routing.queue
        // FIFO (SPEC §4): while others wait for this model, a newcomer queues behind them —
        // and calls the head, since it may have seen the slot they wait for. (A request that
        // fails over keeps going: it already had its turn.)
        if !fromLine && waitTicket == nil && route.attemptsMade == 0 && queue.waiting > 0 {
            self.route = route
            route.logQueuedBehind(nowNs: now, wallMs: Gateway.wallClockMs(), scratch: &runtime.routeScratch)
            wait(in: queue, front: false)
            return
        }
        let next = route.next(nowNs: now, wallMs: Gateway.wallClockMs(), scratch: &runtime.routeScratch)
        self.route = route
        switch next {
        case .refuse(let reasons):
            failureReasons += reasons
            // After a failed attempt, the candidates left could not take it: the client gets
            // that failure's answer, with every candidate's reason.
            if let lastFailure, let answer = FailoverTable.answer(for: lastFailure.outcome) {
                fail(answer.status, code: answer.code, message: lastFailure.message(reasons: failureReasons))
                return
            }
            // When the first candidate will be back (a cool-down or an open circuit ending).
            var headers = HTTPHeaders()
            if let seconds = route.secondsUntilOneIsBack(nowNs: now) { headers.add("retry-after", String(seconds)) }
            fail(503, code: "no_backend_available", message: failureReasons.isEmpty ? "No backend is available for this model."
                 : "No backend could take the request: " + failureReasons.joined(separator: "; "), headers: headers)
        case .wait:
            wait(in: queue, front: fromLine)
        case .wakeAndWait(let index):
            runtime.wake(backend: index)
            wait(in: queue, front: fromLine)
        case .backend(let index, let wake):
            if let wake { runtime.wake(backend: wake) }
            if let started = waitStartedNs {
                // The wait is over: a later wait (after a failover) has its own queue_timeout.
                waitedNs = waitedNs &+ (now &- started)
                waitStartedNs = nil
                leaveLine()
            }
            attempt(on: index, now: now)
        }
    }

    /// Joins the model's line (at the front when a called request found nothing free), with
    /// the `queue_timeout` clock started at the first wait; a full line is a 503 at once.
    private func wait(in queue: ModelWaitQueue, front: Bool) {
        guard let route else { return }
        let now = loop.now
        if waitStartedNs == nil { waitStartedNs = now }
        let ticket: UInt64
        let tried = route.triedBackends
        if front {
            ticket = queue.requeueFront(self, tried: tried)
        } else if let queued = queue.enqueue(self, tried: tried) {
            ticket = queued
        } else {
            refuseAfterWait(reason: "the wait line of `\(route.model.name)` is full (\(queue.capacity) requests)")
            return
        }
        waitTicket = ticket
        // A slot this request could use now (freed since its decision, or seen free by a
        // newcomer that queued behind others): the first waiter that can use it is called —
        // this request itself when nobody ahead can, so nobody waits beside a free slot.
        if let free = route.wouldPick(nowNs: now, scratch: &runtime.routeScratch) {
            queue.wakeOne(for: route.backendName(free))
        }
        // The wait's end: `queue_timeout` after it began (however often the request requeued).
        let (end, overflow) = (waitStartedNs ?? now).addingReportingOverflow(route.model.queueTimeoutNs)
        let deadline = overflow ? UInt64.max : end
        if waitTimer == nil {
            waitTimer = loop.schedule(SlotWaitTimer(waiter: self), at: deadline)
        }
        // SPEC §4: a request waits only while every candidate is full. One that waits while
        // another is out for a stated time tries that one when it is back, within its wait.
        if let timer = recheckTimer { loop.cancel(timer) }
        recheckTimer = nil
        if let back = route.soonestBackNs(nowNs: now), back < deadline {
            recheckTimer = loop.schedule(SlotWaitTimer(waiter: self, recheck: true), at: back)
        }
    }

    /// A candidate out for a stated time is back: the request leaves its place in line and
    /// tries again (back to the front of the line if it still finds nothing). A request its
    /// line has just called is left to that call.
    func slotRecheckDue() {
        recheckTimer = nil
        guard let ticket = waitTicket, !exchange.isFinished, route?.routing.queue.withdraw(ticket) == true else { return }
        waitTicket = nil
        startAttempt(fromLine: true)
    }

    func slotMayBeFree(ticket: UInt64, backend: String?) {
        guard ticket == waitTicket, !exchange.isFinished else {
            // Called after it left the line (or its client left): the call is the next
            // waiter's, not lost.
            route?.routing.queue.wakeOne(for: backend)
            return
        }
        waitTicket = nil
        startAttempt(fromLine: true)
    }

    /// `queue_timeout` passed with every candidate still full: 503 with Retry-After and each
    /// candidate's reason (SPEC §3).
    func slotWaitExpired() {
        waitTimer = nil
        guard let ticket = waitTicket, !exchange.isFinished else { return }
        route?.routing.queue.withdraw(ticket)
        waitTicket = nil
        refuseAfterWait(reason: nil)
    }

    private func leaveLine() {
        if let ticket = waitTicket { route?.routing.queue.withdraw(ticket) }
        waitTicket = nil
        if let timer = waitTimer { loop.cancel(timer) }
        waitTimer = nil
        if let timer = recheckTimer { loop.cancel(timer) }
        recheckTimer = nil
    }

    private func refuseAfterWait(reason: String?) {
        leaveLine()
        if let started = waitStartedNs {
            waitedNs = waitedNs &+ (loop.now &- started)
            waitStartedNs = nil
        }
        var reasons = failureReasons
        if var route {
            reasons += route.currentReasons(nowNs: loop.now, scratch: &runtime.routeScratch)
            self.route = route
        }
        if let reason { reasons.insert(reason, at: 0) }
        var headers = HTTPHeaders()
        headers.add("retry-after", String(retryAfterSeconds))
        let waited = RequestRoute.seconds(ms: BackendRuntime.milliseconds(waitedNs))
        fail(503, code: "no_backend_available",
             message: "No backend could take the request within its wait (\(waited)): " + reasons.joined(separator: "; "),
             headers: headers)
    }

    /// When to come back after a full house: the shortest expected run among the candidates,
    /// in whole seconds, at least 1.
    private var retryAfterSeconds: Int64 {
        guard let route else { return 1 }
        let shortest = route.routing.runs.map(\.ms).min() ?? 1_000
        // Rounded up without an addition: a run seeded from the usage log may be any Int64.
        let (whole, part) = max(0, shortest).quotientAndRemainder(dividingBy: 1_000)
        return max(1, part == 0 ? whole : whole + 1)
    }

    /// Starts an attempt on backend `index`, whose slot is already taken.
    private func attempt(on index: Int, now: UInt64) {
        guard let model = modelPlan, plan.backends.indices.contains(index) else { return }
        slotHeld = index
        retryAfter = nil
        let backend = plan.backends[index]
        do {
            let ledger = runtime.quota
            var lease: Lease?
            quotaCoveredMs = try coverableRun(backend, from: nil, to: backend.expectedRunMs) { (charges) throws(QuotaRefusal) in
                lease = try ledger.lease(charges)
            }
            quotaLease = lease.take()
        } catch {
            releaseSlot(verdict: .neutral, report: nil)
            if case .backend = error.account {
                // Over its monthly budget, the backend leaves the candidates (SPEC §4).
                failureReasons.append("\(backend.name): budget_usd_per_month spent until \(Self.instant(error.resetsAt))")
                route?.exclude(backend: index)
                startAttempt()
            } else {
                refuseQuota(error)
            }
            return
        }
        currentIndex = index
        usage.attemptStarted(on: backend.name)
        relay.reset(backend: backend.name, spares: runtime.heldReplyBuffers)
        replyLease.shrink(to: 0)
        let adapter = runtime.adapter(index)
        var call = BackendCall(operation: operation, model: model.name,
                               upstreamModel: backend.upstreamModel ?? model.name,
                               stream: body.stream ?? false,
                               bodyLength: nil,
                               requestID: exchange.id,
                               accept: exchange.head.value(of: "accept"),
                               bodyFormat: bodyFormat,
                               contentType: exchange.head.contentType,
                               runPath: runTarget?.runPath ?? "")
        // The adapter decides how its kind's body is shaped (model renamed, usage requested).
        // A multipart body goes untouched, and a `/v1/run` body is the backend's own: its
        // `model`, if any, is not the gateway's to rename.
        let shaping = adapter.bodyShaping(for: call)
        let renames = shaping.renamesModel && !body.isMultipart && operation != .run
        body.prepare(upstreamModel: renames ? backend.upstreamModel : nil, clientModel: model.name,
                     injectUsage: shaping.requestsStreamUsage && !body.isMultipart)
        call.bodyLength = body.attemptLength
        let next = ProxyAttempt(backend: backend.name,
                                pricing: AttemptPricing(costModel: backend.costModel, billsWaiting: backend.billColdStart),
                                startedAt: now,
                                firstByteTimeoutNs: backend.firstByteTimeoutNs, owner: self)
        current = next
        // Only a capped quota needs the lease kept ahead of the run (the ledger still books
        // an uncapped one, so a reload that adds a cap sees what was spent).
        if user.hasQuota || plan.hasGatewayBudget || backend.monthBudget != nil {
            scheduleQuotaTick(next)
        }
        runtime.metrics.attemptStarted(backend: backend.name)
        // The first-byte clock starts once the whole body is with the backend: a 100 MB
        // upload must not count against the time the model has to start answering.
        if body.isComplete { armFirstByteTimer() }
        let started = adapter.invoke(call, body: next, sink: next)
        // Adapters never report inside `invoke`; should one do so anyway, the attempt it ended
        // is over (and a later one may be current): its call is stopped, never stored over the
        // live one.
        if current === next && !next.isOver { next.invocation = started } else { started.cancel() }
    }

    /// Ends `attempt` (once) and adds its upstream time and cost. `taken`: the backend got
    /// the request (it was reachable).
    /// `verdict`: how the backend did, for its circuit (SPEC §4); neutral when the gateway or
    /// the client stopped the call.
    private func endAttempt(_ attempt: ProxyAttempt, cancelCall: Bool, report: BackendReport? = nil, taken: Bool = true,
                            verdict: BackendRuntime.Verdict = .neutral) {
        guard !attempt.isOver else { return }
        attempt.retire(loop: loop, cancelCall: cancelCall)
        // Each attempt is counted in flight from its start until it is retired, once.
        runtime.metrics.attemptEnded(backend: attempt.backend)
        if let token = quotaTimer { loop.cancel(token) }
        quotaTimer = nil
        let before = (gpu: usage.gpu, cost: usage.cost)
        usage.charge(measuredNs: loop.now &- attempt.startedAt, reportedGPU: report?.gpuTime?.value,
                     waited: report.map(ExchangeUsage.waited) ?? .zero, pricing: attempt.pricing, taken: taken)
        // A run that went well teaches the (backend, model) expected run (SPEC §4).
        if verdict == .success, taken, let position = route?.currentPosition, let runs = route?.routing.runs,
           runs.indices.contains(position) {
            runs[position].record(sampleMs: usage.gpu.value &- before.gpu.value)
        }
        releaseSlot(verdict: verdict, report: report)
        // The lease settles to exactly what the usage log records for this attempt, so the
        // ledger rebuilt from the log at the next start agrees with this one. A call the
        // backend never took is voided.
        if let lease = quotaLease.take() {
            if taken {
                lease.settle(actual: QuotaCharge.request(user: user.name, backend: attempt.backend,
                                                         milliGPUSeconds: (usage.gpu.value &- before.gpu.value),
                                                         microDollars: (usage.cost - before.cost).value))
            } else {
                lease.void()
            }
        }
    }

    /// Gives the current attempt's slot back (once), with its verdict for the circuit and
    /// what it showed of a cold start, and calls a request waiting for a slot.
    private func releaseSlot(verdict: BackendRuntime.Verdict, report: BackendReport?) {
        guard let index = slotHeld else { return }
        slotHeld = nil
        let tables = plan.routing
        guard tables.runtimes.indices.contains(index) else { return }
        // The route's gap is the held slot's: a new pick comes only after this release.
        let cold = report.flatMap { report in route?.idleGapMs.map { (gapMs: $0, cold: report.coldStart) } }
        tables.runtimes[index].finish(nowNs: loop.now, verdict: verdict, cold: cold)
        tables.slotFreed(index)
    }

    // MARK: - Quotas

    /// What an attempt on `backend` holds to run up to `to` ms, from `from` ms already held
    /// (nil: a new lease). GPU time, and in dollars what the meter will attribute to that run —
    /// a `per_request` backend's price (once, in the lease), a `per_second` one's price of the
    /// run, an `always_on` one's share of the hour (the settle books that share, so a lease
    /// without it would let a burst through on "something remains" and overshoot), nothing on
    /// a free one. An extension's dollars are the difference of the two prices, so the pieces
    /// add up to the price of the whole covered run, rounding included.
    private func charges(_ backend: BackendPlan, from: Int64?, to: Int64) -> [QuotaCharge] {
        let price = backend.costModel.cost(of: MilliGPUSeconds(to))
        let dollars = from.map { price - backend.costModel.cost(of: MilliGPUSeconds($0)) } ?? price
        return QuotaCharge.request(user: user.name, backend: backend.name, milliGPUSeconds: to &- (from ?? 0),
                                   microDollars: max(0, dollars.value))
    }

    /// Reserves the run up to `to` ms through `take` — or, when a user's or the gateway's
    /// quota cannot cover that much but still has some, the longest shorter run it covers
    /// (SPEC §4: a lease never more than what remains; a user is never locked out of a quota
    /// they still have: the run is admitted and cut off at the cap). The run reached, in ms.
    /// A `per_request` price is all or nothing, and a backend's own budget is not shortened
    /// (over it, the backend leaves the candidates).
    private func coverableRun(_ backend: BackendPlan, from: Int64?, to wanted: Int64,
                              _ take: ([QuotaCharge]) throws(QuotaRefusal) -> Void) throws(QuotaRefusal) -> Int64 {
        let start = from ?? 0
        var to = max(start, wanted)
        var tries = 0
        while true {
            let wantedCharges = charges(backend, from: from, to: to)
            do {
                try take(wantedCharges)
                return to
            } catch {
                tries += 1
                guard tries < 8, error.remaining > 0, let shorter = Self.shorterRun(
                    span: to &- start, charges: wantedCharges, refusal: error, costModel: backend.costModel) else { throw error }
                to = start &+ shorter
            }
        }
    }

    /// A run shorter than `span` (and longer than `quotaMarginMs`) whose charge on the refusing
    /// account fits what it has left, or nil when none can.
    private static func shorterRun(span: Int64, charges: [QuotaCharge], refusal: QuotaRefusal,
                                   costModel: CostModel) -> Int64? {
        let amount = charges.first { $0.account == refusal.account }?.amount ?? 0
        var run: Int64
        switch refusal.account {
        case .backend:
            return nil
        case .userGPU:
            run = refusal.remaining
        case .userSpend, .gateway:
            if case .perRequest = costModel { return nil }
            guard amount > refusal.remaining, amount > 0, span > 0 else { return nil }
            // span × remaining / amount < span (remaining < amount), so the quotient fits.
            let product = UInt64(span).multipliedFullWidth(by: UInt64(refusal.remaining))
            run = Int64(UInt64(amount).dividingFullWidth(product).quotient)
        }
        run = min(run, span &- 1)
        // A run the tick would cut off as soon as it starts is not worth dispatching.
        return run > quotaMarginMs ? run : nil
    }

    static let quotaTickNs: UInt64 = 1_000_000_000
    /// The lease stays this far ahead of the run, so a tick that comes a little late still
    /// finds the time since the last one covered.
    static let quotaAheadMs: Int64 = 2_000
    /// How long before its lease's cover runs out a run's tick comes.
    static let quotaMarginMs: Int64 = 50

    /// The attempt's tick: the lease is extended to cover its run so far and `quotaAheadMs`
    /// more; when a quota cannot cover that, the attempt is cut off — 504 `quota_exhausted`
    /// before the response began, the final SSE `error` event after (SPEC §3, §4).
    func attemptQuotaTick(_ attempt: ProxyAttempt) {
        quotaTimer = nil
        guard current === attempt, !attempt.isOver, !exchange.isFinished, let index = currentIndex,
              plan.backends.indices.contains(index) else { return }
        let backend = plan.backends[index]
        let elapsedMs = Int64(clamping: (loop.now &- attempt.startedAt) / 1_000_000)
        let needed = elapsedMs &+ Self.quotaAheadMs
        if needed > quotaCoveredMs {
            do {
                quotaCoveredMs = try coverableRun(backend, from: quotaCoveredMs, to: needed) { (charges) throws(QuotaRefusal) in
                    try quotaLease?.extend(by: charges)
                }
            } catch {
                cutOff(attempt, refusal: error)
                return
            }
        }
        scheduleQuotaTick(attempt)
    }

    /// The next tick: a second from now, or sooner when the lease's cover runs out first (an
    /// `expected_run` shorter than the tick), so a run is never past what its lease holds for
    /// longer than the loop's timer latency before it is extended or cut off.
    private func scheduleQuotaTick(_ attempt: ProxyAttempt) {
        // A little before the cover ends, so a timer that fires late still cuts the run off
        // within what its lease holds.
        let (coveredNs, overflow) = UInt64(max(0, quotaCoveredMs &- Self.quotaMarginMs)).multipliedReportingOverflow(by: 1_000_000)
        let (coveredEnd, past) = attempt.startedAt.addingReportingOverflow(overflow ? .max : coveredNs)
        let tick = loop.now &+ Self.quotaTickNs
        quotaTimer = loop.schedule(QuotaExtendTimer(attempt: attempt), at: past ? tick : min(tick, coveredEnd))
    }

    private func cutOff(_ attempt: ProxyAttempt, refusal: QuotaRefusal) {
        usage.error = "quota_exhausted"
        endAttempt(attempt, cancelCall: true)
        fail(504, code: "quota_exhausted",
             message: "Quota exhausted: \(refusal.account.limitName) cannot cover more of this request; it was cut off "
                + "(the quota resets at \(Self.instant(refusal.resetsAt))).")
    }

    /// 429 `quota_exceeded` for a user's quota, 503 for the gateway's budget; `Retry-After`
    /// says when the period ends (RFC 9110 §10.2.3: seconds).
    private func refuseQuota(_ refusal: QuotaRefusal) {
        let wait = max(1, refusal.resetsAt &- QuotaLedger.wallClock())
        var headers = HTTPHeaders()
        headers.add("retry-after", String(wait))
        let until = Self.instant(refusal.resetsAt)
        switch refusal.account {
        case .userGPU, .userSpend:
            fail(429, code: "quota_exceeded",
                 message: "You exceeded your quota: \(refusal.account.limitName) is used up until \(until).",
                 type: "insufficient_quota", headers: headers)
        case .gateway, .backend:
            fail(503, code: "budget_exceeded",
                 message: "The gateway's monthly budget (budgets.usd_per_month) is spent until \(until).", headers: headers)
        }
    }

    private static func instant(_ unixSeconds: Int64) -> String {
        CivilDate.dateTimeText(unixSeconds: unixSeconds) + "Z"
    }

    /// Acts on SPEC §3's table for a failed attempt.
    private func attemptFailed(_ failure: AttemptFailure) {
        let action = FailoverTable.decide(failure.outcome, reachedClient: exchange.isResponseStarted,
                                          attemptsLeft: hasAttemptsLeft, replayable: body.isReplayable)
        switch action {
        case .retryNext:
            failureReasons.append(failure.reason)
            lastFailure = failure
            startAttempt()
        case .fail(let status, let code):
            failureReasons.append(failure.reason)
            fail(status, code: code, message: failure.message(reasons: failureReasons))
        case .passThrough:
            // Not a failure's class (a reply is never collected as one): answered as a broken
            // reply, should it happen.
            failureReasons.append(failure.reason)
            fail(502, code: "bad_gateway", message: failure.message(reasons: failureReasons))
        case .endResponse:
            // After the first byte a failure can only end the response (SPEC §3).
            let message = plan.redactor.redact("backend failed mid-response: " + failure.text)
            usage.error = message
            if relay.phase == .stream {
                endStream(message: message, code: "upstream_failed")
            } else {
                exchange.abort()
            }
        }
    }

    private var hasAttemptsLeft: Bool { route?.hasAttemptsLeft(nowNs: loop.now) ?? false }

    // MARK: - What the attempt reports

    func attemptHead(_ attempt: ProxyAttempt, status: Int, headers: [(String, String)], contentLength: Int?) {
        attempt.disarmFirstByteTimer(loop: loop)
        attempt.ttfbNs = loop.now &- attempt.startedAt
        if status == 429 {
            retryAfter = headers.first { $0.0.lowercased() == "retry-after" }?.1
        }
        // An error status the client does not get is collected for its message; the table
        // decides again once it ended (another candidate, or this error).
        let action = FailoverTable.decide(FailoverTable.Outcome(status: status), reachedClient: false,
                                          attemptsLeft: hasAttemptsLeft, replayable: body.isReplayable)
        relay.head(status: status, headers: headers, contentLength: contentLength, passThrough: action == .passThrough,
                   clientAskedForUsage: body.clientAskedForUsage, redactor: plan.redactor, exchange: exchange)
        responseStarted()
        if relay.phase == .stream && !inLiveStreams {
            inLiveStreams = true
            runtime.liveStreams.add(self)
        }
    }

    func attemptBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let relayed = relay.body(bytes, redactor: plan.redactor, exchange: exchange) { total in
            replyLease.tryGrow(toHold: total)
        }
        responseStarted()
        switch relayed {
        case .more: return true
        case .pause: return false
        case .overran:
            usage.error = "backend_length_mismatch"
            if relay.hasPendingHead, let current {
                // Nothing reached the client yet: a clean error (or the next candidate).
                endAttempt(current, cancelCall: true, verdict: .failure("the body was longer than its Content-Length"))
                attemptFailed(AttemptFailure(backend: usage.backend ?? "backend",
                                             outcome: .broken("the body was longer than its Content-Length"),
                                             detail: "", redactor: plan.redactor))
            } else {
                exchange.abort()
            }
            return false
        }
    }

    func attemptEnded(_ attempt: ProxyAttempt, report: BackendReport) {
        let outcome = report.outcome
        let name = usage.backend ?? "backend"
        // What became of it: a failure for SPEC §3's table, or a reply to complete. Decided
        // before the attempt ends, so its slot goes back with the verdict for the circuit.
        let failure: AttemptFailure?
        switch relay.phase {
        case .collectingError:
            failure = AttemptFailure(backend: name, status: relay.errorStatus, errorBody: relay.errorBody, redactor: plan.redactor)
        case .awaitingHead:
            failure = AttemptFailure(backend: name, outcome: outcome, detail: "", redactor: plan.redactor)
        case .stream, .plain:
            // A plain reply not a byte of which reached the client can still get a clean error
            // (or the next candidate), never a 200 head and a cut (issue 7 item 15).
            let unsent = relay.hasPendingHead
            if outcome == .completed {
                failure = unsent && relay.isShortOfDeclaredLength
                    ? AttemptFailure(backend: name, outcome: .broken("the body was shorter than its Content-Length"),
                                     detail: "", redactor: plan.redactor)
                    : nil
            } else {
                failure = AttemptFailure(backend: name, outcome: outcome, detail: unsent ? " before its response body" : "",
                                         redactor: plan.redactor)
            }
        }
        let verdict = judge(failure, outcome: outcome)
        // A backend that could not be reached (or whose TLS failed) never took the request.
        let outcomeClass = FailoverTable.Outcome(outcome)
        let unreached = (outcomeClass == .unreachable || outcomeClass == .tlsFailed) && relay.phase == .awaitingHead
        endAttempt(attempt, cancelCall: false, report: report, taken: !unreached, verdict: verdict)
        usage.tokens = report.tokens
        usage.coldStart = usage.coldStart || report.coldStart
        usage.queueTime = report.queueTime
        guard !exchange.isFinished else { return }
        if let failure { attemptFailed(failure) } else { complete() }
    }

    /// The backend's verdict for its circuit (SPEC §4), and the cool-downs SPEC §3's table
    /// asks for: a 429's `Retry-After` or a platform's stated quota reset, and credentials the
    /// backend refused ("marked down as misconfigured"). A cooled-down backend's circuit is
    /// left alone: it did not fail, it said "not now".
    private func judge(_ failure: AttemptFailure?, outcome: BackendOutcome) -> BackendRuntime.Verdict {
        guard let failure else { return .success }
        guard let index = slotHeld, plan.routing.runtimes.indices.contains(index) else { return .neutral }
        let runtime = plan.routing.runtimes[index]
        let settings = plan.backends[index].routing
        let now = loop.now
        switch failure.outcome {
        case .reply:
            return .success
        case .rateLimited:
            if case .quotaExhausted(_, let until) = outcome {
                runtime.coolDown(untilNs: until ?? (now &+ BackendRuntime.defaultCooldownNs), reason: failure.text, cause: .quota)
            } else {
                let seconds = retryAfter.flatMap { RetryAfter.seconds($0, nowUnix: QuotaLedger.wallClock()) }
                let waitNs = seconds.map { UInt64(min($0, RetryAfter.maxSeconds)) * 1_000_000_000 } ?? settings.circuitCooldownNs
                let said = retryAfter.map { " (Retry-After: \(RetryAfter.clip($0)))" } ?? ""
                runtime.coolDown(untilNs: now &+ waitNs, reason: "rate limited: " + failure.text + said, cause: .quota)
            }
            return .neutral
        case .credentialsRejected:
            runtime.coolDown(untilNs: now &+ settings.circuitMaxCooldownNs,
                             reason: "misconfigured: it rejected the gateway's credentials (HTTP \(failure.status ?? 0))",
                             cause: .misconfigured)
            return .neutral
        case .tooLarge:
            return .neutral
        case .broken where outcome == .cancelled:
            return .neutral
        case .serverError, .timedOut, .redirect, .unreachable, .tlsFailed, .broken:
            return .failure(failure.text)
        }
    }

    func attemptReadBody(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        if exchange.isAborted { return .abort }
        let chunk = body.read(into: buffer)
        switch chunk {
        case .bytes:
            if exchange.isBodyPaused && body.mayResume { exchange.resumeBody() }
        case .end:
            armFirstByteTimer()
        case .wouldBlock, .abort:
            break
        }
        return chunk
    }

    func attemptBufferedBody() -> [UInt8]? {
        body.whole
    }

    /// No response head within `first_byte_timeout`: this attempt failed (SPEC §3 → 504). Its
    /// call is stopped before the next candidate starts, so two never run at once.
    func attemptTimedOut(_ attempt: ProxyAttempt, now: UInt64) {
        guard relay.phase == .awaitingHead else { return }
        endAttempt(attempt, cancelCall: true, verdict: .failure("no response within first_byte_timeout"))
        attemptFailed(.firstByteTimeout(backend: usage.backend ?? "backend"))
    }

    private func armFirstByteTimer() {
        guard relay.phase == .awaitingHead, !exchange.isFinished else { return }
        current?.armFirstByteTimer(loop: loop, watch: runtime.firstByteWatch)
    }

    // MARK: - Ending

    /// The client has the response head: no failover from here on, so the replay copy goes.
    private func responseStarted() {
        guard !responseBegun, exchange.isResponseStarted else { return }
        responseBegun = true
        body.endReplay()
    }

    /// What the request used and cost so far: final once its last attempt ended.
    private var figures: ResponseFigures { ResponseFigures(gpu: usage.gpu, cost: usage.cost) }

    /// The attempt completed and its response goes out whole.
    private func complete() {
        let completion = relay.complete(figures: figures, redactor: plan.redactor, exchange: exchange)
        responseStarted()
        switch completion {
        case .complete:
            exchange.finish()
            leaveLiveStreams()
        case .draining:
            break  // exchangeWritable goes on
        case .lengthMismatch:
            usage.error = "backend_length_mismatch"
            exchange.abort()
        }
    }

    /// Ends a stream early with SPEC §3's final `error` event.
    private func endStream(message: String, code: String) {
        relay.endStream(message: message, code: code, figures: figures, exchange: exchange)
        exchange.finish()
        leaveLiveStreams()
    }

    private func fail(_ status: Int, code: String, message: String, closeConnection: Bool = false,
                      type: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        if usage.error == nil { usage.error = code }
        if let current { endAttempt(current, cancelCall: true) }
        leaveLine()
        guard !exchange.isResponseStarted else {
            // The attempt was stopped, so it will never end the response: end it here (a
            // body refused after its stream began, e.g. a duplicate past an 8 MiB dispatch).
            if relay.phase == .stream && !exchange.isFinished {
                endStream(message: message, code: code)
            } else {
                exchange.abort()
            }
            leaveLiveStreams()
            return
        }
        exchange.respondError(status: status, message: message, code: code, type: type, headers: headers,
                              close: closeConnection || !exchange.isBodyComplete)
    }

    // MARK: - Client events

    func exchangeWritable(_ exchange: HTTPExchange) {
        if relay.isDraining {
            if relay.drain(exchange) { exchange.finish() }
            return
        }
        current?.invocation?.resumeReceiving()
    }

    func exchangeAborted(_ exchange: HTTPExchange) {
        // The client is gone: stop the upstream now so no GPU keeps working for nobody.
        if let current, !current.isOver {
            if usage.error == nil { usage.error = "client_closed" }
            endAttempt(current, cancelCall: true)
        }
        leaveLine()
        leaveLiveStreams()
    }

    /// The HTTP exchange is over and the responder meters it: an attempt still running has
    /// nobody to answer any more, and the usage goes into `record`.
    func exchangeEnded(record: inout UsageRecord) {
        if let current { endAttempt(current, cancelCall: true) }
        releaseSlot(verdict: .neutral, report: nil)
        leaveLine()
        if let started = waitStartedNs {
            waitedNs = waitedNs &+ (loop.now &- started)
            waitStartedNs = nil
        }
        body.releaseBudget()
        replyLease.releaseAll()
        leaveLiveStreams()
        usage.gatewayWait = waitedNs
        usage.fill(&record)
        record.upstreamTTFBMs = current?.ttfbNs.map { Double($0) / 1e6 }
    }

    /// The route's path (the request's, matched exactly); `/v1/run/<model>` for a run.
    var path: String {
        guard let runTarget else { return operation.rawValue }
        return RunTarget.prefix + runTarget.rawModel
    }

    /// How the body is encoded, for the adapter.
    private var bodyFormat: RequestBodyFormat {
        if case .multipart(let boundary) = mediaType { return .multipart(boundary: boundary) }
        return .json
    }

    // MARK: - Drain

    private func leaveLiveStreams() {
        guard inLiveStreams else { return }
        inLiveStreams = false
        runtime.liveStreams.remove(self)
    }

    /// The drain deadline is here: a stream still running ends with SPEC §3's `error` event
    /// (and its upstream call is stopped) rather than being cut by the closing connection.
    func endForShutdown() {
        leaveLiveStreams()
        guard relay.phase == .stream, !exchange.isFinished else { return }
        if let current { endAttempt(current, cancelCall: true) }
        usage.error = "shutting_down"
        endStream(message: "The gateway is shutting down; this stream was ended at its drain deadline.", code: "shutting_down")
    }
}
