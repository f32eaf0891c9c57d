// SPDX-License-Identifier: Apache-2.0
// The headers of one multipart/form-data part (RFC 7578 §4.2–4.4): the field name and the file
// name from Content-Disposition, and the Content-Type. Other headers are ignored
// (RFC 7578 §4.8: senders must not rely on them; Content-Transfer-Encoding is deprecated, §4.7).

package struct MultipartPartHeaders: Equatable, Sendable {
    /// The form field's name (`name` parameter; required).
    package var name: String
    /// The file name, when the part is a file (`filename` parameter). `filename*` is ignored
    /// (RFC 7578 §4.2: senders must not use it).
    package var filename: String?
    /// The Content-Type value as sent (trimmed), nil when absent (RFC 7578 §4.4: text/plain).
    package var contentType: String?

    package init(name: String, filename: String? = nil, contentType: String? = nil) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
    }

    /// Parses a header block: header lines each ending in CRLF, then the empty line's CRLF.
    /// `block` is either "\r\n" alone (no headers) or ends in "\r\n\r\n".
    static func parse(_ block: [UInt8]) throws(MultipartError) -> MultipartPartHeaders {
        var disposition: [UInt8]?
        var contentType: [UInt8]?
        var lineStart = 0
        var i = 0
        while i < block.count {
            let b = block[i]
            if b == 0x0A { throw .headerLineWithoutCRLF }  // a CRLF's LF is skipped below
            guard b == 0x0D else { i += 1; continue }
            guard i + 1 < block.count, block[i + 1] == 0x0A else { throw .headerLineWithoutCRLF }
            let line = block[lineStart..<i]
            i += 2
            lineStart = i
            if line.isEmpty { break }  // the empty line ends the block
            guard let first = line.first, first != 0x20, first != 0x09,
                  let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(HeaderParameterScanner.isTokenChar)
            else { throw .invalidHeaderLine }
            let name = line[line.startIndex..<colon].map(HeaderParameterScanner.lower)
            let value = trimmed(line[(colon + 1)...])
            if name == Array("content-disposition".utf8) {
                guard disposition == nil else { throw .invalidContentDisposition }
                disposition = value
            } else if name == Array("content-type".utf8) {
                contentType = value
            }
        }
        guard let disposition else { throw .missingContentDisposition }
        guard let (type, parameters) = HeaderParameterScanner.scan(disposition),
              type == Array("form-data".utf8) else { throw .invalidContentDisposition }
        var name: [UInt8]?
        var filename: [UInt8]?
        for parameter in parameters {
            if parameter.name == Array("name".utf8) {
                guard name == nil else { throw .invalidContentDisposition }
                name = parameter.value
            } else if parameter.name == Array("filename".utf8) {
                guard filename == nil else { throw .invalidContentDisposition }
                filename = parameter.value
            }
        }
        guard let name else { throw .missingName }
        return MultipartPartHeaders(
            name: String(decoding: name, as: UTF8.self),
            filename: filename.map { String(decoding: $0, as: UTF8.self) },
            contentType: contentType.map { String(decoding: $0, as: UTF8.self) })
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var s = bytes
        while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return Array(s)
    }
}
