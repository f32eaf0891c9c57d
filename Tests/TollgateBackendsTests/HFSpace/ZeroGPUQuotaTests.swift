// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateBackends

struct ZeroGPUQuotaTests {
    @Test func readsTodaysQuotaErrorAndItsWait() {
        // spaces/zero/client.py schedule() (backend-protocols.md §1.5), with an API caller's suffix.
        let message = "You have exceeded your free ZeroGPU quota (60s requested vs. 0s left). Try again in 2:05:11. "
            + "Subscribe to Hugging Face PRO to get 40 min of ZeroGPU quota a day - https://huggingface.co/subscribe/pro?from=ZeroGPU"
        let quota = ZeroGPUQuota.parse(title: "ZeroGPU quota exceeded", message: message)
        #expect(quota?.retryAfter == .seconds(2 * 3600 + 5 * 60 + 11))
        #expect(quota?.reason.hasPrefix("ZeroGPU quota exceeded: You have exceeded your free ZeroGPU quota") == true)
    }

    @Test func readsTheOlderWordingsToo() {
        let old = ZeroGPUQuota.parse(title: nil, message:
            "You have exceeded your GPU quota (46s left vs. 60s requested). Sign-up on Hugging Face to get more quotas or retry in 0:09:48.")
        #expect(old?.retryAfter == .seconds(9 * 60 + 48))
        let html = ZeroGPUQuota.parse(title: "Error", message:
            "You have exceeded your GPU quota (60s requested vs. 56s left). <a href=\"https://huggingface.co/join\">Create a free account</a> to get more usage quota.")
        #expect(html != nil)
        #expect(html?.retryAfter == nil)
        #expect(html?.reason.contains("<a") == false)
        #expect(html?.reason.contains("Create a free account to get more usage quota.") == true)
        #expect(ZeroGPUQuota.parse(title: "ZeroGPU quota exceeded", message: "You have exceeded your ZeroGPU runs limit. ") != nil)
        #expect(ZeroGPUQuota.parse(title: nil, message: "Space app has reached its GPU limit. Try re-running outside of examples") != nil)
        // The brief's own wording of the message, title-less.
        #expect(ZeroGPUQuota.parse(title: nil, message:
            "ZeroGPU quota exceeded. You have exceeded your GPU quota (60s requested vs. 0s left). Try again in 0:00:30")?.retryAfter == .seconds(30))
    }

    @Test func otherErrorsAreNotQuota() {
        #expect(ZeroGPUQuota.parse(title: "Error", message: "cannot do x") == nil)
        #expect(ZeroGPUQuota.parse(title: "ZeroGPU queue timeout", message: "No GPU was available after 60s") == nil)
        #expect(ZeroGPUQuota.parse(title: "ZeroGPU illegal duration", message: "The requested GPU duration (120s) is larger than the maximum allowed") == nil)
        #expect(ZeroGPUQuota.parse(title: nil, message: nil) == nil)
    }

    @Test func readsPythonTimedeltaText() {
        func seconds(_ text: String) -> Int64? { ZeroGPUQuota.timedeltaSeconds(Array(text.utf8)) }
        #expect(seconds("0:00:30") == 30)
        #expect(seconds("2:05:11.") == 7511)
        #expect(seconds("1 day, 2:03:04") == 93784)
        #expect(seconds("3 days, 0:00:01") == 259_201)
        #expect(seconds("0:00:30.250000") == 31)
        #expect(seconds("12:5:00") == nil)
        #expect(seconds("0:61:00") == nil)
        #expect(seconds("99999999999999999999:00:00") == nil)
        #expect(seconds("") == nil)
        // Absurd waits are capped.
        #expect(ZeroGPUQuota.wait(in: "try again in 9999 days, 0:00:00") == ZeroGPUQuota.maxWait)
    }
}
