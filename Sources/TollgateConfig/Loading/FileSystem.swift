// SPDX-License-Identifier: Apache-2.0
// The two file operations the loader needs, on plain POSIX calls (no Foundation).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileSystem {
    enum ReadError: Error, Equatable, CustomStringConvertible {
        case open(errno: Int32)
        case read(errno: Int32)
        case tooLarge(limit: Int)
        /// `line`: where the first byte that is not UTF-8 is.
        case notUTF8(line: Int)

        var description: String {
            switch self {
            case .open(let code): return "cannot read file: \(String(cString: strerror(code)))"
            case .read(let code): return "cannot read file: \(String(cString: strerror(code)))"
            case .tooLarge(let limit): return "file is larger than \(limit / (1 << 20))MB; not a config"
            case .notUTF8: return "file is not valid UTF-8"
            }
        }

        /// The line the problem is on; 0 for the file as a whole.
        var line: Int {
            guard case .notUTF8(let line) = self else { return 0 }
            return line
        }
    }

    /// Configs are small; a bound keeps a mistaken path (a log, a device) from eating memory.
    static let maximumConfigSize = 16 << 20

    static func readText(_ path: String, limit: Int = maximumConfigSize) throws(ReadError) -> String {
        let bytes = try readBytes(path, limit: limit)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .notUTF8(line: bytes.withUnsafeBufferPointer {
                YAMLComposer.lineNumber(atOffset: validUTF8Prefix($0), in: $0)
            })
        }
        return text
    }

    /// The whole file, at most `limit` bytes (a time zone's TZif file, or a config's text).
    static func readBytes(_ path: String, limit: Int) throws(ReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .open(errno: errno) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { throw .read(errno: EISDIR) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .read(errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= limit else { throw .tooLarge(limit: limit) }
        }
        return bytes
    }

    /// The length of the longest prefix of `bytes` that is whole UTF-8 scalars.
    static func validUTF8Prefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var length = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) {
            length += UTF8.width(scalar)
        }
        return length
    }

    /// Whether `path` is a readable regular file.
    static func isReadableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG && access(path, R_OK) == 0
    }
}
