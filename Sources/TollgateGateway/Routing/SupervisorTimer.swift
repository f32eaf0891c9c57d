// SPDX-License-Identifier: Apache-2.0
// A BackendSupervisor's timer: weak (a timer must not keep a loop's supervisor alive), and tied
// to the plan generation it was set for, so a reload's new plan is not probed on the old
// plan's schedule. Loop-confined.
import TollgateIO

/// A supervisor's timer; weak, and tied to the plan generation it was set for.
final class SupervisorTimer: TimerHandler {
    private weak var supervisor: BackendSupervisor?
    private let job: BackendSupervisor.Job
    private let generation: Int

    init(supervisor: BackendSupervisor, job: BackendSupervisor.Job, generation: Int) {
        self.supervisor = supervisor
        self.job = job
        self.generation = generation
    }

    func timerFired(deadline: UInt64, now: UInt64) {
        supervisor?.timerFired(job, generation: generation)
    }
}
