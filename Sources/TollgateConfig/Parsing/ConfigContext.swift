// SPDX-License-Identifier: Apache-2.0

/// The state of one load: where diagnostics go and the environment. A class so every reader shares one diagnostics list; confined to the loading
/// call, never shared across threads.
final class ConfigContext {
    let file: String
    let expander: EnvironmentExpander
    /// Where IANA time zone files are looked up (`TZDIR`, else /usr/share/zoneinfo).
    let zoneInfoDirectory: String
    private var collected: [(order: Int, diagnostic: ConfigDiagnostic)] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.expander = EnvironmentExpander(environment: environment)
        let tzdir = environment["TZDIR"] ?? ""
        self.zoneInfoDirectory = tzdir.isEmpty ? "/usr/share/zoneinfo" : tzdir
    }

    var hasErrors: Bool { collected.contains { $0.diagnostic.severity == .error } }

    /// Reports an error at `line`; `path` (e.g. `backends.gpu.timeout`) prefixes the message.
    func error(_ line: Int, _ path: String, _ message: String) {
        add(line, path, message, .error)
    }

    func warning(_ line: Int, _ path: String, _ message: String) {
        add(line, path, message, .warning)
    }

    /// In line order; stable, so problems on one line stay in the order they were found.
    var diagnostics: [ConfigDiagnostic] {
        collected.sorted { ($0.diagnostic.line, $0.order) < ($1.diagnostic.line, $1.order) }.map(\.diagnostic)
    }

    private func add(_ line: Int, _ path: String, _ message: String, _ severity: ConfigDiagnostic.Severity) {
        let text = path.isEmpty ? message : "\(path): \(message)"
        let diagnostic = ConfigDiagnostic(file: file, line: line, message: text, severity: severity)
        // The same alias or cross-reference can surface twice; one report per line is enough.
        guard !collected.contains(where: { $0.diagnostic == diagnostic }) else { return }
        collected.append((collected.count, diagnostic))
    }
}
