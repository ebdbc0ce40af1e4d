// libFuzzer target: the DSN parser (and the masking of what it rejects).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDSN(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let dsn = try DSN(parsing: text)
        // Whatever parses must be safe to put in a header line.
        let header = dsn.authHeader(client: "fuzz/1") + dsn.envelopeURL + dsn.publicDSN
        precondition(!header.utf8.contains(10) && !header.utf8.contains(13), "CR/LF in a header")
    } catch let e as DSN.ParseError {
        precondition(!e.description.utf8.contains(10), "newline in an error line")
    } catch {}
    _ = DSN.mask(text)
    return 0
}
