// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import TollgateGateway

struct GatewayPlanTests {
    @Test func sha256Vectors() {
        #expect(Hex.encode(SHA256Digest.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256Digest.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256Digest.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Hex.encode(SHA256Digest.hash([UInt8](repeating: 0x61, count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func authenticatesByDigestOnly() {
        let key = "tg-test-key"
        let plan = GatewayPlan(backends: [], models: [], users: [UserPlan(name: "alice", allowedModels: ["m"])],
                               keys: [KeyPlan(digest: SHA256Digest.hash(Array(key.utf8)), user: 0, keyID: "abcd1234")])
        #expect(plan.authenticate(key: key)?.user.name == "alice")
        #expect(plan.authenticate(key: key)?.keyID == "abcd1234")
        #expect(plan.authenticate(key: "tg-test-kez") == nil)
        #expect(plan.authenticate(key: "") == nil)
        #expect(plan.users[0].mayUse("m") && !plan.users[0].mayUse("n"))
    }

    @Test func costFollowsBilling() {
        func backend(_ billing: BillingPlan) -> BackendPlan {
            BackendPlan(name: "b", kind: .simulated(.init(name: "b"), .init()), upstreamModel: nil,
                        firstByteTimeoutNs: 1, billing: billing)
        }
        #expect(backend(.perSecond(microdollarsPerSecond: 190)).cost(seconds: 10) == 0.0019)
        #expect(backend(.perRequest(microdollars: 10_000)).cost(seconds: 99) == 0.01)
        #expect(backend(.alwaysOn(microdollarsPerHour: 400_000)).cost(seconds: 99) == 0)
        #expect(ProxyExchange.decimal(0.0019) == "0.001900")
        #expect(ProxyExchange.decimal(12.5) == "12.500000")
    }

    @Test func upstreamErrorMessagesAreExtracted() {
        #expect(ProxyExchange.upstreamMessage(Array(#"{"error":{"message":"GPU \"exploded\"","type":"x"}}"#.utf8)) == #"GPU "exploded""#)
        #expect(ProxyExchange.upstreamMessage(Array(#"{"detail":"Not found"}"#.utf8)) == "Not found")
        #expect(ProxyExchange.upstreamMessage(Array("plain text".utf8)) == "plain text")
        #expect(ProxyExchange.upstreamMessage([]) == nil)
    }
}
