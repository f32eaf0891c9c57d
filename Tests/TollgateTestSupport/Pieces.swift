// SPDX-License-Identifier: Apache-2.0
// The one way a test feeds a streaming consumer (a parser, a scanner, a framer) its input in
// pieces, so it can check that the answer does not depend on where the input was cut.

package enum Pieces {
    /// Calls `body` with consecutive pieces of `size` bytes (the last one may be shorter) and
    /// the offset just past each piece. Nothing for empty input.
    package static func feed(_ bytes: [UInt8], size: Int, _ body: (UnsafeRawBufferPointer, _ end: Int) -> Void) {
        let size = max(size, 1)
        bytes.withUnsafeBytes { all in
            var start = 0
            while start < all.count {
                let end = min(start + size, all.count)
                body(UnsafeRawBufferPointer(rebasing: all[start..<end]), end)
                start = end
            }
        }
    }

    /// Calls `body` with the pieces between the offsets in `cuts` (ascending): `0..<cuts[0]`,
    /// `cuts[0]..<cuts[1]`, …, `cuts.last..<bytes.count`, each with the offset just past it. A
    /// cut at 0 or at the end gives an empty piece; a cut behind the one before it, or past the
    /// end, is skipped.
    package static func feed(_ bytes: [UInt8], cuts: [Int], _ body: (UnsafeRawBufferPointer, _ end: Int) -> Void) {
        bytes.withUnsafeBytes { all in
            var start = 0
            for cut in cuts + [all.count] where cut >= start && cut <= all.count {
                body(UnsafeRawBufferPointer(rebasing: all[start..<cut]), cut)
                start = cut
            }
        }
    }
}
