// libFuzzer entry point for the 'options' target; what it does with an input is
// FuzzTargets.options (Tests/SentryCoreTests/Fuzz/FuzzTargets.swift), which the unit tests
// also run over every kept input of Fuzz/corpus/options.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzTargets.options(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
