// SPDX-License-Identifier: Apache-2.0
// One definition shared by the config (which parses it) and the gateway (which routes on it).

/// What a model does, which decides the routes that reach it (SPEC §3 `task`).
public enum ModelTask: String, Sendable, Equatable, CaseIterable {
    case chat
    case completion
    case embedding
    case image
    case imageEdit = "image_edit"
    case transcription
    case diarization
    /// Reached only through `/v1/run/<model>`.
    case raw
}
