// SPDX-License-Identifier: Apache-2.0
// server, storage, admin, metrics, defaults, groups, budgets and the `limits:` mapping they
// share.
import TollgateLimits

enum GeneralSectionParser {
    static let limitKeys = ["requests_per_minute", "concurrent", "gpu_seconds_per_day", "usd_per_month"]

    static func storage(_ node: ConfigNode?) -> StorageConfig {
        let d = StorageConfig()
        guard let node, let m = MappingReader(node) else { return d }
        m.checkKeys(allowed: ["sqlite", "retention_days"])
        return StorageConfig(sqlite: m["sqlite"]?.nonEmptyString(expected: "a file path") ?? d.sqlite,
                             retentionDays: m["retention_days"]?.integer(0...36_500) ?? d.retentionDays)
    }

    /// The admin key; absent or empty (`${TOLLGATE_ADMIN_KEY:-}`) turns /admin off.
    static func admin(_ node: ConfigNode?) -> AdminConfig {
        guard let node, let m = MappingReader(node) else { return AdminConfig() }
        m.checkKeys(allowed: ["key"])
        guard let keyNode = m["key"] else { return AdminConfig() }
        return AdminConfig(key: keyNode.clientKey(allowEmpty: true).key)
    }

    static func metrics(_ node: ConfigNode?, admin: AdminConfig) -> MetricsConfig {
        let d = MetricsConfig()
        guard let node, let m = MappingReader(node) else { return d }
        m.checkKeys(allowed: ["protected", "user_label"])
        let protected = m["protected"]?.bool() ?? d.protected
        if protected, !admin.isEnabled, let flag = m["protected"] {
            flag.error("true needs admin.key: it is the key that reads a protected /metrics")
        }
        return MetricsConfig(protected: protected, userLabel: m["user_label"]?.bool() ?? d.userLabel)
    }

    static func defaults(_ node: ConfigNode?) -> DefaultsConfig {
        let d = DefaultsConfig()
        guard let node, let m = MappingReader(node) else { return d }
        m.checkKeys(allowed: ["limits", "timezone"])
        var timezone = d.timezone
        var rules = d.zoneRules
        if let zone = m["timezone"], let text = zone.nonEmptyString(expected: "a time zone") {
            let directory = node.context.zoneInfoDirectory
            if utcNames.contains(text) {
                timezone = text
            } else if isKnownTimeZone(text, directory: directory) {
                do {
                    rules = try ZoneRules(tzif: try FileSystem.readBytes("\(directory)/\(text)", limit: maximumZoneFileSize))
                    timezone = text
                } catch {
                    // A file that cannot be read, or one that is no TZif (ZoneRulesError).
                    zone.error("time zone '\(ConfigNode.clip(text))': \(directory)/\(text): \(error)")
                }
            } else {
                zone.error("unknown time zone '\(ConfigNode.clip(text))' (UTC, or an IANA name like Europe/Berlin from \(directory))")
            }
        }
        return DefaultsConfig(limits: limits(m["limits"]), timezone: timezone, zoneRules: rules)
    }

    /// `groups:` → groups in file order.
    static func groups(_ node: ConfigNode?) -> [GroupConfig] {
        guard let node, let m = MappingReader(node, expected: "a mapping of group name → settings") else { return [] }
        var result: [GroupConfig] = []
        for entry in m.allEntries {
            guard NameRules.check(entry.key, kind: "group", line: entry.keyLine, path: node.path, context: node.context),
                  let group = MappingReader(entry.value) else { continue }
            group.checkKeys(allowed: ["limits"])
            result.append(GroupConfig(name: entry.key, limits: limits(group["limits"]), line: entry.keyLine))
        }
        return result
    }

    static func budgets(_ node: ConfigNode?) -> BudgetsConfig {
        guard let node, let m = MappingReader(node) else { return BudgetsConfig() }
        m.checkKeys(allowed: ["usd_per_month"])
        return BudgetsConfig(microDollarsPerMonth: m["usd_per_month"]?.money(allowZero: false))
    }

    /// A `limits:` mapping. 0 is accepted and means unlimited; negative values are errors.
    static func limits(_ node: ConfigNode?) -> LimitsConfig {
        guard let node, let m = MappingReader(node) else { return LimitsConfig() }
        m.checkKeys(allowed: limitKeys)
        return LimitsConfig(
            requestsPerMinute: m["requests_per_minute"]?.integer(0...1_000_000_000),
            concurrent: m["concurrent"]?.integer(0...1_000_000),
            milliGPUSecondsPerDay: m["gpu_seconds_per_day"]?.fixedPoint(
                places: 3, expected: "a number of GPU-seconds like 300 or 0.5", allowZero: true),
            microDollarsPerMonth: m["usd_per_month"]?.money(allowZero: true))
    }

    /// Names that mean UTC without a file: its rules are built in.
    static let utcNames: Set<String> = ["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z"]

    /// The largest TZif file in tzdata is a few KiB; a bound keeps a mistaken path cheap.
    static let maximumZoneFileSize = 1 << 20

    /// A name with a file in the tz database (UTC and its aliases are taken before). Quota
    /// days and months are computed in this zone, so a typo must not silently become UTC.
    static func isKnownTimeZone(_ name: String, directory: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        let safe = parts.allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
                && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_+-".unicodeScalars.contains($0) }
        }
        return safe && FileSystem.isReadableFile("\(directory)/\(name)")
    }
}

/// `server:` → ServerConfig. Bounds are generous; they exist to catch typos (`max_header:
/// 32MB`) and values the HTTP layer cannot honour, not to second-guess tuning.
enum ServerSectionParser {
    static let keys = ["listen", "workers", "max_connections", "max_header", "max_body", "max_buffered", "header_timeout",
                       "body_timeout", "idle_timeout", "drain_timeout", "trusted_proxies"]

    static func parse(_ node: ConfigNode?) -> ServerConfig {
        let d = ServerConfig.default
        guard let node, let m = MappingReader(node) else { return d }
        m.checkKeys(allowed: keys)

        var host = d.listenHost
        var port = d.listenPort
        if let listen = m["listen"], let text = listen.nonEmptyString(expected: "host:port") {
            switch NetworkAddress.parseListen(text) {
            case .success(let address):
                host = address.host
                port = address.port
            case .failure(.shape):
                listen.error("expected host:port (e.g. 127.0.0.1:8080 or [::1]:8080), got '\(ConfigNode.clip(text))'")
            case .failure(.host(let bad)):
                listen.error("'\(ConfigNode.clip(bad))' is not an IP address or localhost (host names are not resolved)")
            case .failure(.port(let bad)):
                listen.error("'\(ConfigNode.clip(bad))' is not a port (0-65535)")
            }
        }

        var workers = d.workers
        if let node = m["workers"], let text = node.string(expected: "auto or a number from 1 to 1024") {
            if text != "auto" {
                workers = node.integer(1...1024, expected: "auto or a number from 1 to 1024")
            }
        }

        var proxies: [String] = []
        for item in m["trusted_proxies"]?.list(expected: "a list of IPs or CIDRs (e.g. [10.0.0.0/8])") ?? [] {
            guard let text = item.nonEmptyString(expected: "an IP or CIDR") else { continue }
            if NetworkAddress.isAddressOrCIDR(text) {
                proxies.append(text)
            } else {
                item.error("'\(ConfigNode.clip(text))' is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)")
            }
        }

        let maxBody = m["max_body"]?.byteSize(1...(1 << 40)) ?? d.maxBody
        let maxBuffered = m["max_buffered"]?.byteSize((1 << 20)...(1 << 40)) ?? d.maxBuffered
        if maxBuffered < maxBody, let node = m["max_buffered"] ?? m["max_body"] {
            node.warning("max_buffered (\(maxBuffered) bytes) is below max_body (\(maxBody) bytes): a body that large reserves the whole buffer and the others wait for it, and one whose `model` comes after max_buffered bytes is refused (413)")
        }
        let oneMillisecond = Duration.milliseconds(1)
        return ServerConfig(
            listenHost: host, listenPort: port, workers: workers,
            maxConnections: m["max_connections"]?.integer(1...1_000_000) ?? d.maxConnections,
            maxHeader: m["max_header"]?.byteSize(1024...(1 << 20)) ?? d.maxHeader,
            maxBody: maxBody,
            maxBuffered: maxBuffered,
            headerTimeout: m["header_timeout"]?.duration(minimum: oneMillisecond) ?? d.headerTimeout,
            bodyTimeout: m["body_timeout"]?.duration(minimum: oneMillisecond) ?? d.bodyTimeout,
            idleTimeout: m["idle_timeout"]?.duration(minimum: oneMillisecond) ?? d.idleTimeout,
            drainTimeout: m["drain_timeout"]?.duration() ?? d.drainTimeout,
            trustedProxies: proxies)
    }
}
