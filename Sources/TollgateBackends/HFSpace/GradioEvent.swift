// SPDX-License-Identifier: Apache-2.0
// One event of a Gradio result stream (see GradioEventParser).

/// One dispatched event.
struct GradioEvent: Equatable, Sendable {
    /// The `event` field ("message" when absent, as the standard says).
    var name: String
    /// The `data` lines, joined with LF.
    var data: [UInt8]
}
