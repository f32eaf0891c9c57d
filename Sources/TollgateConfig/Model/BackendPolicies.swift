// SPDX-License-Identifier: Apache-2.0
// Pricing, health, TLS trust, circuit and idle settings of a backend (also used by prices.yaml targets).
public import TollgateCore

/// How a backend is paid for.
public enum Billing: String, Sendable, Equatable, CaseIterable {
    /// Paid by the hour while up, used or not (HF Space hardware, an own box).
    case alwaysOn = "always_on"
    /// Paid per GPU-second of use (RunPod/Modal serverless).
    case perSecond = "per_second"
    /// A fixed price per request.
    case perRequest = "per_request"
}

/// `price:` with its `billing:`. The two must agree (always_on ↔ per_hour, per_second ↔
/// per_second, per_request ↔ per_request), so they are one value here.
public struct Pricing: Sendable, Equatable {
    public let billing: Billing
    /// Micro-dollars per hour (always_on), per GPU-second (per_second) or per request.
    public let microDollars: Int64
    /// per_second only: GPU time is rounded up to a multiple of this; nil = exact.
    public let roundUp: Duration?
    /// per_second only: the least a request costs, in micro-dollars; nil = none.
    public let minimumMicroDollars: Int64?

    public init(billing: Billing, microDollars: Int64, roundUp: Duration? = nil, minimumMicroDollars: Int64? = nil) {
        self.billing = billing
        self.microDollars = microDollars
        self.roundUp = roundUp
        self.minimumMicroDollars = minimumMicroDollars
    }

    /// As the pure cost model the meter, the router and `report --what-if` price with (SPEC §3:
    /// round_up and minimum are per_second's).
    public var costModel: CostModel {
        let price = MicroDollars(microDollars)
        switch billing {
        case .alwaysOn: return .alwaysOn(perHour: price)
        case .perRequest: return .perRequest(price)
        case .perSecond:
            let roundUpMs = roundUp.map { Int64($0.milliseconds) }
            return .perSecond(perSecond: price, roundUpMs: roundUpMs, minimum: minimumMicroDollars.map(MicroDollars.init))
        }
    }

    /// The `price:` key that goes with each billing.
    public static func priceKey(for billing: Billing) -> String {
        switch billing {
        case .alwaysOn: return "per_hour"
        case .perSecond: return "per_second"
        case .perRequest: return "per_request"
        }
    }
}

/// `health:` — an active probe that neither wakes nor bills a GPU.
public struct HealthCheck: Sendable, Equatable {
    public enum Probe: Sendable, Equatable {
        /// GET this path below the backend's base URL; 2xx = up.
        case path(String)
        /// Ask the Hugging Face Hub for the Space's runtime stage (hf_space with `space`).
        case hubRuntime
    }

    public let probe: Probe
    public let interval: Duration

    public init(probe: Probe, interval: Duration = .seconds(15)) {
        self.probe = probe
        self.interval = interval
    }
}

/// `tls:` — trust for a backend's certificate beyond the system's (SPEC §2, §7): verification
/// is never turned off, and `caFile` adds trust, never removes it.
public struct BackendTLS: Sendable, Equatable {
    /// A PEM file of CA certificates trusted for this backend in addition to the system store.
    /// Relative paths are relative to the working directory (as `storage.sqlite`).
    public let caFile: String

    public init(caFile: String) {
        self.caFile = caFile
    }
}

/// `circuit:` — consecutive failures open it for `cooldown`, doubling up to `maxCooldown`.
public struct CircuitConfig: Sendable, Equatable {
    public let failures: Int
    public let cooldown: Duration
    public let maxCooldown: Duration

    public init(failures: Int = 3, cooldown: Duration = .seconds(10), maxCooldown: Duration = .seconds(300)) {
        self.failures = failures
        self.cooldown = cooldown
        self.maxCooldown = maxCooldown
    }
}

/// `idle:` — what to do with a backend unused for `after`.
public struct IdlePolicy: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Pause the HF Space through the Hub API (needs `space` and `token`).
        case pause
        /// Send the configured request.
        case http(IdleRequest)
    }

    public let after: Duration
    public let action: Action

    public init(after: Duration, action: Action) {
        self.after = after
        self.action = action
    }
}

/// The call `idle: { action: http }` makes.
public struct IdleRequest: Sendable, Equatable {
    /// GET, POST, PUT, PATCH or DELETE [POST].
    public let method: String
    /// May carry a query (unlike a base URL); never userinfo or a fragment.
    public let url: BackendURL
    /// In config order; values may hold secrets (expanded from `${VAR}`).
    public let headers: [Header]

    public struct Header: Sendable, Equatable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(method: String = "POST", url: BackendURL, headers: [Header] = []) {
        self.method = method
        self.url = url
        self.headers = headers
    }
}
