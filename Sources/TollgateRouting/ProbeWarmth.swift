// SPDX-License-Identifier: Apache-2.0
// What a health probe knows about capacity (RunPod workers ready or idle, a Space RUNNING vs
// SLEEPING): when given, it beats the estimate from request gaps.

public enum ProbeWarmth: Sendable, Equatable {
    case warm
    case cold
}
