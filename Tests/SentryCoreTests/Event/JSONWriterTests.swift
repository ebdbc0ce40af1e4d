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
}
