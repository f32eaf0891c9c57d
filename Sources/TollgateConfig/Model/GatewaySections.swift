// SPDX-License-Identifier: Apache-2.0
// The small top-level sections (storage, admin, metrics, defaults, groups, budgets) and the
// `limits:` mapping they share.
public import TollgateLimits

/// `storage:` — the SQLite usage log.
public struct StorageConfig: Sendable, Equatable {
    /// Path of the database file (relative paths are relative to the working directory).
    public let sqlite: String
    /// Days of per-request rows to keep; 0 keeps them forever. Daily rollups are never deleted.
    public let retentionDays: Int

    public init(sqlite: String = "./tollgate.db", retentionDays: Int = 90) {
        self.sqlite = sqlite
        self.retentionDays = retentionDays
    }
}

/// `admin:` — the key that guards /admin/* (and /metrics when protected).
public struct AdminConfig: Sendable, Equatable {
    /// nil: /admin/* is off (the key was absent or expanded to the empty string).
    public let key: ClientKey?

    public init(key: ClientKey? = nil) {
        self.key = key
    }

    public var isEnabled: Bool { key != nil }

    /// Constant-time check of a presented bearer key.
    public func accepts(_ presented: some Collection<UInt8>) -> Bool {
        guard let key else { return false }
        return key.matches(presented)
    }
}

/// `metrics:` — the Prometheus endpoint.
public struct MetricsConfig: Sendable, Equatable {
    /// true: /metrics needs the admin key.
    public let protected: Bool
    /// Whether user names (never keys) label the spend series.
    public let userLabel: Bool

    public init(protected: Bool = false, userLabel: Bool = true) {
        self.protected = protected
        self.userLabel = userLabel
    }
}

/// `defaults:` — limits for every user unless its group or the user overrides them.
public struct DefaultsConfig: Sendable, Equatable {
    public let limits: LimitsConfig
    /// `UTC` or an IANA name (`Europe/Berlin`) that exists in the tz database; the calendar
    /// for per-day and per-month quotas.
    public let timezone: String
    /// `timezone`'s rules, read from its TZif file at load (UTC and its aliases: built in), so
    /// the plan builds its QuotaCalendar without touching the file system, and a damaged file
    /// is a config error rather than a silent UTC.
    public let zoneRules: ZoneRules

    public init(limits: LimitsConfig = .init(), timezone: String = "UTC", zoneRules: ZoneRules = .utc) {
        self.limits = limits
        self.timezone = timezone
        self.zoneRules = zoneRules
    }
}

/// One entry of `groups:`.
public struct GroupConfig: Sendable, Equatable {
    public let name: String
    public let limits: LimitsConfig
    /// Line of the group's name in the file (0 when built in code).
    public let line: Int

    public init(name: String, limits: LimitsConfig = .init(), line: Int = 0) {
        self.name = name
        self.limits = limits
        self.line = line
    }
}

/// `budgets:` — whole-gateway caps.
public struct BudgetsConfig: Sendable, Equatable {
    /// Calendar-month cap on the spend of all users together; nil = none.
    public let microDollarsPerMonth: Int64?

    public init(microDollarsPerMonth: Int64? = nil) {
        self.microDollarsPerMonth = microDollarsPerMonth
    }
}

/// A `limits:` mapping (in defaults, a group or a user). Each field is nil when the key is
/// absent — the next level down then decides — and 0 when written as 0, which means
/// "unlimited" and overrides what the lower levels say.
public struct LimitsConfig: Sendable, Equatable {
    /// Token bucket, burst = one minute's worth.
    public let requestsPerMinute: Int?
    /// Requests in flight at once.
    public let concurrent: Int?
    /// GPU-seconds per calendar day, in thousandths (`gpu_seconds_per_day: 1.5` → 1500).
    public let milliGPUSecondsPerDay: Int64?
    /// Spend per calendar month in micro-dollars (`usd_per_month: 25` → 25_000_000).
    public let microDollarsPerMonth: Int64?

    public init(requestsPerMinute: Int? = nil, concurrent: Int? = nil, milliGPUSecondsPerDay: Int64? = nil,
                microDollarsPerMonth: Int64? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.concurrent = concurrent
        self.milliGPUSecondsPerDay = milliGPUSecondsPerDay
        self.microDollarsPerMonth = microDollarsPerMonth
    }

    /// No limit at all.
    public static let unlimited = LimitsConfig()

    /// These limits laid over `base`: a field set here (0 included) wins, an absent one
    /// falls through to `base`.
    public func overriding(_ base: LimitsConfig) -> LimitsConfig {
        LimitsConfig(requestsPerMinute: requestsPerMinute ?? base.requestsPerMinute,
                     concurrent: concurrent ?? base.concurrent,
                     milliGPUSecondsPerDay: milliGPUSecondsPerDay ?? base.milliGPUSecondsPerDay,
                     microDollarsPerMonth: microDollarsPerMonth ?? base.microDollarsPerMonth)
    }

    /// The limits to enforce: 0 turned into nil, so nil always means unlimited.
    public var enforced: LimitsConfig {
        LimitsConfig(requestsPerMinute: requestsPerMinute.flatMap { $0 == 0 ? nil : $0 },
                     concurrent: concurrent.flatMap { $0 == 0 ? nil : $0 },
                     milliGPUSecondsPerDay: milliGPUSecondsPerDay.flatMap { $0 == 0 ? nil : $0 },
                     microDollarsPerMonth: microDollarsPerMonth.flatMap { $0 == 0 ? nil : $0 })
    }

    public var isUnlimited: Bool { enforced == .unlimited }
}
