// SPDX-License-Identifier: Apache-2.0
// `${VAR}` / `${VAR:-default}` expansion in scalar values, from an injected environment so
// tests never depend on the process's own. `$$` is a literal `$`; a `$` not followed by `{`
// or `$` is kept as is, so hf_space inputs like "$image" need no escaping.

/// Where an expanded value came from: decides whether a secret earns a warning and whether a
/// demo key's plaintext may be kept.
enum ValueOrigin: Sendable, Equatable {
    /// Written in the file, no variable involved.
    case literal
    /// At least one `${VAR}` was read from the environment, and no default was used.
    case environment(variables: [String])
    /// At least one `${VAR:-default}` fell back to its default (the variable was unset or empty).
    case defaultValue(variables: [String])
}

/// Expands variables in one scalar.
struct EnvironmentExpander: Sendable {
    let environment: [String: String]

    struct Expanded: Sendable, Equatable {
        var text: String
        var origin: ValueOrigin
    }

    /// Problems with one reference; a scalar may have several (all are reported).
    enum Problem: Error, Equatable {
        case unset(variable: String)
        case unterminated
        case invalidName(String)
        case nestedDefault(variable: String)

        var message: String {
            switch self {
            case .unset(let name):
                return "environment variable \(name) is not set (write ${\(name):-default} to give a default)"
            case .unterminated:
                return "unterminated ${ (write $$ for a literal $)"
            case .invalidName(let name):
                return "'\(name)' is not a valid environment variable name (letters, digits, _; not starting with a digit)"
            case .nestedDefault(let name):
                return "the default of ${\(name):-…} contains ${; nested variables are not supported"
            }
        }
    }

    /// The expanded text, or every problem found in it.
    func expand(_ text: String) -> Result<Expanded, ProblemList> {
        // Fast path: most scalars have no `$` at all.
        guard text.utf8.contains(UInt8(ascii: "$")) else { return .success(Expanded(text: text, origin: .literal)) }
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var problems: [Problem] = []
        var fromEnvironment: [String] = []
        var fromDefault: [String] = []
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            guard c == "$", i + 1 < scalars.count else {
                output.append(c)
                i += 1
                continue
            }
            let next = scalars[i + 1]
            if next == "$" {
                output.append("$")
                i += 2
                continue
            }
            guard next == "{" else {
                output.append(c)
                i += 1
                continue
            }
            guard let close = scalars[(i + 2)...].firstIndex(of: "}") else {
                problems.append(.unterminated)
                break
            }
            let body = String(String.UnicodeScalarView(scalars[(i + 2)..<close]))
            i = close + 1
            let name: String
            let fallback: String?
            if let separator = body.firstRange(of: ":-") {
                name = String(body[..<separator.lowerBound])
                fallback = String(body[separator.upperBound...])
            } else {
                name = body
                fallback = nil
            }
            guard Self.isValidName(name) else {
                problems.append(.invalidName(name))
                continue
            }
            if let fallback, fallback.contains("${") {
                problems.append(.nestedDefault(variable: name))
                continue
            }
            if let fallback {
                // Shell semantics of `:-`: unset or empty both take the default.
                if let value = environment[name], !value.isEmpty {
                    output.append(contentsOf: value.unicodeScalars)
                    fromEnvironment.append(name)
                } else {
                    output.append(contentsOf: fallback.unicodeScalars)
                    fromDefault.append(name)
                }
            } else if let value = environment[name] {
                output.append(contentsOf: value.unicodeScalars)
                fromEnvironment.append(name)
            } else {
                problems.append(.unset(variable: name))
            }
        }
        guard problems.isEmpty else { return .failure(ProblemList(problems: problems)) }
        let origin: ValueOrigin
        if !fromDefault.isEmpty {
            origin = .defaultValue(variables: fromDefault)
        } else if !fromEnvironment.isEmpty {
            origin = .environment(variables: fromEnvironment)
        } else {
            origin = .literal
        }
        return .success(Expanded(text: String(output), origin: origin))
    }

    struct ProblemList: Error, Equatable {
        var problems: [Problem]
    }

    /// POSIX-style names: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_")
        }
    }
}
