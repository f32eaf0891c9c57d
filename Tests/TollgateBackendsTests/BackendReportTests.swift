// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateBackends
import TollgateCore
import TollgateUpstream

struct BackendReportTests {
    @Test func everyTransportOutcomeKeepsItsMeaning() {
        let pairs: [(UpstreamOutcome, BackendOutcome)] = [
            (.completed, .completed), (.connectFailed("c"), .connectFailed("c")), (.tlsFailed("t"), .tlsFailed("t")),
            (.timedOut("o"), .timedOut("o")), (.broken("b"), .broken("b")), (.tooLarge, .tooLarge), (.cancelled, .cancelled),
        ]
        for (transport, backend) in pairs {
            #expect(BackendOutcome(transport) == backend)
            #expect(backend.description == transport.description)
        }
    }

    @Test func theJobOutcomesSayWhatHappened() {
        #expect(BackendOutcome.quotaExhausted("ZeroGPU quota exceeded", until: 42).description == "quota exhausted: ZeroGPU quota exceeded")
        #expect(BackendOutcome.jobFailed("CUDA out of memory").description == "job failed: CUDA out of memory")
        #expect(BackendOutcome.quotaExhausted("q", until: 1) != .quotaExhausted("q", until: 2))
    }

    @Test func aColdStartWithALengthIsAColdStart() {
        #expect(!BackendReport(outcome: .completed).coldStart)
        #expect(BackendReport(outcome: .completed, coldStart: true).coldStartTime == nil)
        #expect(BackendReport(outcome: .completed, coldStartTime: .seconds(3)).coldStart)
    }

    @Test func gpuTimeKeepsWhoseFigureItIs() {
        let billed = BackendReport(outcome: .completed, gpuTime: .reported(MilliGPUSeconds(1_234)))
        #expect(billed.gpuTime?.value == MilliGPUSeconds(1_234))
        #expect(billed.gpuTime != .measured(MilliGPUSeconds(1_234)))
        #expect(BackendReport(outcome: .completed).gpuTime == nil)
    }
}
