// SPDX-License-Identifier: Apache-2.0
// Cuts every configured upstream secret (backend api_key / token, Modal's token pair, the
// headers of an idle request) out of upstream text the gateway relays: error messages built
// from upstream bodies, failure reasons, passed-through 4xx bodies (SPEC §7: no key or token
// appears in errors or logs). An upstream that echoes the request's Authorization header in
// its error would otherwise hand our key to the client. Streamed text is redacted across
// chunk boundaries: a tail that could be the start of a secret is held back until the next
// chunk decides it. Immutable, built once per plan.

public struct SecretRedactor: Sendable {
    /// What a secret is replaced with.
    static let marker: [UInt8] = Array("[redacted]".utf8)
    /// Shorter values are not treated as secrets: replacing every `abc` in a message would
    /// garble it while protecting nothing a guess would not find.
    static let minimumLength = 6

    /// Longest first, so a secret that contains another is replaced whole.
    let secrets: [[UInt8]]
    /// Whether a byte can start a secret (a quick rejection for almost every byte).
    private let starts: [Bool]

    public init(secrets: [String]) {
        var set = Set<[UInt8]>()
        for secret in secrets where secret.utf8.count >= Self.minimumLength {
            let bytes = Array(secret.utf8)
            set.insert(bytes)
            // The same secret as it appears inside a JSON string: an upstream that echoes it in
            // a JSON error escapes `"`, `\` and possibly `/`.
            set.insert(Self.jsonEscaped(bytes, slash: false))
            set.insert(Self.jsonEscaped(bytes, slash: true))
        }
        self.secrets = set.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
        var starts = [Bool](repeating: false, count: 256)
        for secret in self.secrets { if let first = secret.first { starts[Int(first)] = true } }
        self.starts = starts
    }

    public static let none = SecretRedactor(secrets: [])

    public var isEmpty: Bool { secrets.isEmpty }

    private static func jsonEscaped(_ bytes: [UInt8], slash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || (slash && b == UInt8(ascii: "/")) {
                out.append(UInt8(ascii: "\\"))
            }
            out.append(b)
        }
        return out
    }

    /// `text` with every secret replaced.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        return String(decoding: redact(Array(text.utf8)), as: UTF8.self)
    }

    /// `bytes` (complete text) with every secret replaced.
    func redact(_ bytes: [UInt8]) -> [UInt8] {
        guard !secrets.isEmpty else { return bytes }
        var carry: [UInt8] = []
        return bytes.withUnsafeBytes { redact($0, carry: &carry, final: true) }
    }

    /// Redacts the next piece of a stream. `carry` holds what the previous call kept back (a
    /// possible start of a secret); `final` releases it at the end of the stream.
    /// - Returns: the bytes that may be sent now.
    func redact(_ bytes: UnsafeRawBufferPointer, carry: inout [UInt8], final: Bool) -> [UInt8] {
        guard !secrets.isEmpty else {
            var out = carry
            out.append(contentsOf: bytes)
            carry = []
            return out
        }
        var data = carry
        data.append(contentsOf: bytes)
        carry = []
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var i = 0
        scanning: while i < data.count {
            if starts[Int(data[i])] {
                for secret in secrets {
                    let available = data.count - i
                    if available >= secret.count {
                        if data[i..<(i + secret.count)].elementsEqual(secret) {
                            out.append(contentsOf: Self.marker)
                            i += secret.count
                            continue scanning
                        }
                    } else if !final && data[i...].elementsEqual(secret[0..<available]) {
                        // The rest could be the start of this secret: decide with the next chunk.
                        carry = Array(data[i...])
                        return out
                    }
                }
            }
            out.append(data[i])
            i += 1
        }
        return out
    }
}
