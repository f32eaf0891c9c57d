// SPDX-License-Identifier: Apache-2.0
// What every upstream kind (openai, http, modal, runpod, replicate, hf_space) knows of its
// backend's connection: its name, base URL, credential and limits. GatewayPlan+Config builds it
// once per backend from the config; each kind's options hold it beside their own fields.

public struct BackendEndpoint: Sendable, Equatable {
    public var name: String
    /// The config's `url`, e.g. `http://10.0.0.5:8000` or `https://api.example.com/v1`: what
    /// every operation's URL is built on.
    public var baseURL: String
    /// The backend's own credential (`api_key`; hf_space: its `token`), sent as
    /// `Authorization: Bearer`. The client's Authorization never leaves the gateway.
    public var apiKey: String?
    public var connectTimeoutMs: Int
    /// The backend's `timeout`: the whole call (a job kind's polls and fetches included).
    public var totalTimeoutMs: Int
    /// Cap on any reply read from the backend (`max_response`).
    public var maxResponseBytes: Int
    /// CA certificates trusted for this backend on top of the system's (`tls.ca_file`).
    public var caFile: String?

    public init(name: String, baseURL: String, apiKey: String?, connectTimeoutMs: Int = 10_000,
                totalTimeoutMs: Int = 300_000, maxResponseBytes: Int = 1 << 30, caFile: String? = nil) {
        self.name = name
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.connectTimeoutMs = connectTimeoutMs
        self.totalTimeoutMs = totalTimeoutMs
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
    }

    /// `baseURL` without its trailing slashes, for appending a path.
    public var trimmedBaseURL: String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base.removeLast() }
        return String(base)
    }

    /// The headers every request to the backend carries: the gateway's User-Agent and, with
    /// a credential, `Authorization: Bearer <credential>`.
    public var identityHeaders: [(String, String)] {
        var headers = [("User-Agent", "tollgate/0.1")]
        if let key = apiKey, !key.isEmpty { headers.append(("Authorization", "Bearer \(key)")) }
        return headers
    }
}
