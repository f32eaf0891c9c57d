// SPDX-License-Identifier: Apache-2.0
// ${VAR} and ${VAR:-default} in every scalar value, from the injected environment.
import Testing
import TollgateConfig

@Suite struct EnvironmentExpansionTests {
    private func config(listen: String, _ environment: [String: String]) -> ConfigLoadResult {
        TestSupport.load("server:\n  listen: \(listen)\n", environment: environment)
    }

    @Test func setVariable() throws {
        let result = config(listen: "${ADDR}", ["ADDR": "0.0.0.0:9000"])
        let server = try #require(result.config).server
        #expect(server.listenHost == "0.0.0.0")
        #expect(server.listenPort == 9000)
        #expect(result.diagnostics.isEmpty)
    }

    @Test func defaultUsedWhenUnsetOrEmpty() throws {
        for environment in [[:], ["PORT": ""]] {
            let result = config(listen: "127.0.0.1:${PORT:-8181}", environment)
            #expect(try #require(result.config).server.listenPort == 8181)
        }
    }

    @Test func setVariableWinsOverDefault() throws {
        let result = config(listen: "127.0.0.1:${PORT:-8181}", ["PORT": "9191"])
        #expect(try #require(result.config).server.listenPort == 9191)
    }

    @Test func unsetWithoutDefaultIsAnErrorAtItsLine() {
        let result = TestSupport.load("""
            server:
              listen: ${ADDR}
              workers: ${WORKERS}
            """)
        #expect(TestSupport.errors(result) == [
            "t.yaml:2: server.listen: environment variable ADDR is not set (write ${ADDR:-default} to give a default)",
            "t.yaml:3: server.workers: environment variable WORKERS is not set (write ${WORKERS:-default} to give a default)",
        ])
        #expect(result.config == nil)
    }

    @Test func setButEmptyIsEmpty() {
        let result = config(listen: "${ADDR}", ["ADDR": ""])
        #expect(TestSupport.errors(result) == ["t.yaml:2: server.listen: must not be empty"])
    }

    @Test func escapesAndMalformedReferences() {
        let cases: [(String, String)] = [
            ("\"${1BAD}\"", "t.yaml:2: storage.sqlite: '1BAD' is not a valid environment variable name (letters, digits, _; not starting with a digit)"),
            ("\"a${OPEN\"", "t.yaml:2: storage.sqlite: unterminated ${ (write $$ for a literal $)"),
            ("\"${A:-${B}}\"", "t.yaml:2: storage.sqlite: the default of ${A:-…} contains ${; nested variables are not supported"),
        ]
        for (value, expected) in cases {
            let result = TestSupport.load("storage:\n  sqlite: \(value)\n")
            #expect(TestSupport.errors(result) == [expected], "\(value)")
        }
    }

    @Test func dollarDollarIsALiteralDollar() throws {
        let result = TestSupport.load("storage:\n  sqlite: \"./$${HOME}/t$$.db\"\n", environment: ["HOME": "/root"])
        #expect(try #require(result.config).storage.sqlite == "./${HOME}/t$.db")
    }

    @Test func loneDollarIsKept() throws {
        let result = TestSupport.load("storage:\n  sqlite: ./$data/x$.db\n")
        #expect(try #require(result.config).storage.sqlite == "./$data/x$.db")
    }

    @Test func severalVariablesInOneScalar() throws {
        let result = config(listen: "${HOST}:${PORT:-80}", ["HOST": "10.1.2.3"])
        let server = try #require(result.config).server
        #expect(server.listenHost == "10.1.2.3")
        #expect(server.listenPort == 80)
    }

    @Test func environmentFeedsTypedValues() throws {
        let result = TestSupport.load("""
            server:
              workers: ${W:-auto}
              max_body: ${MAX_BODY}
              drain_timeout: ${DRAIN:-5s}
            metrics:
              protected: ${PROTECT:-false}
            """, environment: ["MAX_BODY": "2GB"])
        let config = try #require(result.config)
        #expect(config.server.workers == nil)
        #expect(config.server.maxBody == 2 << 30)
        #expect(config.server.drainTimeout == .seconds(5))
        #expect(config.metrics.protected == false)
    }

    @Test func keysAreNotExpanded() {
        let result = TestSupport.load("server:\n  ${KEY}: 1\n", environment: ["KEY": "listen"])
        #expect(TestSupport.errors(result) == ["t.yaml:2: server: unknown key '${KEY}'"])
    }

    @Test func variablesInHFSpaceInputsAreNotFields() throws {
        let result = TestSupport.load("""
            backends:
              space:
                kind: hf_space
                space: owner/app
                inputs: [ "$image", "$$prompt", "${STEPS:-30}", 30, 0.5, true, null, "text" ]
            """)
        let backend = try #require(result.config?.backend(named: "space"))
        guard case .hfSpace(let options) = backend.options else {
            Issue.record("expected hf_space options")
            return
        }
        #expect(options.inputs == [.field("image"), .string("$prompt"), .string("30"), .integer(30), .number(0.5),
                                   .bool(true), .null, .string("text")])
    }
}
