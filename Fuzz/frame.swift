// libFuzzer entry point for the 'frame' target; what it does with an input is
// FuzzTargets.frame (Tests/SentryCoreTests/Fuzz/FuzzTargets.swift), which the unit tests
// also run over every kept input of Fuzz/corpus/frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzTargets.frame(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
