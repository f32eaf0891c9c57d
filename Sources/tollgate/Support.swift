// SPDX-License-Identifier: Apache-2.0
import Glibc
import TollgateConfig

enum Console {
    static func error(_ line: String) { write(line, to: 2) }

    static func out(_ line: String) { write(line, to: 1) }

    /// The whole line: a pipe may take a help page in pieces, and a signal may interrupt.
    private static func write(_ line: String, to descriptor: Int32) {
        var text = line + "\n"
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(descriptor, base + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

enum ProcessEnvironment {
    /// The environment as a dictionary, read from `environ` (no Foundation).
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

enum OpenFileLimit {
    /// Raises the soft open-files limit to the hard limit: every connection and upstream socket
    /// is a descriptor, and distributions start processes at a soft 1024.
    static func raiseToHardLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
