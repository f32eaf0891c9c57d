// SPDX-License-Identifier: Apache-2.0
// What every fuzz target shares: handing control to libFuzzer. SwiftPM links an executable
// target with `--defsym main=<Target>_main`; with `-parse-as-library` nothing defines that
// symbol, so each target defines it in one line and calls `runFuzzer` with its test-one-input
// function (shared/research/reliability-anchors.md §3).

/// libFuzzer's entry point for a program with its own `main` (FuzzerInterface.h).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with `callback` as the test-one-input function; returns its exit status.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
