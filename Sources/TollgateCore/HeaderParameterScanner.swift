// SPDX-License-Identifier: Apache-2.0
// Reads a header value of the form `type; name=value; name="quoted \" value"` (RFC 9110 §5.6.6
// parameters, as used by Content-Type in RFC 2046 and Content-Disposition in RFC 7578 §4.2).
// Bounds-checked indices only: the input is the client's.

public struct HeaderParameterScanner {
    struct Parameter {
        /// Lower-cased parameter name.
        var name: [UInt8]
        var value: [UInt8]
    }

    /// The value's leading item (a token, or `type/subtype`), lower-cased, and its parameters;
    /// nil when the value does not parse.
    static func scan<C: Collection<UInt8>>(_ input: C) -> (type: [UInt8], parameters: [Parameter])? {
        let bytes = Array(input)
        var i = 0
        skipOWS(bytes, &i)
        var type: [UInt8] = []
        while i < bytes.count, isTypeChar(bytes[i]) {
            type.append(lower(bytes[i]))
            i += 1
        }
        guard !type.isEmpty else { return nil }
        var parameters: [Parameter] = []
        while true {
            skipOWS(bytes, &i)
            guard i < bytes.count else { return (type, parameters) }
            guard bytes[i] == UInt8(ascii: ";") else { return nil }
            i += 1
            skipOWS(bytes, &i)
            // A trailing ";" is tolerated (seen from real clients).
            guard i < bytes.count else { return (type, parameters) }
            var name: [UInt8] = []
            while i < bytes.count, isTokenChar(bytes[i]) {
                name.append(lower(bytes[i]))
                i += 1
            }
            guard !name.isEmpty else { return nil }
            skipOWS(bytes, &i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { return nil }
            i += 1
            skipOWS(bytes, &i)
            var value: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < bytes.count {
                    let b = bytes[i]
                    i += 1
                    if b == UInt8(ascii: "\"") { closed = true; break }
                    if b == UInt8(ascii: "\\") {
                        // quoted-pair (RFC 9110 §5.6.4)
                        guard i < bytes.count else { return nil }
                        value.append(bytes[i])
                        i += 1
                        continue
                    }
                    // CR, LF and NUL never belong in a header value.
                    if b == 0x0D || b == 0x0A || b == 0 { return nil }
                    value.append(b)
                }
                guard closed else { return nil }
            } else {
                while i < bytes.count, isTokenChar(bytes[i]) {
                    value.append(bytes[i])
                    i += 1
                }
                guard !value.isEmpty else { return nil }
            }
            parameters.append(Parameter(name: name, value: value))
        }
    }

    private static func skipOWS(_ bytes: [UInt8], _ i: inout Int) {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
    }

    static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b + 0x20 : b
    }

    /// RFC 9110 §5.6.2 tchar.
    public static func isTokenChar(_ b: UInt8) -> Bool {
        isAlphanumeric(b, or: "!#$%&'*+-.^_`|~")
    }

    /// ALPHA / DIGIT / one of the ASCII `others`: the shape of both tchar and RFC 2046's bchars
    /// (MultipartBoundary). Read in place, no array per byte.
    static func isAlphanumeric(_ b: UInt8, or others: StaticString) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return UnsafeBufferPointer(start: others.utf8Start, count: others.utf8CodeUnitCount).contains(b)
        }
    }

    private static func isTypeChar(_ b: UInt8) -> Bool {
        isTokenChar(b) || b == UInt8(ascii: "/")
    }
}
