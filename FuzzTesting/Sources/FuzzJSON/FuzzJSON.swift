// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for TollgateCore.JSONValue (the tree parser and compact serializer adapters
// use for job replies). The whole input is the JSON text.
//
// Checks, each a `fatalError` so libFuzzer saves the input:
// - parse never traps or hangs, whatever the bytes (ASan and libFuzzer's timeout watch that);
// - a parsed value serializes to text that parses back to an equal value, and serializing
//   that again gives the same bytes (parse → serialize → parse is stable);
// - the depth limit only ever adds `.tooDeep`: parsed with maxDepth 3, the input either gives
//   the same value, or `.tooDeep`, or the same error as with the default limit.
import FuzzSupport
import TollgateCore

func runCase(_ input: [UInt8]) {
    let full: Result<JSONValue, JSONParseError>
    do {
        full = .success(try JSONValue.parse(input))
    } catch {
        full = .failure(error)
    }

    if case .success(let value) = full {
        let text = value.serialized
        let again: JSONValue
        do {
            again = try JSONValue.parse(text)
        } catch {
            fatalError("serialized text does not parse (\(error)): \(String(decoding: text, as: UTF8.self))")
        }
        if again != value {
            fatalError("round trip changed the value:\n  first:  \(value.text)\n  second: \(again.text)")
        }
        if again.serialized != text {
            fatalError("serializing twice differs:\n  \(String(decoding: text, as: UTF8.self))\n  \(again.text)")
        }
    }

    let shallow: Result<JSONValue, JSONParseError>
    do {
        shallow = .success(try JSONValue.parse(input, maxDepth: 3))
    } catch {
        shallow = .failure(error)
    }
    switch (full, shallow) {
    case (.success(let a), .success(let b)):
        if a != b { fatalError("maxDepth changed the value: \(a.text) vs \(b.text)") }
    case (.failure(let a), .success):
        fatalError("accepted with maxDepth 3 but refused with 64: \(a)")
    case (_, .failure(let b)) where b.reason == .tooDeep:
        break
    case (.success, .failure(let b)):
        fatalError("refused with maxDepth 3 for \(b), accepted with 64")
    case (.failure(let a), .failure(let b)):
        // The shallow parse stops at the first container past depth 3; an earlier error is the
        // same error at the same byte.
        if a != b { fatalError("different errors: \(a) with maxDepth 64, \(b) with maxDepth 3") }
    }
}

// MARK: - libFuzzer entry points

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    runCase(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

// SwiftPM links an executable target with `--defsym main=FuzzJSON_main` (see FuzzSupport).
@_cdecl("FuzzJSON_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSON)
}
