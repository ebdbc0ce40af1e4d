import XCTest
@testable import SentryCore

final class JSONTests: XCTestCase {
    func testEscapes() {
        XCTAssertEqual(JSONWriter.quote("a\"b\\c\n\r\t"), #""a\"b\\c\n\r\t""#)
        XCTAssertEqual(JSONWriter.quote("\u{0}\u{1}\u{1f}\u{7f}"), #""\u0000\u0001\u001f\u007f""#)
    }

    func testNonASCIIPassesThrough() {
        XCTAssertEqual(JSONWriter.quote("héllo ✓ 🐍"), "\"héllo ✓ 🐍\"")
    }

    func testInvalidUTF8IsRepaired() {
        let s = String(decoding: [0x61, 0xff, 0xc3, 0x62] as [UInt8], as: UTF8.self)
        XCTAssertEqual(Array(JSONWriter.quote(s).utf8), [34, 0x61, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd, 0x62, 34])
    }

    func testNestingAndCommas() {
        var w = JSONWriter()
        w.openObject(); w.string("a", "1"); w.openArray("b"); w.int(nil, 2); w.bool(nil, true); w.closeArray()
        w.openObject("c"); w.closeObject(); w.closeObject()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"a":"1","b":[2,true],"c":{}}"#)
    }

    /// Commas at every depth (a bit per level up to 64, flags deeper) and a buffer
    /// that grows past its first capacity, whatever is written.
    func testDeepAndLongWrites() {
        var w = JSONWriter(capacity: 8)
        var expected = ""
        for depth in 0..<100 {
            w.openArray(); w.int(nil, depth); w.string(nil, "x")
            expected += "[\(depth),\"x\","
        }
        for _ in 0..<100 { w.closeArray(); w.bool(nil, true) }
        expected.removeLast()
        for _ in 0..<100 { expected += "],true" }  // the last one beside the outer array
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), expected)

        var long = JSONWriter(capacity: 1)
        let text = String(repeating: "é\"\u{1}", count: 5_000)
        long.openObject(); long.string("k", text); long.members(Array("\"m\":1".utf8)); long.closeObject()
        XCTAssertEqual(String(decoding: long.bytes, as: UTF8.self), "{\"k\":" + JSONWriter.quote(text) + ",\"m\":1}")
    }
}
