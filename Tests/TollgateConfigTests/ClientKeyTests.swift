// SPDX-License-Identifier: Apache-2.0
// Client and admin keys: stored as digests with a key id and their source; plaintext kept
// only for a default written in the file; each matches its plaintext (GatewayPlanTests check
// the gateway's digest-keyed lookup over the same kinds).
import Testing
import TollgateConfig
import TollgateCore

@Suite struct ClientKeyTests {
    private let yaml = """
        admin:
          key: ${ADMIN_KEY:-}
        users:
          alice:
            keys:
              - "${ALICE_KEY}"
              - "sha256:52e7c5fe496c622913d84e56be2f8fec6c2616ace2341a23c2c22951cdfe6346"
          demo:
            keys: [ "${DEMO_KEY:-tg-demo-key-from-file}" ]
          bob:
            keys: [ "tg-bob-literal-key" ]
        """

    @Test func keysAreDigestsWithSources() throws {
        let result = TestSupport.load(yaml, environment: ["ALICE_KEY": "tg-alice-from-env"])
        let config = try #require(result.config)
        let alice = try #require(config.user(named: "alice"))
        #expect(alice.keys.count == 2)
        #expect(alice.keys[0].digest == SHA256.hash(utf8: "tg-alice-from-env"))
        #expect(alice.keys[0].source == .environment(variable: "ALICE_KEY"))
        #expect(alice.keys[0].demoPlaintext == nil)
        #expect(alice.keys[0].line == 6)
        #expect(alice.keys[1].digest == SHA256.hash(utf8: "tg-alice"))
        #expect(alice.keys[1].source == .sha256Hash)
        #expect(alice.keys[1].keyID == "52e7c5fe")
        #expect(alice.keys[1].demoPlaintext == nil)

        let bob = try #require(config.user(named: "bob"))
        #expect(bob.keys[0].source == .literal)
        #expect(bob.keys[0].demoPlaintext == nil)
        #expect(config.admin.key == nil)
        #expect(!config.admin.isEnabled)
    }

    @Test func defaultKeepsPlaintextForTheDemo() throws {
        let result = TestSupport.load(yaml, environment: ["ALICE_KEY": "tg-alice-from-env"])
        let config = try #require(result.config)
        let demo = try #require(config.user(named: "demo")).keys[0]
        #expect(demo.source == .defaultValue(variable: "DEMO_KEY"))
        #expect(demo.demoPlaintext == "tg-demo-key-from-file")
        #expect(DemoKeys.announcements(config) == [
            "tollgate: demo key for user 'demo': tg-demo-key-from-file (the default of $DEMO_KEY in the config; set DEMO_KEY to use your own)",
        ])
        #expect(TestSupport.warnings(result).contains(
            "t.yaml:9: warning: users.demo.keys[0]: DEMO_KEY is not set, so the key is the default written in the config (set DEMO_KEY to use your own)"))
    }

    @Test func environmentReplacesTheDemoKey() throws {
        let result = TestSupport.load(yaml, environment: ["ALICE_KEY": "tg-a", "DEMO_KEY": "tg-own-demo-key"])
        let config = try #require(result.config)
        let demo = try #require(config.user(named: "demo")).keys[0]
        #expect(demo.source == .environment(variable: "DEMO_KEY"))
        #expect(demo.demoPlaintext == nil)
        #expect(DemoKeys.announcements(config).isEmpty)
    }

    @Test func everyKindOfKeyMatchesItsPlaintext() throws {
        let config = try #require(TestSupport.load(yaml, environment: ["ALICE_KEY": "tg-alice-from-env"]).config)
        #expect(TestSupport.owner(of: "tg-alice-from-env", in: config) == "alice")
        #expect(TestSupport.owner(of: "tg-alice", in: config) == "alice")
        #expect(TestSupport.owner(of: "tg-demo-key-from-file", in: config) == "demo")
        #expect(TestSupport.owner(of: "tg-bob-literal-key", in: config) == "bob")
        #expect(TestSupport.owner(of: "tg-bob-literal-ke", in: config) == nil)
        #expect(TestSupport.owner(of: "", in: config) == nil)
    }

    @Test func adminKey() throws {
        let config = try #require(TestSupport.load(yaml, environment: ["ALICE_KEY": "tg-a", "ADMIN_KEY": "tg-admin-0000000000"]).config)
        #expect(config.admin.isEnabled)
        #expect(config.admin.accepts(Array("tg-admin-0000000000".utf8)))
        #expect(!config.admin.accepts(Array("tg-a".utf8)))
        #expect(config.admin.key?.source == .environment(variable: "ADMIN_KEY"))
    }

    @Test func descriptionNeverShowsTheKey() {
        let key = ClientKey(plaintext: "tg-secret-value", source: .defaultValue(variable: "K"))
        #expect(key.description == "key \(key.keyID) (default of $K)")
        #expect(!key.description.contains("tg-secret"))
        #expect(key.keyID == String(SHA256.hex(SHA256.hash(utf8: "tg-secret-value")).prefix(8)))
        #expect(key.matches(Array("tg-secret-value".utf8)))
        #expect(!key.matches(Array("tg-secret-valuE".utf8)))
    }

    @Test func plaintextIsDroppedUnlessDefault() {
        #expect(ClientKey(plaintext: "x", source: .literal).demoPlaintext == nil)
        #expect(ClientKey(plaintext: "x", source: .environment(variable: "X")).demoPlaintext == nil)
        #expect(ClientKey(plaintext: "x", source: .defaultValue(variable: "X")).demoPlaintext == "x")
    }

    @Test func upstreamSecretWithLineBreakIsRejected() {
        let result = TestSupport.load("""
            backends:
              gpu:
                kind: openai
                url: http://10.0.0.5:8000
                api_key: ${KEY}
            """, environment: ["KEY": "abc\r\nX-Injected: 1"])
        #expect(TestSupport.errors(result) == ["t.yaml:5: backends.gpu.api_key: contains control characters or line breaks"])
    }

    @Test func emptySecretSwitchesItOff() throws {
        let result = TestSupport.load("""
            backends:
              gpu:
                kind: openai
                url: http://10.0.0.5:8000
                api_key: ${KEY:-}
            """)
        #expect(try #require(result.config).backends[0].apiKey == nil)
        #expect(result.diagnostics.allSatisfy { !$0.message.contains("api_key") })
    }
}
