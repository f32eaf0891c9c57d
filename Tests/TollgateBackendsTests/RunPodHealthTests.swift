// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateBackends

struct RunPodHealthTests {
    @Test func theDocumentedShapeParses() {
        // operation-reference.mdx's example, plus the [observed] worker states.
        let body = #"{"jobs":{"completed":1,"failed":5,"inProgress":0,"inQueue":2,"retried":0},"workers":{"idle":0,"running":0,"initializing":1}}"#
        let health = RunPodHealth.parse(Array(body.utf8))
        #expect(health == RunPodHealth(inQueue: 2, initializing: 1))
        #expect(health?.isWarm == false && health?.isWaking == true)
        #expect(RunPodHealth.parse(Array(#"{"jobs":{},"workers":{"ready":2}}"#.utf8))?.isWarm == true)
    }

    @Test func otherBodiesAreNoHealth() {
        for body in ["", "{}", #"{"jobs":1,"workers":{}}"#, "[]", #"{"jobs":{},"workers":{"idle":-1}}"#] {
            let parsed = RunPodHealth.parse(Array(body.utf8))
            #expect(parsed == nil || parsed == RunPodHealth(), "\(body)")
        }
    }
}
