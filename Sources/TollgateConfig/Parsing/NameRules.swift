// SPDX-License-Identifier: Apache-2.0
// Which names are valid for backends, users, groups and models. Names appear in metric
// labels, log lines, URLs (/v1/run/<model>) and error messages, so they are kept to a
// conservative character set.

enum NameRules {
    /// Backends, users, groups: letters, digits, `.`, `_`, `-`; up to 64, starting with a
    /// letter or digit.
    static func isValidName(_ name: String) -> Bool {
        isValid(name, maxLength: 64, extra: "._-")
    }

    /// Model names also allow `/`, `:`, `@` and `+` (`meta-llama/Llama-3.1-8B-Instruct`,
    /// `llama3:8b`); up to 128.
    static func isValidModelName(_ name: String) -> Bool {
        isValid(name, maxLength: 128, extra: "._-/:@+")
    }

    /// Reports an invalid `name` (kind: "backend", "user", …) at `line`; true when valid.
    static func check(_ name: String, kind: String, line: Int, path: String, context: ConfigContext) -> Bool {
        let valid = kind == "model" ? isValidModelName(name) : isValidName(name)
        if !valid {
            let allowed = kind == "model" ? "letters, digits and . _ - / : @ +; at most 128 characters"
                : "letters, digits and . _ -; at most 64 characters"
            context.error(line, path, "'\(ConfigNode.clip(name))' is not a valid \(kind) name (\(allowed), starting with a letter or digit)")
        }
        return valid
    }

    /// `owner/name` with name-like parts (Hub spaces, Replicate models).
    static func isOwnerSlashName(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { isValid(String($0), maxLength: 96, extra: "._-") }
    }

    /// An identifier such as a RunPod endpoint id or a Replicate version.
    static func isIdentifier(_ text: String) -> Bool {
        isValid(text, maxLength: 128, extra: "_-")
    }

    private static func isValid(_ name: String, maxLength: Int, extra: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= maxLength,
              isAlphanumeric(first) else { return false }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || extra.unicodeScalars.contains($0) }
    }

    private static func isAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }
}

/// "did you mean" hints for misspelled keys, kinds and names.
enum NameSuggester {
    /// The closest candidate when it is close enough to be a likely typo, else nil.
    static func suggest(for word: String, among candidates: some Sequence<String>) -> String? {
        let normalizedWord = normalize(word)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let normalizedCandidate = normalize(candidate)
            // `max-concurrency` or `Max_Concurrency` for `max_concurrency` is certainly meant.
            if normalizedCandidate == normalizedWord { return candidate }
            let distance = editDistance(normalizedWord, normalizedCandidate)
            let allowed = min(normalizedWord.count, normalizedCandidate.count) >= 5 ? 2 : 1
            if distance <= allowed, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// `" (did you mean 'x'?)"` or the empty string.
    static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        guard let suggestion = suggest(for: word, among: candidates) else { return "" }
        return " (did you mean '\(suggestion)'?)"
    }

    private static func normalize(_ text: String) -> [Character] {
        text.lowercased().map { $0 == "-" ? "_" : $0 }
    }

    /// Levenshtein distance with transpositions counted as one edit (optimal string alignment).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
