// SPDX-License-Identifier: Apache-2.0
// `server.max_buffered`: read with its default, bounded, and warned about below `max_body`.
import Testing
import TollgateConfig

struct MaxBufferedTests {
    @Test func isReadAndWarnsWhenBelowMaxBody() {
        let fine = TestSupport.load("server: { max_buffered: 512MB }\n")
        #expect(fine.errors.isEmpty && fine.warnings.isEmpty)
        #expect(fine.config?.server.maxBuffered == 512 << 20)
        #expect(TestSupport.load("server: { workers: 1 }\n").config?.server.maxBuffered == 256 << 20)
        let low = TestSupport.load("server: { max_body: 100MB, max_buffered: 64MB }\n")
        #expect(low.errors.isEmpty)
        #expect(TestSupport.warnings(low).contains { $0.hasPrefix("t.yaml:1:") && $0.contains("below max_body") })
        let tiny = TestSupport.load("server: { max_buffered: 100KB }\n")
        #expect(!tiny.errors.isEmpty)
    }
}
