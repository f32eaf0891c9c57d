// SPDX-License-Identifier: Apache-2.0
// Each kind builds its own adapter and states what it needs of the client's body; the gateway
// asks nothing else about a kind.
import Testing
import TollgateCore
@testable import TollgateBackends
import TollgateIO
import TollgateUpstream

struct BackendKindTests {
    private static func call(_ operation: APIOperation, stream: Bool) -> BackendCall {
        BackendCall(operation: operation, model: "m", upstreamModel: "up", stream: stream, bodyLength: nil, requestID: RequestID(prefix: 1, counter: 1))
    }

    /// Adapters are only built here, never invoked: a loop that is not running will do.
    private static func backendLoop() throws -> BackendLoop {
        BackendLoop(loop: try EventLoop(index: 0), curlShare: CurlShare())
    }

    @Test func eachKindBuildsItsOwnAdapter() throws {
        let loop = try Self.backendLoop()
        let openai = OpenAIKind(options: OpenAIBackendOptions(endpoint: BackendEndpoint(name: "vllm", baseURL: "http://127.0.0.1:9", apiKey: nil)))
        let simulated = SimulatedKind(options: SimulatedBackendOptions(name: "sim"))
        let runpod = RunPodKind(options: RunPodBackendOptions(endpoint: BackendEndpoint(name: "rp", baseURL: "http://127.0.0.1:9", apiKey: "k")))
        let kinds: [any BackendKind] = [openai, simulated, runpod]
        let adapters = kinds.map { $0.makeAdapter(on: loop) }
        #expect(adapters[0] is OpenAIBackend && adapters[1] is SimulatedBackend && adapters[2] is RunPodBackend)
        #expect(adapters.map(\.name) == ["vllm", "sim", "rp"])
    }

    @Test func httpAndModalArePassThroughsWithTheirOwnRules() throws {
        let loop = try Self.backendLoop()
        let options = OpenAIBackendOptions(endpoint: BackendEndpoint(name: "box", baseURL: "http://127.0.0.1:9", apiKey: "k"))
        let http = try #require(HTTPKind(options: options).makeAdapter(on: loop) as? OpenAIBackend)
        // As-is: a configured `model` rename only, never stream_options added.
        #expect(http.bodyShaping(for: Self.call(.chatCompletions, stream: true)) == BodyShaping(renamesModel: true, requestsStreamUsage: false))
        #expect(http.rules.maxRedirects == 0 && !http.rules.reportsMeasuredTime && http.rules.extraHeaders.isEmpty)
        let modal = try #require(ModalKind(options: options, tokenID: "wk-1", tokenSecret: "ws-2").makeAdapter(on: loop) as? OpenAIBackend)
        #expect(modal.rules.extraHeaders.map { "\($0.0): \($0.1)" } == ["Modal-Key: wk-1", "Modal-Secret: ws-2"])
        #expect(modal.rules.maxRedirects > 0 && modal.rules.reportsMeasuredTime)
        #expect(modal.bodyShaping(for: Self.call(.chatCompletions, stream: true)).requestsStreamUsage == false)
        let bare = try #require(ModalKind(options: options, tokenID: nil, tokenSecret: nil).makeAdapter(on: loop) as? OpenAIBackend)
        #expect(bare.rules.extraHeaders.isEmpty)
    }

    @Test func aSimulatedKindSharesItsWarmthAcrossLoops() throws {
        let kind = SimulatedKind(options: SimulatedBackendOptions(name: "sim"))
        let a = try #require(kind.makeAdapter(on: try Self.backendLoop()) as? SimulatedBackend)
        let b = try #require(kind.makeAdapter(on: try Self.backendLoop()) as? SimulatedBackend)
        #expect(a !== b)
        #expect(a.sharedState === b.sharedState)
    }

    @Test func anOpenAICompatibleServerIsAskedForUsageOnStreamedChatOnly() throws {
        let adapter = OpenAIKind(options: OpenAIBackendOptions(endpoint: BackendEndpoint(name: "o", baseURL: "http://h", apiKey: nil)))
            .makeAdapter(on: try Self.backendLoop())
        #expect(adapter.bodyShaping(for: Self.call(.chatCompletions, stream: true)) == BodyShaping(renamesModel: true, requestsStreamUsage: true))
        #expect(adapter.bodyShaping(for: Self.call(.chatCompletions, stream: false)) == BodyShaping(renamesModel: true, requestsStreamUsage: false))
        #expect(adapter.bodyShaping(for: Self.call(.completions, stream: true)) == BodyShaping(renamesModel: true, requestsStreamUsage: false))
        #expect(adapter.bodyShaping(for: Self.call(.embeddings, stream: false)) == BodyShaping(renamesModel: true, requestsStreamUsage: false))
    }

    @Test func theSimulatedKindRenamesOnly() throws {
        let loop = try Self.backendLoop()
        let simulated = SimulatedKind(options: SimulatedBackendOptions(name: "s")).makeAdapter(on: loop)
        for stream in [false, true] {
            #expect(simulated.bodyShaping(for: Self.call(.chatCompletions, stream: stream)) == BodyShaping(renamesModel: true, requestsStreamUsage: false))
        }
    }

    /// The headers every request to a backend carries: a credential only when there is one.
    @Test func anEndpointSendsItsCredentialOnlyWhenItHasOne() {
        let keyed = BackendEndpoint(name: "b", baseURL: "https://h/v1//", apiKey: "k")
        #expect(keyed.identityHeaders.map { "\($0.0): \($0.1)" } == ["User-Agent: tollgate/0.1", "Authorization: Bearer k"])
        #expect(keyed.trimmedBaseURL == "https://h/v1" && keyed.baseURL == "https://h/v1//")
        for key in [nil, ""] as [String?] {
            let bare = BackendEndpoint(name: "b", baseURL: "https://h", apiKey: key)
            #expect(bare.identityHeaders.map { "\($0.0): \($0.1)" } == ["User-Agent: tollgate/0.1"])
        }
    }
}
