// SPDX-License-Identifier: Apache-2.0

/// The kinds of backend Tollgate can call.
public enum BackendKind: String, Sendable, Equatable, CaseIterable {
    /// Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI, a hosted API).
    case openai
    /// A Hugging Face (Gradio) Space.
    case hfSpace = "hf_space"
    /// A RunPod serverless endpoint.
    case runpod
    /// A Modal web endpoint.
    case modal
    /// A Replicate model or version.
    case replicate
    /// Any HTTP service; the request is forwarded as-is.
    case http
    /// An in-process stand-in GPU for demos and capacity planning.
    case simulated

    /// The platform answers only when the job is done (RunPod, Replicate, a Gradio call, Modal
    /// after its 303 legs), so its first response byte is its result: `first_byte_timeout`
    /// defaults to the whole `timeout` (the adapter bounds the job by it and cancels it).
    public var answersWhenDone: Bool {
        switch self {
        case .hfSpace, .runpod, .modal, .replicate: return true
        case .openai, .http, .simulated: return false
        }
    }
}

/// One entry of `backends:`.
public struct BackendConfig: Sendable, Equatable {
    public let name: String
    /// Kind-specific settings; `kind` is derived from it, so the two can never disagree.
    public let options: BackendOptions
    /// The base URL in effect: the `url` key, else the kind's default (runpod:
    /// `https://api.runpod.ai/v2/<endpoint_id>`, replicate: `https://api.replicate.com/v1`,
    /// hf_space with `space`: `https://<owner>-<name>.hf.space`). nil only for simulated.
    public let url: BackendURL?
    /// The credential sent upstream as this kind expects (hf_space: its `token`). Never the
    /// client's key. nil when absent or expanded to the empty string.
    public let apiKey: String?
    /// The upstream model name when it differs from the client's (not used by replicate,
    /// whose `model` is the target in `options`).
    public let model: String?
    /// nil: unpriced (costs 0, never charged against quotas in dollars).
    public let pricing: Pricing?
    public let maxConcurrency: Int
    public let timeout: Duration
    public let firstByteTimeout: Duration
    public let connectTimeout: Duration
    /// Prior for the run time until measured.
    public let expectedRun: Duration
    /// Expected wake-up time when cold.
    public let coldStart: Duration
    /// Add the backend's reported queue/cold-start seconds to the billed GPU time.
    public let billColdStart: Bool
    /// Upstream body cap in bytes.
    public let maxResponse: Int
    /// Over it this backend leaves the candidate list; nil = none.
    public let budgetMicroDollarsPerMonth: Int64?
    /// Active probe; nil = passive outcomes only.
    public let health: HealthCheck?
    /// Extra trust for the backend's certificate; nil = the system's only.
    public let tls: BackendTLS?
    public let circuit: CircuitConfig
    public let idle: IdlePolicy?
    /// Line of the backend's name in the file (0 when built in code).
    public let line: Int

    public init(name: String, options: BackendOptions, url: BackendURL? = nil, apiKey: String? = nil,
                model: String? = nil, pricing: Pricing? = nil, maxConcurrency: Int = 16,
                timeout: Duration = .seconds(300), firstByteTimeout: Duration = .seconds(120),
                connectTimeout: Duration = .seconds(10), expectedRun: Duration = .seconds(1),
                coldStart: Duration = .zero, billColdStart: Bool = false, maxResponse: Int = 1 << 30,
                budgetMicroDollarsPerMonth: Int64? = nil, health: HealthCheck? = nil, tls: BackendTLS? = nil,
                circuit: CircuitConfig = .init(), idle: IdlePolicy? = nil, line: Int = 0) {
        self.name = name
        self.options = options
        self.url = url
        self.apiKey = apiKey
        self.model = model
        self.pricing = pricing
        self.maxConcurrency = maxConcurrency
        self.timeout = timeout
        self.firstByteTimeout = firstByteTimeout
        self.connectTimeout = connectTimeout
        self.expectedRun = expectedRun
        self.coldStart = coldStart
        self.billColdStart = billColdStart
        self.maxResponse = maxResponse
        self.budgetMicroDollarsPerMonth = budgetMicroDollarsPerMonth
        self.health = health
        self.tls = tls
        self.circuit = circuit
        self.idle = idle
        self.line = line
    }

    public var kind: BackendKind { options.kind }

    /// The billing model, or nil when unpriced.
    public var billing: Billing? { pricing?.billing }
}
