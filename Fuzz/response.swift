// libFuzzer entry point for the 'response' target; what it does with an input is
// FuzzTargets.response (Tests/SentryCoreTests/Fuzz/FuzzTargets.swift), which the unit tests
// also run over every kept input of Fuzz/corpus/response.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzTargets.response(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
