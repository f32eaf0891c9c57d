// SPDX-License-Identifier: Apache-2.0
// `tls: { ca_file }` of a backend: the file is checked at load time (check-config names a wrong
// path, not the first request), simulated backends have no tls, http:// URLs get a warning.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import TollgateConfig

@Suite struct BackendTLSTests {
    /// A file with `text` in it, removed by the caller.
    private func temporaryFile(_ text: String) throws -> String {
        var template = Array("/tmp/tollgate-tls-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        try #require(written == text.utf8.count)
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    @Test func aPEMFileIsTakenAsIs() throws {
        let path = try temporaryFile(pem)
        defer { unlink(path) }
        let result = TestSupport.load("""
            backends:
              b: { kind: openai, url: "https://box.lan:8443", tls: { ca_file: "\(path)" } }
            """)
        #expect(result.errors.isEmpty, "\(TestSupport.errors(result))")
        #expect(!TestSupport.warnings(result).contains { $0.contains("tls") }, "\(TestSupport.warnings(result))")
        #expect(result.config?.backends.first?.tls == BackendTLS(caFile: path))
    }

    @Test func noTLSKeyMeansSystemTrustOnly() throws {
        let result = TestSupport.load("backends:\n  b: { kind: openai, url: \"https://api.example.com\" }\n")
        #expect(result.config?.backends.first?.tls == nil)
    }

    @Test func aCAFileOnAnHTTPURLIsAWarning() throws {
        let path = try temporaryFile(pem)
        defer { unlink(path) }
        let result = TestSupport.load("""
            backends:
              b:
                kind: openai
                url: http://box.lan:8000
                tls: { ca_file: "\(path)" }
            """)
        #expect(result.errors.isEmpty)
        #expect(TestSupport.warnings(result).filter { $0.contains("tls") }
                == ["t.yaml:5: warning: backends.b.tls: tls applies to https:// URLs only; this backend's url is http://"])
    }

    @Test func aFileWithoutACertificateIsAnError() throws {
        let path = try temporaryFile("not a certificate\n")
        defer { unlink(path) }
        let yaml = """
            backends:
              b:
                kind: openai
                url: https://box.lan
                tls: { ca_file: "\(path)" }   # E1
            """
        let result = TestSupport.load(yaml)
        #expect(TestSupport.errors(result) == [TestSupport.resolve(
            "t.yaml:{E1}: backends.b.tls.ca_file: '\(path)' has no PEM certificate (-----BEGIN CERTIFICATE-----)", in: yaml)])
    }

    @Test(arguments: [
        RuleCase("ca_file that does not exist", """
            backends:
              b:
                kind: openai
                url: https://box.lan
                tls: { ca_file: /nonexistent/tollgate-ca.pem }   # E1
            """, ["t.yaml:{E1}: backends.b.tls.ca_file: '/nonexistent/tollgate-ca.pem': cannot read file: No such file or directory"]),
        RuleCase("tls without ca_file, and an unknown key", """
            backends:
              b:
                kind: openai
                url: https://box.lan
                tls:              # E1
                  verify: false   # E2
            """, ["t.yaml:{E1}: backends.b.tls: missing required key 'ca_file' (a PEM file of CA certificates to trust for this backend)",
                  "t.yaml:{E2}: backends.b.tls: unknown key 'verify'"]),
        RuleCase("tls on a simulated backend", """
            backends:
              b:
                kind: simulated
                tls: { ca_file: /etc/ssl/certs/ca-certificates.crt }   # E1
            """, ["t.yaml:{E1}: backends.b: a simulated backend makes no connections"]),
    ])
    func rule(_ rule: RuleCase) {
        rule.verify()
    }
}
