import XCTest
@testable import SentryCore

final class JSONReaderTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue { try JSONReader.parse(Array(text.utf8)) }

    func testValuesOfEveryKind() throws {
        let v = try parse(#" {"a": [1, -2.5e1, true, false, null, "x"], "b": {}, "c": []} "#)
        XCTAssertEqual(v["a"], .array([.number(1), .number(-25), .bool(true), .bool(false), .null, .string("x")]))
        XCTAssertEqual(v["b"], .object([]))
        XCTAssertEqual(v["c"], .array([]))
        XCTAssertNil(v["d"])
    }

    func testEscapesAndSurrogates() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#), .string("a\"b\\c/d\n\t\u{e9}\u{1F600}"))
        XCTAssertEqual(try parse(#""\ud83d x""#), .string("\u{FFFD} x"), "a lone surrogate")
        XCTAssertEqual(try parse(#""\uzzzz""#), .string("\u{FFFD}zzzz"))
        XCTAssertEqual(try JSONReader.parse([34, 0xff, 0x41, 34]), .string("\u{FFFD}A"), "invalid UTF-8")
    }

    func testHostileInputIsAnErrorNotACrash() {
        for bad in ["", "{", "[1,", "{\"a\" 1}", "{\"a\":1,}", "[1 2]", "tru", "\"abc", "1 2", "-", "nul",
                    String(repeating: "[", count: 100_000), "{\"a\":" + String(repeating: "{\"a\":", count: 70) + "1"] {
            XCTAssertThrowsError(try parse(bad), bad.prefix(20).description)
        }
        XCTAssertThrowsError(try parse(String(repeating: "[", count: JSONReader.maxDepth + 1) + String(repeating: "]", count: JSONReader.maxDepth + 1)))
        XCTAssertNoThrow(try parse(String(repeating: "[", count: JSONReader.maxDepth) + String(repeating: "]", count: JSONReader.maxDepth)))
    }

    func testHugeNumbersStayDoublesAndAreNotFinite() throws {
        let v = try parse("[1e999, 123456789012345678901234567890]")
        XCTAssertNil(v.array?[0].number, "infinity is no number a caller gets")
        XCTAssertEqual(v.array?[1].number, 1.2345678901234568e29)
    }
}
