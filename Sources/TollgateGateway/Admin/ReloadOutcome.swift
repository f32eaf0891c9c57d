// SPDX-License-Identifier: Apache-2.0
// What one config reload came to, for the log and for `POST /admin/reload`'s reply. It holds
// counts and diagnostics only: no key, no digest, no upstream credential ever enters it
// (ConfigDiagnostic messages never echo a secret — ConfigNode+Secrets).

public enum ReloadOutcome: Sendable {
    /// The file was valid and its plan is now what every loop starts requests on.
    case reloaded(ReloadSummary)
    /// The file has errors (`FILE:LINE: message`, as `check-config` prints them); the running
    /// config is kept.
    case invalid(file: String, errors: [String])
    /// No reload could run (the gateway is draining).
    case unavailable(reason: String)
}

/// The counts of a reloaded config.
public struct ReloadSummary: Sendable, Equatable {
    public let file: String
    public let backends: Int
    public let models: Int
    public let users: Int
    public let keys: Int
    /// Warnings of the new file (`FILE:LINE: warning: …`), keys accepted without effect included.
    public let warnings: [String]
    /// `server:` changed: those settings wait for a restart.
    public let restartRequired: Bool

    public init(file: String, backends: Int, models: Int, users: Int, keys: Int, warnings: [String],
                restartRequired: Bool) {
        self.file = file
        self.backends = backends
        self.models = models
        self.users = users
        self.keys = keys
        self.warnings = warnings
        self.restartRequired = restartRequired
    }
}
