// SPDX-License-Identifier: Apache-2.0
// The YAML layer under the loader (libyaml events → node tree): every malformed input ends as
// a `FILE:LINE:` diagnostic, never a crash; aliases, merge keys, tags, documents, nesting,
// control characters and invalid UTF-8 each have a defined answer.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TollgateConfig

@Suite struct YAMLComposerTests {
    // MARK: nesting

    /// A recursive composer overflows the stack here; the limit turns it into one error.
    @Test func deepFlowNestingIsAnErrorNotACrash() {
        let depth = 100_000
        let result = TestSupport.load("x: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n")
        #expect(TestSupport.errors(result) == ["t.yaml:1: YAML nesting is deeper than 1000 levels"])
    }

    @Test func deepBlockNestingIsAnErrorAtItsLine() {
        var yaml = ""
        for level in 0..<1100 { yaml += String(repeating: " ", count: level) + "k\(level):\n" }
        let result = TestSupport.load(yaml)
        // The root mapping (line 1) is level 1, so the one starting on line 1001 is level 1001.
        #expect(TestSupport.errors(result) == ["t.yaml:1001: YAML nesting is deeper than 1000 levels"])
    }

    @Test func nestingUpToTheLimitIsComposed() {
        // Root mapping + 999 lists = 1000 levels: composed, then refused by the schema only.
        let result = TestSupport.load("x: " + String(repeating: "[", count: 999) + String(repeating: "]", count: 999) + "\n")
        #expect(TestSupport.errors(result).count == 1)
        #expect(TestSupport.errors(result).first?.hasPrefix("t.yaml:1: unknown key 'x'") == true)
    }

    // MARK: aliases, anchors, merge keys

    @Test func aliasInAListIsReportedAtItsOwnLine() {
        let result = TestSupport.load("""
            backends:
              a: &gpu
                kind: simulated
            models:
              chat:
                task: chat
                backends:
                  - *gpu
            """)
        #expect(TestSupport.errors(result) == ["t.yaml:8: aliases (*name) are not supported: write the value out (its anchor is at line 2)"])
    }

    @Test func everyAliasIsReportedAndNoneIsExpanded() {
        // "Billion laughs": each level names the previous one nine times.
        var yaml = "a: &l0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<9 {
            let refs = Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ")
            yaml += "l\(level): &l\(level) [\(refs)]\n"
        }
        let result = TestSupport.load(yaml)
        #expect(result.config == nil)
        #expect(result.errors.count == 8)
        #expect(result.errors.allSatisfy { $0.message.hasPrefix("aliases (*name) are not supported") })
        #expect(result.errors.map(\.line) == Array(2...9))
    }

    @Test func emptyNodesAtOnePlaceAreNotAnAlias() {
        // An empty explicit key and its empty value share a start mark; spotting aliases by
        // position (as the Yams-based composer did) took them for one.
        #expect(TestSupport.errors(TestSupport.load("server: {}\n?\nusers: {}\n")) == ["t.yaml:2: unknown key ''"])
    }

    @Test func undefinedAliasIsASyntaxError() {
        #expect(TestSupport.errors(TestSupport.load("server:\n  listen: *nowhere\n")) == ["t.yaml:2: YAML syntax error: found undefined alias"])
    }

    @Test func anchorIsDefinedOnlyAfterItsNode() {
        // An alias inside the node it names would be a cycle.
        #expect(TestSupport.errors(TestSupport.load("server: &s\n  listen: *s\n")) == ["t.yaml:2: YAML syntax error: found undefined alias"])
    }

    @Test func syntaxErrorWinsOverAliases() {
        let result = TestSupport.load("a: &x 1\nb: *x\nc: [1, 2\n")
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.message.hasPrefix("YAML syntax error: ") == true)
    }

    @Test func anchorsWithoutAliasesAreHarmless() throws {
        let result = TestSupport.load("server: &s\n  workers: 2\n")
        #expect(result.errors.isEmpty)
        #expect(try #require(result.config).server.workers == 2)
    }

    @Test func mergeKeyIsNotExpanded() {
        let merged = TestSupport.load("""
            backends:
              base: &base { kind: simulated }
              gpu:
                <<: *base
            """)
        #expect(TestSupport.errors(merged) == ["t.yaml:4: aliases (*name) are not supported: write the value out (its anchor is at line 2)"])
        let inline = TestSupport.load("server:\n  <<: { workers: 2 }\n")
        #expect(TestSupport.errors(inline).count == 1)
        #expect(TestSupport.errors(inline).first?.hasPrefix("t.yaml:2: server: unknown key '<<'") == true)
    }

    // MARK: tags

    @Test func standardAndNonSpecificTagsAreTolerated() throws {
        let result = TestSupport.load("server: !!map\n  workers: !!int 3\n  listen: ! 127.0.0.1:9000\n  drain_timeout: !!str 5s\n")
        #expect(result.errors.isEmpty, "\(TestSupport.errors(result))")
        let config = try #require(result.config)
        #expect(config.server.workers == 3)
    }

    @Test func otherTagsAreNamedInFull() {
        #expect(TestSupport.errors(TestSupport.load("server: !custom\n  workers: 2\n"))
            == ["t.yaml:1: server: YAML tag '!custom' is not supported"])
        #expect(TestSupport.errors(TestSupport.load("server:\n  workers: !<tag:example.com,2000:n> 2\n"))
            == ["t.yaml:2: server.workers: YAML tag 'tag:example.com,2000:n' is not supported"])
        #expect(TestSupport.errors(TestSupport.load("%TAG !e! tag:example.com,2000:\n---\nserver:\n  workers: !e!n 2\n"))
            == ["t.yaml:4: server.workers: YAML tag 'tag:example.com,2000:n' is not supported"])
    }

    // MARK: documents

    @Test func explicitMarkersAroundOneDocumentAreFine() {
        let result = TestSupport.load("---\nserver: { workers: 2 }\n...\n")
        #expect(result.errors.isEmpty)
        #expect(result.config?.server.workers == 2)
    }

    @Test func secondDocumentNamesBoth() {
        #expect(TestSupport.errors(TestSupport.load("server: {}\n---\nusers: {}\n"))
            == ["t.yaml:2: YAML syntax error: but found another document (expected a single document in the stream at line 1)"])
    }

    @Test func emptyDocumentIsNotAMapping() {
        // libyaml marks the empty root where the stream ends.
        #expect(TestSupport.errors(TestSupport.load("---\n"))
            == ["t.yaml:2: the config must be a mapping with keys like server, backends, models and users, got nothing"])
    }

    // MARK: keys

    @Test func everyDuplicateIsReportedHoweverMany() {
        var yaml = "server:\n"
        for _ in 0..<300 { yaml += "  workers: 1\n" }
        let errors = TestSupport.errors(TestSupport.load(yaml))
        #expect(errors.count == 299)
        #expect(errors.first == "t.yaml:3: server: duplicate key 'workers' (first at line 2)")
        #expect(errors.last == "t.yaml:301: server: duplicate key 'workers' (first at line 2)")
    }

    @Test func duplicateExplicitKeyIsReported() {
        #expect(TestSupport.errors(TestSupport.load("server:\n  ? workers\n  : 1\n  ? workers\n  : 2\n"))
            == ["t.yaml:4: server: duplicate key 'workers' (first at line 2)"])
    }

    @Test func duplicatedSectionCountsItsLastOccurrence() {
        // The last `backends` is the one read: the model names a backend declared there.
        let result = TestSupport.load("""
            backends:
              old: { kind: simulated }
            backends:
              new: { kind: simulated }
            models:
              chat: { task: chat, backends: [new] }
            """)
        #expect(TestSupport.errors(result) == ["t.yaml:3: duplicate key 'backends' (first at line 1)"])
        #expect(!TestSupport.warnings(result).contains { $0.contains("no model uses") })
    }

    // MARK: characters

    @Test func tabAfterAColonIsSeparation() {
        #expect(TestSupport.load("server:\n  workers:\t2\n").config?.server.workers == 2)
    }

    @Test func controlCharacterNamesItsLine() {
        let result = TestSupport.load("server:\n  workers: 2\n  listen: a\u{1}b\n")
        #expect(TestSupport.errors(result) == ["t.yaml:3: cannot read YAML: control characters are not allowed"])
    }

    @Test func nulEscapeInAQuotedScalarIsText() {
        let result = TestSupport.load("server:\n  listen: \"a\\0b\"\n")
        #expect(result.errors.count == 1)
        #expect(result.errors.first?.line == 2)
    }

    @Test func invalidUTF8FileNamesItsLine() throws {
        let path = try temporaryFile(Array("server:\n  workers: 2\n  listen: \"".utf8) + [0xFF, 0xFE] + Array("\"\n".utf8))
        defer { unlink(path) }
        let result = ConfigLoader.load(path: path, environment: [:])
        #expect(result.diagnostics.map(\.description) == ["\(path):3: file is not valid UTF-8"])
    }

    /// A file holding `bytes`, removed by the caller.
    private func temporaryFile(_ bytes: [UInt8]) throws -> String {
        var template = Array("/tmp/tollgate-yaml-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        let written = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        try #require(written == bytes.count)
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
