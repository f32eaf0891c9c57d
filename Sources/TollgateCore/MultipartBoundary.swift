// SPDX-License-Identifier: Apache-2.0
// The boundary of a multipart/form-data body, from its Content-Type (RFC 7578 §4.1, RFC 2046
// §5.1.1): 1–70 `bchars`, not ending in a space, given as a token or a quoted string.
// MultipartParser relies on the character set: no CR in a boundary means a delimiter
// ("\r\n--" + boundary) can only start at its first byte, so a failed match never has to look
// back into the bytes it held.

package enum MultipartBoundary {
    package static let maxLength = 70

    /// The boundary of a `multipart/form-data; boundary=...` Content-Type value.
    package static func fromContentType<C: Collection<UInt8>>(_ value: C) throws(MultipartError) -> [UInt8] {
        guard let (type, parameters) = HeaderParameterScanner.scan(value) else {
            // Unparseable parameters: still say "not form-data" when the type is plainly wrong.
            let head = Array(value.prefix(19)).map(HeaderParameterScanner.lower)
            if head != Array("multipart/form-data".utf8) { throw .notMultipartFormData }
            throw .invalidBoundary
        }
        guard type == Array("multipart/form-data".utf8) else { throw .notMultipartFormData }
        let boundaries = parameters.filter { $0.name == Array("boundary".utf8) }
        guard let boundary = boundaries.first else { throw .missingBoundary }
        guard boundaries.count == 1 else { throw .invalidBoundary }
        try validate(boundary.value)
        return boundary.value
    }

    package static func fromContentType(_ value: String) throws(MultipartError) -> [UInt8] {
        try fromContentType(Array(value.utf8))
    }

    /// Throws `invalidBoundary` unless `boundary` is 1–70 bchars not ending in a space.
    package static func validate(_ boundary: [UInt8]) throws(MultipartError) {
        guard let last = boundary.last, boundary.count <= maxLength, last != 0x20,
              boundary.allSatisfy(isBChar) else { throw .invalidBoundary }
    }

    /// RFC 2046 §5.1.1: bchars := bcharsnospace / " "; bcharsnospace := DIGIT / ALPHA / "'" /
    /// "(" / ")" / "+" / "_" / "," / "-" / "." / "/" / ":" / "=" / "?"
    private static func isBChar(_ b: UInt8) -> Bool {
        HeaderParameterScanner.isAlphanumeric(b, or: "'()+_,-./:=? ")
    }
}
