// SPDX-License-Identifier: Apache-2.0
// The settings only one kind of backend has. An enum payload, so switching on the kind hands
// the adapter exactly its own settings.

public enum BackendOptions: Sendable, Equatable {
    case openai
    case hfSpace(HFSpaceOptions)
    case runpod(RunPodOptions)
    case modal(ModalOptions)
    case replicate(ReplicateOptions)
    case http
    case simulated(SimulatedOptions)

    public var kind: BackendKind {
        switch self {
        case .openai: return .openai
        case .hfSpace: return .hfSpace
        case .runpod: return .runpod
        case .modal: return .modal
        case .replicate: return .replicate
        case .http: return .http
        case .simulated: return .simulated
        }
    }
}

/// kind: hf_space — a Gradio app.
public struct HFSpaceOptions: Sendable, Equatable {
    /// `owner/name` on the Hub; nil when only `url` was given (then no Hub runtime probe and
    /// no `idle: pause`).
    public let space: String?
    /// The Gradio endpoint to call [/predict].
    public let apiName: String
    /// The Gradio `data` array.
    public let inputs: [GradioInput]
    /// Which Gradio output is the result [0].
    public let output: Int

    public init(space: String? = nil, apiName: String = "/predict", inputs: [GradioInput] = [], output: Int = 0) {
        self.space = space
        self.apiName = apiName
        self.inputs = inputs
        self.output = output
    }
}

/// One element of an hf_space `inputs` array.
public enum GradioInput: Sendable, Equatable {
    /// `$name`: the request field `name` (JSON or multipart; files are uploaded first).
    case field(String)
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
}

/// kind: runpod — a serverless endpoint.
public struct RunPodOptions: Sendable, Equatable {
    public let endpointID: String

    public init(endpointID: String) {
        self.endpointID = endpointID
    }
}

/// kind: modal — credentials sent as Modal-Key / Modal-Secret when the endpoint requires
/// proxy auth; both or neither.
public struct ModalOptions: Sendable, Equatable {
    public let tokenID: String?
    public let tokenSecret: String?

    public init(tokenID: String? = nil, tokenSecret: String? = nil) {
        self.tokenID = tokenID
        self.tokenSecret = tokenSecret
    }
}

/// kind: replicate — what to run.
public struct ReplicateOptions: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        /// `model: owner/name` (an official model: POST /v1/models/{owner}/{name}/predictions).
        case model(owner: String, name: String)
        /// `version: <id>` (POST /v1/predictions with that version).
        case version(String)
    }

    public let target: Target

    public init(target: Target) {
        self.target = target
    }
}

/// kind: simulated — an in-process stand-in GPU.
public struct SimulatedOptions: Sendable, Equatable {
    /// Mean of the latency distribution [800ms].
    public let latency: Duration
    /// Standard deviation around `latency` [200ms] (`latency: 800ms ± 200ms`).
    public let latencyJitter: Duration
    /// Idle time after which the next request pays the backend's `cold_start` [5m].
    public let coldAfter: Duration
    /// Share of requests that fail, 0…1 [0].
    public let failureRate: Double
    /// Gap between streamed tokens [20ms].
    public let streamInterval: Duration

    public init(latency: Duration = .milliseconds(800), latencyJitter: Duration = .milliseconds(200),
                coldAfter: Duration = .seconds(300), failureRate: Double = 0,
                streamInterval: Duration = .milliseconds(20)) {
        self.latency = latency
        self.latencyJitter = latencyJitter
        self.coldAfter = coldAfter
        self.failureRate = failureRate
        self.streamInterval = streamInterval
    }
}
