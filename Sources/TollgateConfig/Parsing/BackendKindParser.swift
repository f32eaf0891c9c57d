// SPDX-License-Identifier: Apache-2.0
// The settings of each kind, and the base URL in effect (the `url` key, else the kind's
// default). Required keys are reported at the backend's name line.
enum BackendKindParser {
    struct Resolved {
        var options: BackendOptions
        var url: BackendURL?
    }

    static let runpodBase = "https://api.runpod.ai/v2/"
    static let replicateBase = BackendURL(scheme: "https", host: "api.replicate.com", port: 443, path: "/v1")

    /// nil after reporting when a required key is missing or invalid.
    static func parse(kind: BackendKind, m: MappingReader, url: BackendURL?, apiKey: String?, model: String?) -> Resolved? {
        let urlGiven = m.contains("url")
        switch kind {
        case .openai, .http, .modal:
            let example = kind == .openai ? "the server's base URL, e.g. http://10.0.0.5:8000/v1"
                : kind == .modal ? "the endpoint's URL, e.g. https://workspace--app-fn.modal.run" : "the service's base URL"
            if !urlGiven { _ = m.required("url", note: " (kind \(kind.rawValue) needs \(example))") }
            guard let url else { return nil }
            switch kind {
            case .openai: return Resolved(options: .openai, url: url)
            case .http: return Resolved(options: .http, url: url)
            default: return modal(m).map { Resolved(options: .modal($0), url: url) }
            }
        case .hfSpace:
            return hfSpace(m, url: url, urlGiven: urlGiven)
        case .runpod:
            if apiKey == nil { requireSecret(m, "api_key", note: " (the RunPod API always needs one)") }
            guard let endpointNode = m.required("endpoint_id", note: " (the serverless endpoint's id)"),
                  let endpoint = endpointNode.nonEmptyString(expected: "an endpoint id") else { return nil }
            guard NameRules.isIdentifier(endpoint) else {
                endpointNode.error("'\(ConfigNode.clip(endpoint))' is not an endpoint id (letters, digits, _ and -)")
                return nil
            }
            let base = url ?? (try? BackendURL.parse(runpodBase + endpoint))
            guard apiKey != nil, !urlGiven || url != nil, let base else { return nil }
            return Resolved(options: .runpod(RunPodOptions(endpointID: endpoint)), url: base)
        case .replicate:
            if apiKey == nil { requireSecret(m, "api_key", note: " (the Replicate API always needs one)") }
            guard let target = replicateTarget(m, model: model) else { return nil }
            guard apiKey != nil, !urlGiven || url != nil else { return nil }
            return Resolved(options: .replicate(ReplicateOptions(target: target)), url: url ?? replicateBase)
        case .simulated:
            return simulated(m).map { Resolved(options: .simulated($0), url: nil) }
        }
    }

    /// Reports a required secret that is absent, null or expanded to the empty string (an
    /// invalid one was reported when it was read; the context drops the repeat).
    static func requireSecret(_ m: MappingReader, _ key: String, note: String) {
        guard let node = m.required(key, note: note) else { return }
        if let text = node.string(), text.isEmpty { node.error("is empty\(note)") }
    }

    static func modal(_ m: MappingReader) -> ModalOptions? {
        let tokenID = m["token_id"]?.nonEmptyString(expected: "a Modal token id")
        let tokenSecret = m["token_secret"]?.secret()
        if (tokenID == nil) != (tokenSecret == nil) {
            let missing = tokenID == nil ? "token_id" : "token_secret"
            m.owner.context.error(m.ownerLine, m.owner.path, "token_id and token_secret go together; \(missing) is missing or empty")
            return nil
        }
        return ModalOptions(tokenID: tokenID, tokenSecret: tokenSecret)
    }

    static func hfSpace(_ m: MappingReader, url: BackendURL?, urlGiven: Bool) -> Resolved? {
        var space: String?
        var ok = true
        if m.contains("space") {
            if let node = m.required("space"), let text = node.nonEmptyString(expected: "owner/name") {
                if NameRules.isOwnerSlashName(text) {
                    space = text
                } else {
                    node.error("expected owner/name (e.g. bizbots/qwen-image-editor), got '\(ConfigNode.clip(text))'")
                    ok = false
                }
            } else {
                ok = false
            }
        }
        if !m.contains("space") && !urlGiven {
            m.owner.context.error(m.ownerLine, m.owner.path, "hf_space needs 'space' (owner/name on the Hub) or 'url' (https://<sub>.hf.space)")
            return nil
        }
        var apiName = "/predict"
        if let node = m["api_name"], let text = node.nonEmptyString(expected: "a Gradio endpoint like /predict") {
            if text.hasPrefix("/"), !text.contains(" ") {
                apiName = text
            } else {
                node.error("expected a Gradio endpoint starting with / (e.g. /predict), got '\(ConfigNode.clip(text))'")
                ok = false
            }
        }
        let inputs = gradioInputs(m["inputs"])
        let output = m["output"]?.integer(0...1_000) ?? 0
        let base = url ?? space.flatMap { try? BackendURL.parse("https://\(hubSubdomain($0)).hf.space") }
        guard ok, let inputs, let base, !urlGiven || url != nil else { return nil }
        return Resolved(options: .hfSpace(HFSpaceOptions(space: space, apiName: apiName, inputs: inputs, output: output)),
                        url: base)
    }

    /// The Hub's host for a Space: `owner-name`, lower-cased, `.` and `_` turned into `-`
    /// (`black-forest-labs/FLUX.1-dev` → `black-forest-labs-flux-1-dev`).
    static func hubSubdomain(_ space: String) -> String {
        String(space.lowercased().map { $0 == "/" || $0 == "." || $0 == "_" ? "-" : $0 })
    }

    /// `inputs:` — `$field` references (taken from the raw text, before any `${VAR}`
    /// expansion, so `$$image` is the constant "$image") and JSON-like constants.
    static func gradioInputs(_ node: ConfigNode?) -> [GradioInput]? {
        guard let node else { return [] }
        guard let items = node.list(expected: "a list (the Gradio data array)") else { return nil }
        var result: [GradioInput] = []
        var ok = true
        for item in items {
            guard case .scalar(let scalar) = item.node else {
                item.error("expected a $field, text, a number, true/false or null, got \(item.shapeDescription)")
                ok = false
                continue
            }
            let raw = scalar.string
            if raw.hasPrefix("$"), EnvironmentExpander.isValidName(String(raw.dropFirst())) {
                result.append(.field(String(raw.dropFirst())))
                continue
            }
            if item.isNull {
                result.append(.null)
                continue
            }
            guard let value = item.scalar(expected: "a constant") else {
                ok = false
                continue
            }
            result.append(constant(value))
        }
        return ok ? result : nil
    }

    private static func constant(_ value: ScalarText) -> GradioInput {
        let text = value.text
        if value.isQuoted { return .string(text) }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let integer = try? ConfigValue.fixedPoint(text, places: 0) { return .integer(integer) }
        if let first = text.unicodeScalars.first, ("0"..."9").contains(first) || first == "-" || first == ".",
           let number = Double(text), number.isFinite {
            return .number(number)
        }
        return .string(text)
    }

    static func replicateTarget(_ m: MappingReader, model: String?) -> ReplicateOptions.Target? {
        let version = m["version"]?.nonEmptyString(expected: "a version id")
        switch (m.contains("model"), m.contains("version")) {
        case (true, true):
            m.owner.context.error(m.line(of: "version"), m.owner.path, "give 'model' or 'version', not both")
            return nil
        case (false, false):
            m.owner.context.error(m.ownerLine, m.owner.path, "replicate needs 'model' (owner/name) or 'version' (a version id)")
            return nil
        case (true, false):
            guard let model, let node = m["model"] else { return nil }
            guard NameRules.isOwnerSlashName(model) else {
                node.error("expected owner/name (e.g. black-forest-labs/flux-schnell), got '\(ConfigNode.clip(model))'")
                return nil
            }
            let parts = model.split(separator: "/")
            return .model(owner: String(parts[0]), name: String(parts[1]))
        case (false, true):
            guard let version, let node = m["version"] else { return nil }
            guard NameRules.isIdentifier(version) else {
                node.error("'\(ConfigNode.clip(version))' is not a version id (letters, digits, _ and -)")
                return nil
            }
            return .version(version)
        }
    }

    static func simulated(_ m: MappingReader) -> SimulatedOptions? {
        let d = SimulatedOptions()
        var latency = (mean: d.latency, jitter: d.latencyJitter)
        var ok = true
        if let node = m["latency"], let text = node.nonEmptyString(expected: "a latency like 800ms ± 200ms") {
            if let parsed = parseLatency(text) {
                latency = parsed
            } else {
                node.error("expected a latency like 800ms or 800ms ± 200ms (also +-), got '\(ConfigNode.clip(text))'")
                ok = false
            }
        }
        var failureRate = d.failureRate
        if let node = m["failure_rate"],
           let millionths = node.fixedPoint(places: 6, expected: "a number from 0 to 1", allowZero: true) {
            if millionths <= 1_000_000 {
                failureRate = Double(millionths) / 1_000_000
            } else {
                node.error("must be between 0 and 1, got \(ConfigValue.formatMicroDollars(millionths))")
                ok = false
            }
        }
        let coldAfter = m["cold_after"]?.duration(minimum: .milliseconds(1)) ?? d.coldAfter
        let streamInterval = m["stream_interval"]?.duration() ?? d.streamInterval
        guard ok else { return nil }
        return SimulatedOptions(latency: latency.mean, latencyJitter: latency.jitter, coldAfter: coldAfter,
                                failureRate: failureRate, streamInterval: streamInterval)
    }

    /// `800ms`, `800ms ± 200ms`, `800ms +- 200ms` (spaces optional).
    static func parseLatency(_ text: String) -> (mean: Duration, jitter: Duration)? {
        let separator = text.firstRange(of: "±") ?? text.firstRange(of: "+-")
        let meanText = separator.map { String(text[..<$0.lowerBound]) } ?? text
        let jitterText = separator.map { String(text[$0.upperBound...]) }
        func trimmed(_ s: String) -> String {
            String(s.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        }
        guard let mean = try? ConfigValue.duration(trimmed(meanText)) else { return nil }
        guard let jitterText else { return (mean, .zero) }
        guard let jitter = try? ConfigValue.duration(trimmed(jitterText)) else { return nil }
        return (mean, jitter)
    }
}
