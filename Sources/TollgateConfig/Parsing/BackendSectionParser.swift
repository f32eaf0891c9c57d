// SPDX-License-Identifier: Apache-2.0
// `backends:` → [BackendConfig]. The kind is read first, because it decides which keys are
// allowed: a kind's own keys are errors on every other kind, with a message naming the kind
// they belong to.

enum BackendSectionParser {
    static let commonKeys = ["kind", "url", "api_key", "model", "price", "billing", "max_concurrency", "timeout",
                             "first_byte_timeout", "connect_timeout", "expected_run", "cold_start", "bill_cold_start",
                             "max_response", "budget_usd_per_month", "health", "tls", "circuit", "idle"]

    static let kindKeys: [BackendKind: [String]] = [
        .hfSpace: ["space", "token", "api_name", "inputs", "output"],
        .runpod: ["endpoint_id"],
        .modal: ["token_id", "token_secret"],
        .replicate: ["version"],
        .simulated: ["latency", "cold_after", "failure_rate", "stream_interval"],
    ]

    /// Common keys that a kind has no use for, and why.
    static let notForKind: [BackendKind: [String: String]] = [
        .hfSpace: ["api_key": "hf_space takes its Hugging Face token as 'token', not 'api_key'"],
        .modal: ["api_key": "modal authenticates with 'token_id' and 'token_secret', not 'api_key'"],
        .simulated: ["url": "a simulated backend runs in-process and has no 'url'",
                     "api_key": "a simulated backend has no 'api_key'",
                     "health": "a simulated backend has no health endpoint",
                     "tls": "a simulated backend makes no connections",
                     "idle": "a simulated backend has no idle action"],
    ]

    static func allKindKeys() -> [String] {
        BackendKind.allCases.flatMap { kindKeys[$0] ?? [] }
    }

    static func parse(_ node: ConfigNode?) -> [BackendConfig] {
        guard let node, let m = MappingReader(node, expected: "a mapping of backend name → settings") else { return [] }
        var result: [BackendConfig] = []
        for entry in m.allEntries {
            guard NameRules.check(entry.key, kind: "backend", line: entry.keyLine, path: node.path, context: node.context),
                  let backend = parseBackend(name: entry.key, nameLine: entry.keyLine, node: entry.value) else { continue }
            result.append(backend)
        }
        return result
    }

    static func parseBackend(name: String, nameLine: Int, node: ConfigNode) -> BackendConfig? {
        guard let m = MappingReader(node, expected: "a mapping of backend settings") else { return nil }
        let kindList = BackendKind.allCases.map(\.rawValue).joined(separator: " | ")
        let kind = m.required("kind", note: " (\(kindList))")?.choice(BackendKind.self)
        if let kind {
            var misplaced: [String: String] = notForKind[kind] ?? [:]
            for other in BackendKind.allCases where other != kind {
                for key in kindKeys[other] ?? [] where misplaced[key] == nil {
                    misplaced[key] = "'\(key)' is only valid for kind \(other.rawValue) (this backend is \(kind.rawValue))"
                }
            }
            let allowed = commonKeys.filter { notForKind[kind]?[$0] == nil } + (kindKeys[kind] ?? [])
            m.checkKeys(allowed: allowed, misplaced: misplaced)
        } else {
            // Without a kind, only keys that no kind knows are reported.
            m.checkKeys(allowed: commonKeys + allKindKeys())
        }

        let ms = Duration.milliseconds(1)
        let apiKey = kind == .hfSpace ? m["token"]?.secret() : m["api_key"]?.secret()
        let model = m["model"]?.nonEmptyString(expected: "a model name")
        let url = kind == .simulated ? nil : parseURL(m)
        let pricing = PricingParser.parse(m)
        let timeout = m["timeout"]?.duration(minimum: ms) ?? .seconds(300)
        let firstByteTimeout = m["first_byte_timeout"]?.duration(minimum: ms)
            ?? (kind?.answersWhenDone == true ? timeout : .seconds(120))
        if firstByteTimeout > timeout, let node = m["first_byte_timeout"] ?? m["timeout"] {
            node.warning("first_byte_timeout (\(ConfigValue.format(firstByteTimeout))) is longer than timeout (\(ConfigValue.format(timeout))); timeout ends the request first")
        }
        let budget = m["budget_usd_per_month"]?.money(allowZero: false)
        if budget != nil, pricing == nil, let node = m["budget_usd_per_month"] {
            node.warning("this backend has no price, so its spend is 0 and the budget is never reached")
        }
        let coldStart = m["cold_start"]?.duration() ?? .zero
        let maxConcurrency = m["max_concurrency"]?.integer(1...100_000) ?? 16
        let connectTimeout = m["connect_timeout"]?.duration(minimum: ms) ?? .seconds(10)
        let expectedRun = m["expected_run"]?.duration(minimum: ms) ?? .seconds(1)
        let billColdStart = m["bill_cold_start"]?.bool() ?? false
        let maxResponse = m["max_response"]?.byteSize(1...(1 << 40)) ?? (1 << 30)
        let circuit = BackendPolicyParser.circuit(m["circuit"])
        let tls = BackendPolicyParser.tls(m["tls"])
        if tls != nil, let url, url.scheme != "https", let node = m["tls"] {
            node.warning("tls applies to https:// URLs only; this backend's url is \(url.scheme)://")
        }

        // health and idle depend on the kind; everything else has been checked by now.
        guard let kind else { return nil }
        let resolved = BackendKindParser.parse(kind: kind, m: m, url: url, apiKey: apiKey, model: model)
        let health = BackendPolicyParser.health(m["health"], kind: kind, options: resolved?.options)
        let idle = BackendPolicyParser.idle(m["idle"], kind: kind, options: resolved?.options, apiKey: apiKey)
        guard let resolved else { return nil }
        return BackendConfig(
            name: name, options: resolved.options, url: resolved.url, apiKey: apiKey,
            model: kind == .replicate ? nil : model, pricing: pricing, maxConcurrency: maxConcurrency,
            timeout: timeout, firstByteTimeout: firstByteTimeout, connectTimeout: connectTimeout,
            expectedRun: expectedRun, coldStart: coldStart, billColdStart: billColdStart, maxResponse: maxResponse,
            budgetMicroDollarsPerMonth: budget, health: health, tls: tls, circuit: circuit, idle: idle, line: nameLine)
    }

    /// The `url` key as a base URL (no userinfo, query or fragment); nil when absent or bad.
    static func parseURL(_ m: MappingReader) -> BackendURL? {
        guard m.contains("url"), let node = m.required("url"),
              let text = node.nonEmptyString(expected: "an http(s) URL") else { return nil }
        do {
            return try BackendURL.parse(text)
        } catch {
            node.error("'\(ConfigNode.clip(redactingUserinfo(text)))' \(error)")
            return nil
        }
    }

    /// A URL with `user:password@` would put a credential in the message; cut it out.
    static func redactingUserinfo(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let schemeEnd = text.firstRange(of: "://") else { return text }
        guard schemeEnd.upperBound <= at else { return text }
        return String(text[..<schemeEnd.upperBound]) + "…@" + String(text[text.index(after: at)...])
    }
}
