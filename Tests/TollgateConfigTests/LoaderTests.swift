// SPDX-License-Identifier: Apache-2.0
// Loader behaviour: all problems at once, sorted by line; YAML-level problems (syntax,
// duplicates, aliases, empty files); file errors; the diagnostic format.
import Testing
import TollgateConfig

@Suite struct LoaderTests {
    @Test func everyProblemIsReportedAtOnceInLineOrder() {
        let yaml = """
            server:
              listen: nowhere            # E1
              workers: 0                 # E2
            backends:
              gpu:                       # E3
                kind: openai
                timeout: forever         # E4
              sim:
                kind: simulated
                failure_rate: 2          # E5
            models:
              chat:
                task: chat
                backends: [gpu, ghost]   # E6
            users:
              alice:
                keys: ["${ALICE_KEY}"]   # E7
                group: staff             # E8
            budgets:
              usd_per_month: lots        # E9
            """
        let result = TestSupport.load(yaml)
        let expected = [
            "t.yaml:{E1}: server.listen: expected host:port (e.g. 127.0.0.1:8080 or [::1]:8080), got 'nowhere'",
            "t.yaml:{E2}: server.workers: must be between 1 and 1024, got 0",
            "t.yaml:{E3}: backends.gpu: missing required key 'url' (kind openai needs the server's base URL, e.g. http://10.0.0.5:8000/v1)",
            "t.yaml:{E4}: backends.gpu.timeout: expected a duration like 500ms, 30s, 15m or 24h, got 'forever'",
            "t.yaml:{E5}: backends.sim.failure_rate: must be between 0 and 1, got 2",
            "t.yaml:{E6}: models.chat.backends[1]: unknown backend 'ghost'",
            "t.yaml:{E7}: users.alice.keys[0]: environment variable ALICE_KEY is not set (write ${ALICE_KEY:-default} to give a default)",
            "t.yaml:{E8}: users.alice.group: unknown group 'staff' (no groups are defined)",
            "t.yaml:{E9}: budgets.usd_per_month: expected an amount in dollars like 0.40 or 25, got 'lots'",
        ].map { TestSupport.resolve($0, in: yaml) }
        #expect(TestSupport.errors(result) == expected)
        #expect(result.config == nil)
        let lines = result.diagnostics.map(\.line)
        #expect(lines == lines.sorted())
    }

    @Test func warningsNeverFail() throws {
        let result = TestSupport.load("""
            backends:
              gpu:
                kind: openai
                url: http://10.0.0.5:8000
                api_key: sk-literal-upstream-key
            models:
              chat: { task: chat, backends: [gpu] }
            users:
              alice:
                keys: ["tg-literal-client-key-0000"]
            """)
        #expect(result.errors.isEmpty)
        let config = try #require(result.config)
        #expect(config.backends.first?.apiKey == "sk-literal-upstream-key")
        #expect(TestSupport.warnings(result) == [
            "t.yaml:5: warning: backends.gpu.api_key: literal secret in the config; write ${VAR} and set VAR in the environment to keep it out of the file",
            "t.yaml:10: warning: users.alice.keys[0]: literal key in the config; write ${VAR} and set VAR in the environment to keep it out of the file",
        ])
        // Warnings never carry the secret itself.
        #expect(!result.diagnostics.contains { $0.message.contains("sk-literal") || $0.message.contains("tg-literal") })
    }

    @Test func advisoryWarnings() throws {
        let result = TestSupport.load("""
            backends:
              used:
                kind: simulated
                timeout: 10s
                first_byte_timeout: 20s
                budget_usd_per_month: 5
              idle-box:
                kind: simulated
            models:
              chat: { task: chat, backends: [used] }
            """)
        #expect(result.config != nil)
        #expect(TestSupport.warnings(result) == [
            "t.yaml:1: warning: no users are configured, so every API request is refused with 401",
            "t.yaml:5: warning: backends.used.first_byte_timeout: first_byte_timeout (20s) is longer than timeout (10s); timeout ends the request first",
            "t.yaml:6: warning: backends.used.budget_usd_per_month: this backend has no price, so its spend is 0 and the budget is never reached",
            "t.yaml:7: warning: backends.idle-box: no model uses this backend",
        ])
    }

    @Test func syntaxErrorNamesItsLine() {
        let result = TestSupport.load("server:\n  listen: 127.0.0.1:8080\n  workers: [1, 2\n")
        #expect(result.config == nil)
        #expect(result.errors.count == 1)
        let error = result.errors[0]
        #expect(error.line == 4)
        #expect(error.description.hasPrefix("t.yaml:4: YAML syntax error: "))
    }

    @Test func tabIndentationIsASyntaxError() {
        let result = TestSupport.load("server:\n\tlisten: 127.0.0.1:8080\n")
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.line == 2)
    }

    @Test func emptyFileIsAnError() {
        for text in ["", "# only a comment\n", "\n\n"] {
            let result = TestSupport.load(text)
            #expect(TestSupport.errors(result) == ["t.yaml: the file is empty; a config needs at least backends, models and users"])
        }
    }

    @Test func emptyMappingIsAllDefaults() throws {
        let result = TestSupport.load("{}\n")
        #expect(try #require(result.config) == GatewayConfig(sourceFile: "t.yaml"))
        #expect(result.diagnostics.isEmpty)
    }

    @Test func nullSectionsAreEmpty() throws {
        let config = try #require(TestSupport.load("server:\nbackends:\nmodels: ~\nusers: null\n").config)
        #expect(config.server == .default)
        #expect(config.backends.isEmpty && config.models.isEmpty && config.users.isEmpty)
    }

    @Test func secondDocumentIsAnError() {
        let result = TestSupport.load("server: {}\n---\nusers: {}\n")
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.line == 2)
    }

    @Test func aliasesAreRejected() {
        let result = TestSupport.load("""
            backends:
              a: &shared
                kind: simulated
              b: *shared
            """)
        #expect(TestSupport.errors(result) == ["t.yaml:4: aliases (*name) are not supported: write the value out (its anchor is at line 2)"])
        #expect(result.config == nil)
    }

    @Test func repeatedDuplicateKeys() {
        let result = TestSupport.load("""
            server:
              workers: 1
              workers: 2
              listen: 127.0.0.1:1
              workers: 3
            storage: { sqlite: a.db, sqlite: b.db }
            """)
        #expect(TestSupport.errors(result) == [
            "t.yaml:3: server: duplicate key 'workers' (first at line 2)",
            "t.yaml:5: server: duplicate key 'workers' (first at line 2)",
            "t.yaml:6: storage: duplicate key 'sqlite' (first at line 6)",
        ])
    }

    @Test func duplicateQuotedKeyAndValueTypedKey() {
        let result = TestSupport.load("server:\n  \"workers\": 1\n  'workers': 2\nbackends:\n  1: { kind: simulated }\n  \"1\": { kind: simulated }\n")
        #expect(TestSupport.errors(result) == [
            "t.yaml:3: server: duplicate key 'workers' (first at line 2)",
            "t.yaml:6: backends: duplicate key '1' (first at line 5)",
        ])
    }

    @Test func byteOrderMarkDoesNotShiftLines() {
        let result = TestSupport.load("\u{FEFF}server:\n  workers: 1\n  workers: 0\n")
        #expect(TestSupport.errors(result) == [
            "t.yaml:3: server: duplicate key 'workers' (first at line 2)",
            "t.yaml:3: server.workers: must be between 1 and 1024, got 0",
        ])
    }

    @Test func crlfLineEndings() {
        let result = TestSupport.load("server:\r\n  workers: 1\r\n  workers: 2\r\n  listen: x\r\n")
        #expect(TestSupport.errors(result) == [
            "t.yaml:3: server: duplicate key 'workers' (first at line 2)",
            "t.yaml:4: server.listen: expected host:port (e.g. 127.0.0.1:8080 or [::1]:8080), got 'x'",
        ])
    }

    @Test func missingFile() {
        let result = ConfigLoader.load(path: "/nonexistent/tollgate.yaml", environment: [:])
        #expect(result.diagnostics.map(\.description) == ["/nonexistent/tollgate.yaml: cannot read file: No such file or directory"])
        #expect(result.config == nil)
    }

    @Test func directoryInsteadOfFile() {
        let result = ConfigLoader.load(path: "/", environment: [:])
        #expect(result.diagnostics.map(\.description) == ["/: cannot read file: Is a directory"])
    }

    @Test func diagnosticFormat() {
        let error = ConfigDiagnostic(file: "c.yaml", line: 7, message: "server.workers: bad", severity: .error)
        let warning = ConfigDiagnostic(file: "c.yaml", line: 9, message: "literal secret", severity: .warning)
        let fileLevel = ConfigDiagnostic(file: "c.yaml", line: 0, message: "cannot read file", severity: .error)
        #expect(error.description == "c.yaml:7: server.workers: bad")
        #expect(warning.description == "c.yaml:9: warning: literal secret")
        #expect(fileLevel.description == "c.yaml: cannot read file")
        #expect(error.isError && !warning.isError)
    }
}
