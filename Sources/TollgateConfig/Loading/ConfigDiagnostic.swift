// SPDX-License-Identifier: Apache-2.0

/// One problem found in a config file, reported as `FILE:LINE: message` — the form compilers
/// use, so editors and CI annotate the right line.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Equatable {
        /// The config is rejected.
        case error
        /// Reported, never fails a load or `check-config` (e.g. a literal secret).
        case warning
    }

    /// The file as it was named to the loader.
    public let file: String
    /// 1-based line; 0 for problems with the file as a whole (cannot read it, empty).
    public let line: Int
    public let message: String
    public let severity: Severity

    public init(file: String, line: Int, message: String, severity: Severity) {
        self.file = file
        self.line = line
        self.message = message
        self.severity = severity
    }

    public var isError: Bool { severity == .error }

    /// `FILE:LINE: message`, or `FILE:LINE: warning: message`; without `:LINE` when line is 0.
    public var description: String {
        let location = line > 0 ? "\(file):\(line)" : file
        switch severity {
        case .error: return "\(location): \(message)"
        case .warning: return "\(location): warning: \(message)"
        }
    }
}
