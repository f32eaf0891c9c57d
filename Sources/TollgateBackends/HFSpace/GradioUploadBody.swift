// SPDX-License-Identifier: Apache-2.0
// One client file on its way to `POST <prefix>/upload` (multipart, field `files`; routes.py
// upload_file, backend-protocols.md §1.3), re-framed as it streams: our part head, the file's
// bytes as the client's body delivers them (through the call's GradioMultipartPump), our close
// delimiter. Sent chunked: the file's length is not known until its part ends.
import TollgateUpstream
import TollgateCore

final class GradioUploadBody: BufferedCallBodyProvider {
    private enum Stage { case head, data, tail, done }

    private let pump: GradioMultipartPump
    private var stage = Stage.head
    private let head: [UInt8]
    private let tail: [UInt8]
    private var piece: [UInt8] = []
    private var offset = 0
    /// Why the body could not be completed (the client's body failed), once it happened.
    private(set) var failure: String?
    /// File bytes passed on so far.
    private(set) var fileBytes = 0

    init(pump: GradioMultipartPump, boundary: String, filename: String?, contentType: String?) {
        self.pump = pump
        head = Self.partHead(boundary: boundary, filename: filename, contentType: contentType)
        tail = Array("\r\n--\(boundary)--\r\n".utf8)
        piece = head
    }

    /// The part's head, `files` as Gradio reads it; the file name made safe for a quoted
    /// string (RFC 7578 §4.2: no quote, backslash or control byte; no path).
    static func partHead(boundary: String, filename: String?, contentType: String?) -> [UInt8] {
        let name = safeFilename(filename)
        let type = contentType.flatMap { t in t.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && !t.isEmpty ? t : nil }
            ?? "application/octet-stream"
        return Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(name)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
    }

    static func safeFilename(_ filename: String?) -> String {
        var text = Substring(filename ?? "")
        if let slash = text.lastIndex(where: { $0 == "/" || $0 == "\\" }) { text = text[text.index(after: slash)...] }
        var out = ""
        for scalar in text.unicodeScalars {
            guard out.unicodeScalars.count < 128 else { break }
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\"" || scalar == "\\" { continue }
            out.unicodeScalars.append(scalar)
        }
        while out.hasPrefix(".") { out.removeFirst() }
        return out.isEmpty ? "upload" : out
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> UpstreamBodyChunk {
        guard buffer.count > 0 else { return .wouldBlock }
        while true {
            if offset < piece.count {
                let n = min(buffer.count, piece.count - offset)
                piece.withUnsafeBytes { src in
                    UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + n]))
                }
                offset += n
                return .bytes(n)
            }
            switch stage {
            case .head:
                stage = .data
                setPiece([])
            case .data:
                switch pump.next() {
                case .bytes(let bytes):
                    fileBytes += bytes.count
                    setPiece(bytes)
                case .partEnd:
                    stage = .tail
                    setPiece(tail)
                case .wouldBlock:
                    return .wouldBlock
                case .failed(let message):
                    failure = message
                    stage = .done
                    return .abort
                case .partBegin, .end:
                    // The parser ends a part before anything else: unreachable, but never a trap.
                    failure = "malformed multipart body"
                    stage = .done
                    return .abort
                }
            case .tail:
                stage = .done
            case .done:
                return failure == nil ? .end : .abort
            }
        }
    }

    private func setPiece(_ bytes: [UInt8]) {
        piece = bytes
        offset = 0
    }
}
