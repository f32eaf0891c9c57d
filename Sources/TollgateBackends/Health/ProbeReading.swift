// SPDX-License-Identifier: Apache-2.0
// Turns a probe's reply into a ProbeVerdict. Pure: the Hub's runtime JSON
// (backend-protocols.md §1.6: `stage` among NO_APP_FILE, CONFIG_ERROR, BUILDING, BUILD_ERROR,
// APP_STARTING, RUNNING, RUNNING_BUILDING, RUNNING_APP_STARTING, RUNTIME_ERROR, DELETING,
// STOPPED, PAUSED, SLEEPING — the Hub OpenAPI's list; huggingface_hub's own enum lacks SLEEPING,
// so unknown strings must be expected), RunPod's /health counts (§2.3) and a plain path probe's
// status. Every text is built from statuses, stage names and transport errors — never from a
// request header — and cleaned (control bytes dropped, length bounded).
import TollgateCore
import TollgateUpstream

public enum ProbeReading {
    /// Longest text taken from a reply (a stage name, the Hub's errorMessage).
    static let maxQuotedText = 200

    // MARK: - Path probe

    /// GET base + path answered: any complete 2xx is up (warmth unknown).
    public static func path(_ reply: BufferedReply) -> ProbeVerdict {
        guard reply.outcome == .completed else { return .down("health probe failed: \(clean(reply.outcome.description))") }
        guard (200..<300).contains(reply.status) else { return .down("health probe answered HTTP \(reply.status)") }
        return .up(warm: nil)
    }

    /// base + `path` when `path` is an absolute path (with an optional query) on the base's own
    /// origin; nil otherwise (a URL, `//host`, a fragment, spaces or control bytes).
    public static func pathURL(base: String, path: String) -> String? {
        guard path.hasPrefix("/"), !path.hasPrefix("//"),
              path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "#") })
        else { return nil }
        let url = OriginPolicy.join(base: base, path: path)
        return OriginPolicy.isSameOrigin(url, base) ? url : nil
    }

    // MARK: - RunPod

    /// RunPod's /health counts: a loaded worker (ready, idle, running) is warm capacity; only
    /// initializing ones, or none at all (scaled to zero), is eligible but cold; nothing but
    /// unhealthy or throttled workers means no capacity. A queue with no worker at all is
    /// normal for a moment after a scale-from-zero, so one probe alone does not call it down.
    public static func runpod(_ health: RunPodHealth) -> ProbeVerdict {
        if health.isWarm { return .up(warm: true) }
        if health.isWaking { return .up(warm: false) }
        if health.unhealthy > 0 || health.throttled > 0 {
            return .down("RunPod has no usable worker (unhealthy \(health.unhealthy), throttled \(health.throttled), in queue \(health.inQueue))")
        }
        return .up(warm: false)
    }

    public static func runpod(_ result: RunPodProbeResult) -> ProbeVerdict {
        switch result {
        case .healthy(let health):
            return runpod(health)
        case .badReply(let status):
            return .down((200..<300).contains(status) ? "RunPod /health answered without job and worker counts"
                                                      : "RunPod /health answered HTTP \(status)")
        case .unreachable(let text):
            return .down("RunPod /health failed: \(clean(text))")
        }
    }

    // MARK: - Hub runtime

    /// The Hub's answer to GET /api/spaces/{space}/runtime.
    public static func hubRuntime(_ reply: BufferedReply) -> ProbeVerdict {
        guard reply.outcome == .completed else { return .down("Hub runtime request failed: \(clean(reply.outcome.description))") }
        guard (200..<300).contains(reply.status) else { return .down("Hub runtime answered HTTP \(reply.status)\(hubHint(reply.status))") }
        return hubRuntime(body: reply.body)
    }

    /// A runtime JSON object; its `stage` decides.
    public static func hubRuntime(body: [UInt8]) -> ProbeVerdict {
        guard let value = try? JSONValue.parse(body), value.objectValue != nil, let stage = value["stage"]?.stringValue else {
            return .down("Hub runtime answer has no stage")
        }
        return hubStage(stage, errorMessage: value["errorMessage"]?.stringValue)
    }

    /// One stage string (case as the Hub sends it: upper case).
    public static func hubStage(_ stage: String, errorMessage: String? = nil) -> ProbeVerdict {
        switch stage {
        case "RUNNING":
            return .up(warm: true)
        case "SLEEPING", "STOPPED":
            return .asleep
        case "BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING":
            return .starting
        case "PAUSED":
            return .paused
        case "RUNTIME_ERROR", "BUILD_ERROR", "CONFIG_ERROR", "NO_APP_FILE", "DELETING":
            let detail = errorMessage.map(clean).flatMap { $0.isEmpty ? nil : $0 }
            return .down("Space stage \(stage)" + (detail.map { ": " + $0 } ?? ""))
        default:
            // Not known to be serving: say so rather than guess (a new stage shows up as text).
            return .down("Space stage \"\(clean(stage))\" is not known")
        }
    }

    /// Why the Hub may refuse (hf_api.py docstrings: 401/403 not the owner or no token, 404 no
    /// such Space or private without a token).
    static func hubHint(_ status: Int) -> String {
        switch status {
        case 401, 403: return " (the token is missing, invalid or not the Space owner's)"
        case 404: return " (no such Space, or a private one without a valid token)"
        default: return ""
        }
    }

    /// `text` without control characters, at most `maxQuotedText` scalars.
    public static func clean(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            if count == maxQuotedText {
                out.append(contentsOf: "…".unicodeScalars)
                break
            }
            if scalar.properties.generalCategory == .control { continue }
            out.append(scalar)
            count += 1
        }
        return String(out)
    }
}
