// SPDX-License-Identifier: Apache-2.0
import TollgateCore
// Secrets: never echoed in a message. Upstream credentials are kept as text (they must be
// sent); client and admin keys only as digests, except a default written in the file.

extension ConfigNode {
    static let literalSecretAdvice = "write ${VAR} and set VAR in the environment to keep it out of the file"

    /// An upstream credential (api_key, token, token_secret). nil when absent, on error, or
    /// when it expanded to the empty string (`${KEY:-}` switches it off).
    func secret() -> String? {
        guard let value = scalar(expected: "a secret (e.g. ${API_KEY})") else { return nil }
        guard !value.text.isEmpty else { return nil }
        // The value ends up in a request header: a line break would inject another header.
        guard value.text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
            error("contains control characters or line breaks")
            return nil
        }
        warnIfWrittenInFile(value.origin, what: "secret")
        return value.text
    }

    /// A client or admin bearer key. `allowEmpty`: the empty string means "none" (admin.key)
    /// instead of an error.
    func clientKey(allowEmpty: Bool) -> (key: ClientKey?, ok: Bool) {
        guard let value = scalar(expected: "a key (sha256:<hex>, ${VAR} or text)") else { return (nil, false) }
        let text = value.text
        if text.isEmpty {
            if allowEmpty { return (nil, true) }
            error("the key is empty")
            return (nil, false)
        }
        if text.hasPrefix("sha256:") {
            let hex = String(text.dropFirst("sha256:".count))
            guard hex.utf8.count == 64, let digest = SHA256.bytes(fromHex: hex) else {
                error("expected sha256: followed by 64 hex digits (tollgate keygen prints one)")
                return (nil, false)
            }
            return (ClientKey(digest: digest, source: .sha256Hash, line: line), true)
        }
        // Keys travel as `Authorization: Bearer <key>`: visible ASCII only.
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            error("a key must be printable ASCII without spaces")
            return (nil, false)
        }
        warnIfWrittenInFile(value.origin, what: "key")
        let source: KeySource
        switch value.origin {
        case .literal: source = .literal
        case .environment(let variables): source = .environment(variable: variables.first ?? "")
        case .defaultValue(let variables): source = .defaultValue(variable: variables.first ?? "")
        }
        return (ClientKey(plaintext: text, source: source, line: line), true)
    }

    /// Literal secrets are accepted but flagged; so is a `${VAR:-default}` default, which is
    /// just as much written in the file.
    func warnIfWrittenInFile(_ origin: ValueOrigin, what: String) {
        switch origin {
        case .literal:
            warning("literal \(what) in the config; \(Self.literalSecretAdvice)")
        case .defaultValue(let variables):
            let names = variables.joined(separator: ", ")
            warning("\(names) is not set, so the \(what) is the default written in the config (set \(names) to use your own)")
        case .environment:
            break
        }
    }
}
