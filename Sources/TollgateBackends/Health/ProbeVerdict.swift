// SPDX-License-Identifier: Apache-2.0
// What one health probe found out about a backend (SPEC §4: a backend is healthy until a probe
// or a request fails it). The gateway turns it into eligibility, P(cold) and the text of a 503
// or of /admin/backends; the text never carries a credential (it is built from statuses, stage
// names and transport errors only, and cleaned by ProbeReading.clean).

public enum ProbeVerdict: Sendable, Equatable {
    /// Healthy. `warm`: the probe knows capacity is up (RunPod ready/idle/running workers > 0, a
    /// Space RUNNING) → true; knows there is none (RunPod all 0, or only initializing) → false;
    /// nil: a plain 2xx path probe that says nothing about warmth.
    case up(warm: Bool?)
    /// The Space sleeps (SLEEPING / STOPPED): eligible, cold — a visitor or a restart wakes it.
    case asleep
    /// BUILDING / APP_STARTING / RUNNING_BUILDING / RUNNING_APP_STARTING: not ready yet.
    case starting
    /// PAUSED: only a restart (`IdleCalls.wake`) brings it back.
    case paused
    /// Failed: unreachable, non-2xx, an error stage, a stage this build does not know, RunPod
    /// with only unhealthy/throttled workers. The text says why (no credential in it).
    case down(String)
}
