// libFuzzer entry point for the 'packet' target; what it does with an input is
// FuzzTargets.packet (Tests/SentryCoreTests/Fuzz/FuzzTargets.swift), which the unit tests
// also run over every kept input of Fuzz/corpus/packet.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzTargets.packet(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
