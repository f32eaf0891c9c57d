// SPDX-License-Identifier: Apache-2.0
// What a backend's health probe asks (SPEC §2 `health`): none of these reaches an inference
// route, so a probe neither wakes a scale-to-zero GPU nor bills one.

public enum ProbeTarget: Sendable, Equatable {
    /// GET base + path on the backend's own origin (`health: {path}`); 2xx = `.up(warm: nil)`.
    case path(String)
    /// RunPod's GET base/health: job and worker counts (RunPodBackend.probeHealth).
    case runpod
    /// The Hub's GET {hub}/api/spaces/{space}/runtime with the backend's token (an hf_space with
    /// `space`): the Space's stage, read without visiting (and so without waking) the Space.
    case hubRuntime(space: String)
}
