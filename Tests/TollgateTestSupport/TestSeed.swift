// SPDX-License-Identifier: Apache-2.0
// Seeds for randomised tests that can be replayed: FNV-1a of the case's name (stable across
// runs, unlike String.hashValue), mixed with TOLLGATE_TEST_SEED when it is set.
import Glibc

package enum TestSeed {
    package static func value(for name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        if let text = getenv("TOLLGATE_TEST_SEED"), let extra = UInt64(String(cString: text)) {
            hash ^= extra
        }
        return hash
    }
}
