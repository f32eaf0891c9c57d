// SPDX-License-Identifier: Apache-2.0
// Start-up runs code that serving never runs again: the YAML loader, the config checks, the
// SQLite migrations and the seeding queries, the dynamic loader's relocation of ~35 libraries
// that libcurl links (LDAP, RTMP, SSH, Kerberos, GnuTLS, whose constructors run although
// Tollgate never calls them). Their code pages stay mapped — counted in RSS — until the
// process exits, and the kernel's fault-around maps 64 KiB around every page touched, so a
// few functions called once hold megabytes.
//
// Once the gateway serves, `release()` returns the heap that start-up freed to the system
// (malloc_trim: https://man7.org/linux/man-pages/man3/malloc_trim.3.html) and unmaps the clean code pages of every file mapping
// (`MADV_DONTNEED` on the executable `r-xp` segments only: their pages are identical to the
// file, so the next use faults them back from the page cache — a minor fault, no disk read
// while the file stays cached; https://man7.org/linux/man-pages/man2/madvise.2.html). What
// serving uses comes back on its first requests; what only start-up used stays out. Writable
// and read-only data mappings are never touched: a private mapping's modified pages (.data,
// the relocated RELRO) would be lost, not re-read.
import CLinux
import Glibc

public enum StartupMemory {
    /// Trims the heap and unmaps the code pages of file mappings (faulted back in on use).
    /// - Returns: how many bytes of code mappings were advised (not all were resident).
    @discardableResult
    public static func release() -> Int {
        malloc_trim(0)
        guard let maps = readMaps() else { return 0 }
        var advised = 0
        for line in maps.split(separator: UInt8(ascii: "\n")) {
            guard let segment = CodeSegment(mapsLine: line) else { continue }
            guard let start = UnsafeMutableRawPointer(bitPattern: segment.start) else { continue }
            if madvise(start, segment.length, MADV_DONTNEED) == 0 { advised &+= segment.length }
        }
        return advised
    }

    /// `/proc/self/maps`, whole (a few KiB). nil when it cannot be read (not Linux, no /proc).
    private static func readMaps() -> [UInt8]? {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
            // A bound far above any real process's map list.
            if bytes.count > 16 << 20 { return nil }
        }
        return bytes
    }
}

/// One line of /proc/self/maps that names an executable, private segment of a file:
/// `start-end r-xp offset dev inode /path`.
struct CodeSegment: Equatable {
    let start: UInt
    let length: Int

    init(start: UInt, length: Int) {
        self.start = start
        self.length = length
    }

    init?(mapsLine line: ArraySlice<UInt8>) {
        self.init(fields: line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true))
    }

    private init?<S: Collection<UInt8>>(fields: [S]) {
        // Code of a file: exactly r-xp (never writable), and a path (not [vdso], [vsyscall] or
        // an anonymous mapping, whose pages have no file to come back from).
        guard fields.count >= 6, fields[1].elementsEqual("r-xp".utf8), fields[5].first == UInt8(ascii: "/") else {
            return nil
        }
        let range = fields[0].split(separator: UInt8(ascii: "-"))
        guard range.count == 2, let start = Self.hex(range[0]), let end = Self.hex(range[1]), end > start,
              end - start <= UInt(Int.max) else { return nil }
        self.start = start
        self.length = Int(end - start)
    }

    private static func hex<S: Collection<UInt8>>(_ digits: S) -> UInt? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: UInt = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt(nibble)
        }
        return value
    }
}
