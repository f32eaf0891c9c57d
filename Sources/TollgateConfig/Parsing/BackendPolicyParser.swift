// SPDX-License-Identifier: Apache-2.0
// price/billing, health, tls, circuit and idle of a backend (pricing is shared with prices.yaml).
enum BackendPolicyParser {
    static let defaultHealthInterval = Duration.seconds(15)

    /// The probe in effect: the `health` key, else the kind's default (runpod: GET /health,
    /// which reports workers without waking one; hf_space with `space`: the Hub's runtime
    /// stage). `health: none` switches a default off.
    static func health(_ node: ConfigNode?, kind: BackendKind, options: BackendOptions?) -> HealthCheck? {
        var defaultProbe: HealthCheck.Probe?
        switch options {
        case .runpod: defaultProbe = .path("/health")
        case .hfSpace(let space) where space.space != nil: defaultProbe = .hubRuntime
        default: defaultProbe = nil
        }
        guard let node else {
            return defaultProbe.map { HealthCheck(probe: $0, interval: defaultHealthInterval) }
        }
        if case .scalar = node.node {
            if node.string() == "none" { return nil }
            node.error("expected { path: /health, interval: 15s } or none, got \(node.shapeDescription)")
            return nil
        }
        guard let h = MappingReader(node, expected: "{ path, interval } or none")
        else { return nil }
        h.checkKeys(allowed: ["path", "interval"])
        let interval = h["interval"]?.duration(minimum: .seconds(1)) ?? defaultHealthInterval
        if let pathNode = h["path"], let path = pathNode.nonEmptyString(expected: "a path like /health") {
            guard path.hasPrefix("/"), path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && $0 != "#" }) else {
                pathNode.error("expected a path starting with / (e.g. /health), got '\(ConfigNode.clip(path))'")
                return nil
            }
            return HealthCheck(probe: .path(path), interval: interval)
        }
        if h.contains("path") { return nil }
        guard let defaultProbe else {
            if options != nil {
                _ = h.required("path", note: " (kind \(kind.rawValue) has no default probe)")
            }
            return nil
        }
        return HealthCheck(probe: defaultProbe, interval: interval)
    }

    /// `tls: { ca_file: PATH }`. The file is checked now, so check-config reports a wrong
    /// path, not the first request: it must be a readable PEM file with a certificate in it.
    static func tls(_ node: ConfigNode?) -> BackendTLS? {
        guard let node, let t = MappingReader(node, expected: "{ ca_file: PATH }") else { return nil }
        t.checkKeys(allowed: ["ca_file"])
        guard let fileNode = t.required("ca_file", note: " (a PEM file of CA certificates to trust for this backend)"),
              let path = fileNode.nonEmptyString(expected: "a file path") else { return nil }
        let text: String
        do {
            text = try FileSystem.readText(path)
        } catch {
            fileNode.error("'\(ConfigNode.clip(path))': \(error)")
            return nil
        }
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            fileNode.error("'\(ConfigNode.clip(path))' has no PEM certificate (-----BEGIN CERTIFICATE-----)")
            return nil
        }
        return BackendTLS(caFile: path)
    }

    static func circuit(_ node: ConfigNode?) -> CircuitConfig {
        let d = CircuitConfig()
        guard let node, let c = MappingReader(node) else { return d }
        c.checkKeys(allowed: ["failures", "cooldown", "max_cooldown"])
        let cooldown = c["cooldown"]?.duration(minimum: .milliseconds(1)) ?? d.cooldown
        let maxCooldown = c["max_cooldown"]?.duration(minimum: .milliseconds(1)) ?? max(d.maxCooldown, cooldown)
        if maxCooldown < cooldown, let flagged = c["max_cooldown"] {
            flagged.error("must be at least cooldown (\(ConfigValue.format(cooldown)))")
        }
        return CircuitConfig(failures: c["failures"]?.integer(1...1_000) ?? d.failures, cooldown: cooldown,
                             maxCooldown: max(maxCooldown, cooldown))
    }

    static let idleMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    static func idle(_ node: ConfigNode?, kind: BackendKind, options: BackendOptions?, apiKey: String?) -> IdlePolicy? {
        guard let node, let i = MappingReader(node) else { return nil }
        i.checkKeys(allowed: ["after", "action", "request"])
        let after = i.required("after")?.duration(minimum: .seconds(1))
        let actionNode = i.required("action", note: " (pause | http)")
        guard let actionText = actionNode?.string(expected: "pause | http"), let actionNode else { return nil }
        switch actionText {
        case "pause":
            if i.contains("request") {
                i.owner.context.error(i.line(of: "request"), i.owner.path, "request is only used with action: http")
            }
            guard kind == .hfSpace else {
                actionNode.error("pause works only for kind hf_space (use action: http with a request)")
                return nil
            }
            if case .hfSpace(let space) = options, space.space == nil {
                actionNode.error("pause needs 'space' (the Hub API pauses a Space by name)")
                return nil
            }
            guard apiKey != nil else {
                actionNode.error("pause needs the backend's 'token' (pausing a Space takes a write token)")
                return nil
            }
            return after.map { IdlePolicy(after: $0, action: .pause) }
        case "http":
            guard let requestNode = i.required("request", note: " (action: http sends it)"),
                  let request = idleRequest(requestNode) else { return nil }
            return after.map { IdlePolicy(after: $0, action: .http(request)) }
        default:
            actionNode.error("expected pause | http, got '\(ConfigNode.clip(actionText))'\(NameSuggester.hint(for: actionText, among: ["pause", "http"]))")
            return nil
        }
    }

    static func idleRequest(_ node: ConfigNode) -> IdleRequest? {
        guard let r = MappingReader(node) else { return nil }
        r.checkKeys(allowed: ["method", "url", "headers"])
        var method = "POST"
        var ok = true
        if let methodNode = r["method"], let text = methodNode.string(expected: idleMethods.joined(separator: " | ")) {
            if idleMethods.contains(text) {
                method = text
            } else {
                methodNode.error("expected \(idleMethods.joined(separator: " | ")), got '\(ConfigNode.clip(text))'")
                ok = false
            }
        }
        var url: BackendURL?
        if let urlNode = r.required("url"), let text = urlNode.nonEmptyString(expected: "an http(s) URL") {
            do {
                url = try BackendURL.parse(text, allowQuery: true)
            } catch {
                urlNode.error("'\(ConfigNode.clip(BackendSectionParser.redactingUserinfo(text)))' \(error)")
            }
        }
        var headers: [IdleRequest.Header] = []
        if let headersNode = r["headers"], let h = MappingReader(headersNode, expected: "a mapping of header name → value") {
            for entry in h.entries {
                guard isHeaderName(entry.key) else {
                    node.context.error(entry.keyLine, headersNode.path, "'\(ConfigNode.clip(entry.key))' is not a valid header name")
                    ok = false
                    continue
                }
                if entry.value.isNull {
                    entry.value.error("has no value")
                    ok = false
                    continue
                }
                guard let value = entry.value.scalar(expected: "a header value") else {
                    ok = false
                    continue
                }
                guard value.text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                    entry.value.error("contains control characters or line breaks")
                    ok = false
                    continue
                }
                let lower = entry.key.lowercased()
                if lower == "authorization" || lower.contains("key") || lower.contains("token") || lower.contains("secret") {
                    entry.value.warnIfWrittenInFile(value.origin, what: "secret")
                }
                headers.append(IdleRequest.Header(name: entry.key, value: value.text))
            }
        }
        guard ok, let url else { return nil }
        return IdleRequest(method: method, url: url, headers: headers)
    }

    /// RFC 9110 token characters.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(c)
        }
    }
}

// `price:` + `billing:` → Pricing. Both or neither: a price with no billing (or the reverse)
// would make the router guess, and a per_hour price billed per_second is a unit mistake.

enum PricingParser {
    static let priceKeys = ["per_hour", "per_second", "per_request", "round_up", "minimum"]

    /// Reads `price` and `billing` from `m` (a backend or a prices.yaml target). nil when
    /// both are absent or on error.
    static func parse(_ m: MappingReader) -> Pricing? {
        let billingNode = m["billing"]
        let billing = billingNode?.choice(Billing.self)
        guard let priceNode = m["price"] else {
            if let billing, let billingNode {
                billingNode.error("\(billing.rawValue) billing needs a price: { \(Pricing.priceKey(for: billing)): … }")
            }
            return nil
        }
        guard let price = MappingReader(priceNode, expected: "a mapping like { per_hour: 0.40 }") else { return nil }
        price.checkKeys(allowed: priceKeys)

        let units: [(key: String, billing: Billing)] = [("per_hour", .alwaysOn), ("per_second", .perSecond),
                                                         ("per_request", .perRequest)]
        let given = units.filter { price.contains($0.key) }
        guard given.count == 1, let unit = given.first else {
            let message = given.isEmpty ? "needs one of per_hour, per_second or per_request"
                : "give only one of per_hour, per_second or per_request"
            priceNode.context.error(m.line(of: "price"), priceNode.path, message)
            return nil
        }
        let amount = price.required(unit.key).flatMap { $0.money(allowZero: true) }

        var roundUp: Duration?
        var minimum: Int64?
        for key in ["round_up", "minimum"] where price.contains(key) && unit.billing != .perSecond {
            priceNode.context.error(price.line(of: key), priceNode.path, "\(key) applies only to per_second prices")
        }
        if unit.billing == .perSecond {
            roundUp = price["round_up"]?.duration(minimum: .milliseconds(1))
            minimum = price["minimum"]?.money(allowZero: true)
        }

        guard let billingNode else {
            priceNode.context.error(m.line(of: "price"), priceNode.path,
                                    "a price needs billing (billing: \(unit.billing.rawValue) goes with \(unit.key))")
            return nil
        }
        guard let billing else { return nil }
        guard billing == unit.billing else {
            billingNode.error("\(billing.rawValue) billing needs a \(Pricing.priceKey(for: billing)) price, but price has \(unit.key)")
            return nil
        }
        guard let amount else { return nil }
        return Pricing(billing: billing, microDollars: amount, roundUp: roundUp, minimumMicroDollars: minimum)
    }
}
