// SPDX-License-Identifier: Apache-2.0
// Typed readers. Each reports its own problem at the node's line and returns nil, so a caller
// keeps going and the next problem is found in the same run.

extension ConfigNode {
    static let durationExample = "a duration like 500ms, 30s, 15m or 24h"
    static let sizeExample = "a size like 64KB, 100MB or 1GB"
    static let moneyExample = "an amount in dollars like 0.40 or 25"

    /// Any scalar as text (YAML's implicit types are ignored: `model: 3.1` is "3.1").
    func string(expected: String = "text") -> String? {
        scalar(expected: expected)?.text
    }

    /// Text that must not be empty after expansion.
    func nonEmptyString(expected: String = "text") -> String? {
        guard let text = string(expected: expected) else { return nil }
        guard !text.isEmpty else {
            error("must not be empty")
            return nil
        }
        return text
    }

    /// Only `true` and `false`: YAML 1.1's yes/no/on/off are the source of too many surprises.
    func bool() -> Bool? {
        guard let text = string(expected: "true or false") else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            error("expected true or false, got '\(Self.clip(text))'")
            return nil
        }
    }

    func integer(_ range: ClosedRange<Int>, expected: String = "a whole number") -> Int? {
        guard let text = string(expected: expected) else { return nil }
        let value: Int
        do {
            value = try ConfigValue.integer(text)
        } catch .overflow {
            error("'\(Self.clip(text))' is too large (at most \(range.upperBound))")
            return nil
        } catch {
            self.error("expected \(expected), got '\(Self.clip(text))'")
            return nil
        }
        guard range.contains(value) else {
            if value < 0, range.lowerBound >= 0 {
                error("must not be negative, got \(value)")
            } else {
                error("must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
            return nil
        }
        return value
    }

    /// A duration no shorter than `minimum` (zero allowed when `minimum` is zero).
    func duration(minimum: Duration = .zero) -> Duration? {
        guard let text = string(expected: Self.durationExample) else { return nil }
        let value: Duration
        do {
            value = try ConfigValue.duration(text)
        } catch {
            switch error {
            case .negative: self.error("must not be negative, got '\(Self.clip(text))'")
            case .tooPrecise: self.error("'\(Self.clip(text))' is finer than 1ms")
            case .tooLarge, .overflow: self.error("'\(Self.clip(text))' is longer than a year (365d)")
            default: self.error("expected \(Self.durationExample), got '\(Self.clip(text))'")
            }
            return nil
        }
        guard value >= minimum else {
            error(minimum == .milliseconds(1) ? "must be more than 0" : "must be at least \(ConfigValue.format(minimum))")
            return nil
        }
        return value
    }

    func byteSize(_ range: ClosedRange<Int>) -> Int? {
        guard let text = string(expected: Self.sizeExample) else { return nil }
        let value: Int
        do {
            value = try ConfigValue.byteSize(text)
        } catch {
            switch error {
            case .negative: self.error("must not be negative, got '\(Self.clip(text))'")
            case .tooPrecise: self.error("'\(Self.clip(text))' is not a whole number of bytes")
            case .overflow: self.error("'\(Self.clip(text))' is too large")
            default: self.error("expected \(Self.sizeExample), got '\(Self.clip(text))'")
            }
            return nil
        }
        guard range.contains(value) else {
            error("must be between \(Self.formatSize(range.lowerBound)) and \(Self.formatSize(range.upperBound)), got \(Self.clip(text))")
            return nil
        }
        return value
    }

    /// Dollars → micro-dollars; never negative; zero only when `allowZero`.
    func money(allowZero: Bool) -> Int64? {
        fixedPoint(places: 6, expected: Self.moneyExample, allowZero: allowZero,
                   precisionNote: " (amounts are kept in micro-dollars)")
    }

    /// A non-negative decimal scaled by 10^places.
    func fixedPoint(places: Int, expected: String, allowZero: Bool, precisionNote: String = "") -> Int64? {
        guard let text = string(expected: expected) else { return nil }
        let value: Int64
        do {
            value = try ConfigValue.fixedPoint(text, places: places)
        } catch {
            switch error {
            case .tooManyDecimals: self.error("'\(Self.clip(text))' has more than \(places) decimal places\(precisionNote)")
            case .overflow: self.error("'\(Self.clip(text))' is too large")
            default: self.error("expected \(expected), got '\(Self.clip(text))'")
            }
            return nil
        }
        guard value >= 0 else {
            error("must not be negative, got \(Self.clip(text))")
            return nil
        }
        guard allowZero || value > 0 else {
            error("must be more than 0")
            return nil
        }
        return value
    }

    /// One of an enum's raw values, with a hint for near misses.
    func choice<T: CaseIterable & RawRepresentable>(_ type: T.Type) -> T? where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        let expected = names.joined(separator: " | ")
        guard let text = string(expected: expected) else { return nil }
        guard let value = T(rawValue: text) else {
            error("expected \(expected), got '\(Self.clip(text))'\(NameSuggester.hint(for: text, among: names))")
            return nil
        }
        return value
    }

    /// `1048576` → `1MB`.
    static func formatSize(_ bytes: Int) -> String {
        for (unit, size) in [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)B"
    }
}
