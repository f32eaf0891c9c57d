// SPDX-License-Identifier: Apache-2.0
// Helpers: load YAML text under the name "t.yaml", and find lines by marker comments
// (`# E1`) so expected diagnostics name lines without hand-counting.
import TollgateConfig

enum TestSupport {
    static let file = "t.yaml"

    static func load(_ yaml: String, environment: [String: String] = [:]) -> ConfigLoadResult {
        ConfigLoader.load(yaml: yaml, file: file, environment: environment)
    }

    /// Marker → 1-based line for every `# E<n>` comment in `yaml`.
    static func markerLines(in yaml: String) -> [String: Int] {
        var result: [String: Int] = [:]
        for (index, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let hash = line.lastIndex(of: "#") else { continue }
            let comment = line[line.index(after: hash)...].drop { $0 == " " }
            if comment.first == "E", comment.dropFirst().allSatisfy(\.isNumber), comment.count > 1 {
                result[String(comment)] = index + 1
            }
        }
        return result
    }

    /// Replaces `{E1}` … with the marker lines of `yaml`.
    static func resolve(_ template: String, in yaml: String) -> String {
        var text = template
        for (marker, line) in markerLines(in: yaml) {
            text = text.replacingAll("{\(marker)}", with: String(line))
        }
        return text
    }

    static func errors(_ result: ConfigLoadResult) -> [String] {
        result.errors.map(\.description)
    }

    static func warnings(_ result: ConfigLoadResult) -> [String] {
        result.warnings.map(\.description)
    }

    /// The user holding a key whose digest is that of `plaintext` (the gateway's own check,
    /// keyed by digest, is tested in TollgateGatewayTests).
    static func owner(of plaintext: String, in config: GatewayConfig) -> String? {
        config.users.first { user in user.keys.contains { $0.matches(Array(plaintext.utf8)) } }?.name
    }

    /// The directory of the repository, from this file's path (Tests/TollgateConfigTests/…).
    static func repositoryRoot(filePath: String = #filePath) -> String {
        var parts = filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }
}

extension String {
    /// Plain substring replacement (no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
