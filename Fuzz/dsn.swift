// libFuzzer entry point for the 'dsn' target; what it does with an input is
// FuzzTargets.dsn (Tests/SentryCoreTests/Fuzz/FuzzTargets.swift), which the unit tests
// also run over every kept input of Fuzz/corpus/dsn.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzTargets.dsn(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
