// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for MultipartParser (the streaming multipart/form-data parser) and
// MultipartBoundary. MultipartTranscript.swift in this folder is a symlink to the unit tests'
// file (Tests/TollgateCoreTests), so the fuzzer checks what MultipartParserTests checks.
//
// Input layout (as FuzzJSONScanner's):
//   byte 0        k = byte % 8 + 1, the number of piece sizes that follow
//   bytes 1..<1+k piece sizes, each byte + 1 (1...256 bytes), cycled over the whole body
//   the rest      the body, parsed with the boundary "bound42"
//
// The body is parsed three times with a fresh parser: whole, in the pieces, and one byte at a
// time; the three transcripts (events with body bytes joined, then the error or success) must
// be identical, and the parser's invariants must hold (MultipartTranscript.run's `why`: event
// order, no empty body event, held bytes within bound). The body's first line is also read as
// a Content-Type value by MultipartBoundary (it must not trap; a boundary it returns must be
// one the parser accepts). Any disagreement is a `fatalError`, so libFuzzer saves the input.
import FuzzSupport
import TollgateCore

let boundary = Array("bound42".utf8)

func runCase(_ input: UnsafeRawBufferPointer) {
    let k = Int(input[0] % 8) + 1
    guard input.count > k else { return }
    let pieces = (1...k).map { Int(input[$0]) + 1 }
    let body = Array(input[(1 + k)...])

    var cuts: [Int] = []
    var at = 0
    var p = 0
    while true {
        at += pieces[p % pieces.count]
        p += 1
        guard at < body.count else { break }
        cuts.append(at)
    }
    let whole = MultipartTranscript.run(boundary: boundary, body, cuts: [])
    let split = MultipartTranscript.run(boundary: boundary, body, cuts: cuts)
    let bytewise = MultipartTranscript.run(boundary: boundary, body, cuts: body.isEmpty ? [] : Array(1..<body.count))
    for (label, outcome) in [("whole", whole), ("pieces \(pieces)", split), ("byte-by-byte", bytewise)] {
        if let why = outcome.why { fatalError("\(label): invariant broken: \(why)") }
    }
    if split.events != whole.events || bytewise.events != whole.events {
        fatalError("the events depend on the split\n  whole: \(whole.events)\n  pieces \(pieces): \(split.events)\n"
            + "  byte-by-byte: \(bytewise.events)")
    }

    let firstLine = body.prefix { $0 != 0x0A }
    if let found = try? MultipartBoundary.fromContentType(firstLine) {
        if (try? MultipartParser(boundary: found)) == nil {
            fatalError("fromContentType returned a boundary the parser refuses: \(found)")
        }
    }
}

// MARK: - libFuzzer entry points

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    runCase(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable target with `--defsym main=FuzzMultipart_main` (see FuzzSupport).
@_cdecl("FuzzMultipart_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzMultipart)
}
