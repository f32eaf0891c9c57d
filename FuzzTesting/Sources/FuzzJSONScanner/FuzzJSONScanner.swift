// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the request-body scanner (JSONRequestScanner, which decides the model a
// request is authorised and priced for). JSONRequestScanner.swift and JSONScannerOracle.swift
// in this folder are symlinks to the real files (Sources/TollgateGateway,
// Tests/TollgateGatewayTests), so the fuzzer runs the product's scanner against the unit
// tests' oracle.
//
// Input layout (see README.md):
//   byte 0        k = byte % 8 + 1, the number of piece sizes that follow
//   bytes 1..<1+k piece sizes, each byte + 1 (1...256 bytes), cycled over the whole body
//   the rest      the request body
//
// Each body is scanned three times with a fresh scanner: in one piece, in the pieces, and one
// byte at a time; the three outcomes (verdict, model and its range, stream, stream_options,
// closing brace, offset) must be identical. The whole-body outcome must then agree with
// Foundation's JSONSerialization (JSONScannerOracle.disagreement), and Foundation's own
// re-serialisation of the body must get the verdict SPEC §3 asks for
// (JSONScannerOracle.roundTripDisagreement). StreamOptionsLocator (symlinked too) then follows
// the scanner the way ProxyExchange drives it, whole, in the pieces and byte by byte: the
// include_usage edits must not depend on the split and must give Foundation a body with
// `include_usage: true` and nothing else changed (StreamOptionsCheck). Any disagreement is a
// `fatalError`, so libFuzzer saves the input.
import Foundation
import FuzzSupport
import TollgateCore

/// FUZZ_JSON_TRACE=1 prints each input's pieces and outcome to stderr.
let trace = ProcessInfo.processInfo.environment["FUZZ_JSON_TRACE"] != nil

func runCase(_ input: UnsafeRawBufferPointer) {
    let k = Int(input[0] % 8) + 1
    guard input.count > k else { return }
    let pieces = (1...k).map { Int(input[$0]) + 1 }
    let body = Array(input[(1 + k)...])

    let whole = JSONScannerOracle.scan(body)
    let split = JSONScannerOracle.scan(body, pieces: pieces)
    let bytewise = JSONScannerOracle.scan(body, pieces: [1])
    if trace {
        FileHandle.standardError.write(Data("""
            pieces: \(pieces)
            body: \(String(decoding: body, as: UTF8.self).debugDescription)
            whole: \(whole)

            """.utf8))
    }
    if split != whole || bytewise != whole {
        fatalError("the outcome depends on the split\n  whole: \(whole)\n  pieces \(pieces): \(split)\n  byte-by-byte: \(bytewise)")
    }
    if let why = JSONScannerOracle.disagreement(body, whole) {
        fatalError("scanner and Foundation disagree: \(why)\n  whole: \(whole)")
    }
    if let why = JSONScannerOracle.roundTripDisagreement(body) {
        fatalError("round trip: \(why)")
    }

    let rewrite = StreamOptionsCheck.run(body)
    let rewriteSplit = StreamOptionsCheck.run(body, pieces: pieces)
    let rewriteBytewise = StreamOptionsCheck.run(body, pieces: [1])
    if trace { FileHandle.standardError.write(Data("rewrite: \(rewrite.outcome.map { "\($0)" } ?? "refused")\n".utf8)) }
    if let why = rewrite.broken ?? rewriteSplit.broken ?? rewriteBytewise.broken {
        fatalError("stream_options rewrite: \(why)")
    }
    if rewriteSplit.outcome != rewrite.outcome || rewriteBytewise.outcome != rewrite.outcome {
        fatalError("the rewrite depends on the split\n  whole: \(String(describing: rewrite.outcome))\n"
            + "  pieces \(pieces): \(String(describing: rewriteSplit.outcome))\n  byte-by-byte: \(String(describing: rewriteBytewise.outcome))")
    }
    if let outcome = rewrite.outcome, let why = StreamOptionsCheck.disagreement(body, outcome) {
        fatalError("stream_options rewrite: \(why)")
    }
}

// MARK: - libFuzzer entry points

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONScanner(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    runCase(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable target with `--defsym main=FuzzJSONScanner_main` (see FuzzSupport).
@_cdecl("FuzzJSONScanner_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSONScanner)
}
