// SPDX-License-Identifier: Apache-2.0
import Glibc
import Testing
@testable import TollgateIO

struct StartupMemoryTests {
    private func segment(_ line: String) -> CodeSegment? { CodeSegment(mapsLine: ArraySlice(line.utf8)) }

    @Test func onlyTheCodeOfFilesIsReleased() {
        let code = segment("7f1c2a400000-7f1c2a5a8000 r-xp 00028000 fe:00 1311 /usr/lib/x86_64-linux-gnu/libc.so.6")
        #expect(code == CodeSegment(start: 0x7f1c2a400000, length: 0x1a8000))
        // Data (whose private pages may be modified: losing them would corrupt the process),
        // read-only data (the relocated RELRO is modified too), and code with no file behind it.
        for kept in ["7f1c2a5a8000-7f1c2a5ac000 rw-p 001d0000 fe:00 1311 /usr/lib/x86_64-linux-gnu/libc.so.6",
                     "7f1c2a5a4000-7f1c2a5a8000 r--p 001cc000 fe:00 1311 /usr/lib/x86_64-linux-gnu/libc.so.6",
                     "7ffd1b5f2000-7ffd1b5f4000 r-xp 00000000 00:00 0 [vdso]",
                     "7f1c2a000000-7f1c2a100000 r-xp 00000000 00:00 0",
                     "7f1c2a000000-7f1c2a100000 rwxp 00000000 fe:00 7 /tmp/jit",
                     "7f1c2a100000-7f1c2a000000 r-xp 00000000 fe:00 7 /backwards",
                     "zz-7f1c2a100000 r-xp 00000000 fe:00 7 /bad-hex",
                     "1-2-3 r-xp 00000000 fe:00 7 /three-ends",
                     "10000000000000000-10000000000000001 r-xp 0 fe:00 7 /seventeen-digits",
                     "", "r-xp"] {
            #expect(segment(kept) == nil, "\(kept)")
        }
    }

    @Test func theProcessRunsOnAfterItsCodeIsReleased() {
        // Every code page of this test process is unmapped; running on (and calling into libc
        // and the Swift runtime again) proves they come back from the page cache.
        let advised = StartupMemory.release()
        #expect(advised > 0)
        #expect(String(repeating: "ab", count: 3) == "ababab")
        #expect(getpid() > 0)
    }
}
