import XCTest
@testable import SentryCore

final class LoaderFrameTests: XCTestCase {
    func testRoundTripWithNestedCores() throws {
        let core = Array(LoaderFrame.encode([("wid", Array("2".utf8)), ("core", Array("0".utf8)), ("method", Array("GET".utf8)),
                                             ("uri", Array("/slow?a=1".utf8)), ("start_us", Array("1795645615000000".utf8))]).dropFirst(4))
        let bytes = LoaderFrame.encode([("kind", Array("harakiri".utf8)), ("wid", Array("2".utf8)), ("pid", Array("4242".utf8)),
                                        ("try", Array("1".utf8)), ("limit", Array("3".utf8)), ("dropped", Array("5".utf8)),
                                        ("core", core), ("future_key", [1, 2, 3])])
        let f = try LoaderFrame.decode(bytes[...])
        XCTAssertEqual(f.kind, .harakiri)
        XCTAssertEqual(f.wid, 2); XCTAssertEqual(f.pid, 4242); XCTAssertEqual(f.harakiriTry, 1); XCTAssertEqual(f.harakiriLimit, 3)
        XCTAssertEqual(f.dropped, 5)
        XCTAssertEqual(f.cores, [LoaderFrame.Core(wid: 2, core: 0, pid: nil, startMicros: 1_795_645_615_000_000, method: "GET",
                                                  uri: "/slow?a=1", remote: nil)])
    }

    func testLiesAreErrors() {
        XCTAssertThrowsError(try LoaderFrame.decode(Array("XXXX".utf8)[...]), "no magic")
        XCTAssertThrowsError(try LoaderFrame.decode(Array("USF1".utf8)[...]), "no kind")
        XCTAssertThrowsError(try LoaderFrame.decode((Array("USF1".utf8) + [4] + Array("kind".utf8) + [0xff, 0xff, 0xff, 0x7f])[...]))
        XCTAssertThrowsError(try LoaderFrame.decode((Array("USF1".utf8) + [200])[...]))
        XCTAssertThrowsError(try LoaderFrame.decode(LoaderFrame.encode([("kind", Array("teleport".utf8))])[...]))
        XCTAssertEqual(try LoaderFrame.decode(LoaderFrame.encode([("kind", Array("log".utf8)), ("dropped", Array("-7".utf8))])[...]).dropped, 0)
    }

    /// A line's frame read on its own is what `decode` reads of it; anything else is
    /// left to `decode`.
    func testLinesReadAlone() throws {
        func frame(_ items: [(String, String)]) -> ArraySlice<UInt8> { LoaderFrame.encode(items.map { ($0.0, Array($0.1.utf8)) })[...] }
        let plain = frame([("kind", "log"), ("body", "GET / => generated 2 bytes"), ("now_us", "1795645615123456")])
        let inFlight = frame([("kind", "log"), ("body", "a line"), ("now_us", "+17"), ("req_pid", "42"), ("req_core", "0"),
                              ("req_start_us", "1795645615000000"), ("HTTP_SENTRY_TRACE", "0123456789abcdef0123456789abcdef-0123456789abcdef-1"),
                              ("HTTP_TRACEPARENT", "junk")])
        for bytes in [plain, inFlight, frame([("kind", "log")]), frame([("body", "x"), ("kind", "log"), ("now_us", "-")])] {
            let alone = try XCTUnwrap(LoaderFrame.line(bytes))
            XCTAssertEqual(alone, try LoaderFrame.decode(bytes).line)
        }
        XCTAssertEqual(LoaderFrame.line(plain)?.nowMicros, 1_795_645_615_123_456)
        XCTAssertEqual(LoaderFrame.line(inFlight)?.request, Trace.Request(pid: 42, core: 0, startMicros: 1_795_645_615_000_000))
        XCTAssertNil(LoaderFrame.line(frame([("kind", "log"), ("now_us", "99999999999999999999")]))?.nowMicros, "past Int64: as Int64(text)")
        // Not a line, or a line with more to say: decode's.
        XCTAssertNil(LoaderFrame.line(frame([("kind", "alarm"), ("body", "x")])))
        XCTAssertNil(LoaderFrame.line(frame([("kind", "log"), ("kind", "alarm")])))
        XCTAssertNil(LoaderFrame.line(frame([("kind", "log"), ("dropped", "3")])))
        XCTAssertNil(LoaderFrame.line(frame([("body", "x")])), "no kind")
        XCTAssertNil(LoaderFrame.line(Array("USF1".utf8)[...] + [4] + Array("kind".utf8) + [3, 0, 0]), "truncated")
        XCTAssertNil(LoaderFrame.line(Array("XXXX".utf8)[...]))
    }
}
