// SPDX-License-Identifier: Apache-2.0
// Entry point: file → text → YAML node tree (lines kept) → GatewayConfig, collecting every
// problem as `FILE:LINE: message` instead of stopping at the first. Never Codable: a decoder
// stops at the first mismatch and forgets where it was.
public enum ConfigLoader {
    /// Loads and validates the file at `path`. `environment` feeds `${VAR}` (pass the
    /// process environment in production, a dictionary in tests).
    public static func load(path: String, environment: [String: String]) -> ConfigLoadResult {
        let text: String
        do {
            text = try FileSystem.readText(path)
        } catch {
            let diagnostic = ConfigDiagnostic(file: path, line: error.line, message: error.description, severity: .error)
            return ConfigLoadResult(config: nil, diagnostics: [diagnostic])
        }
        return load(yaml: text, file: path, environment: environment)
    }

    /// Loads and validates `yaml`; `file` names it in diagnostics.
    public static func load(yaml: String, file: String, environment: [String: String]) -> ConfigLoadResult {
        let context = ConfigContext(file: file, environment: environment)
        guard let root = YAMLComposer.compose(yaml, context: context) else {
            return ConfigLoadResult(config: nil, diagnostics: context.diagnostics)
        }
        let config = GatewayConfigParser.parse(root, context: context)
        return ConfigLoadResult(config: context.hasErrors ? nil : config, diagnostics: context.diagnostics)
    }
}

/// What a load produced: the config when there was no error, and every diagnostic
/// (errors and warnings) in line order.
public struct ConfigLoadResult: Sendable {
    /// nil when any diagnostic is an error.
    public let config: GatewayConfig?
    /// Sorted by line; diagnostics on the same line keep the order they were found in.
    public let diagnostics: [ConfigDiagnostic]
    public init(config: GatewayConfig?, diagnostics: [ConfigDiagnostic]) {
        self.config = config
        self.diagnostics = diagnostics
    }

    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .warning } }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}
