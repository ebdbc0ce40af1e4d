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

    /// What `canonical` writes is what JSONWriter writes of the tree `parse` builds,
    /// byte for byte, scrubbed or not; where `parse` throws, it throws.
    func testCanonicalTextIsWhatTheTreeWouldBeScrubbedOrNot() {
        let texts = [
            #"{"amount": 42, "customer": {"name": "Ada", "card": "4111 1111 1111 1111", "password": "hunter2", "tags": [1, 2, 3]}}"#,
            #"{"secret_token": {"deep": ["x", 1]}, "api_key": null, "ok": "mail me: ada@example.com", "n": -2.5e1, "f": 1.0, "big": 123456789012345678901234567890}"#,
            #" { "a" : [ true , false , null , "x" ] , "b" : { } , "c" : [ ] } "#,
            #"{"esc": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "ctl": "\u0001\u007f", "lone": "\ud83d x", "key\u0041": 1}"#,
            #"{"dup": 1, "dup": "4111111111111111", "url": "https://user:pw@host/x", "bearer": "Bearer abc.def"}"#,
            #"[1e999, -0, 0.1, 1e15, 1e14, 007, +1, 1.]"#,
            "{\"raw\": \"tab\there\"}", "\"\u{7f}\"", "{\"Password\": 1}", "[]", "{}", "\"\"", "1", "x", "{\"a\":", "[1,]", "",
            String(repeating: "[", count: JSONReader.maxDepth) + String(repeating: "]", count: JSONReader.maxDepth),
            String(repeating: "[", count: JSONReader.maxDepth + 1) + String(repeating: "]", count: JSONReader.maxDepth + 1),
        ]
        for text in texts { XCTAssertNil(FuzzTargets.canonicalDifference(Array(text.utf8)), text) }
        // Bytes no Swift string has: invalid UTF-8, inside strings and in a member name.
        for bytes: [UInt8] in [[34, 0xff, 0x41, 34], [123, 34, 0xe0, 0x80, 0x80, 34, 58, 34, 9, 10, 34, 125], [34, 0xc3, 34]] {
            XCTAssertNil(FuzzTargets.canonicalDifference(bytes), "\(bytes)")
        }
    }

    func testARawMemberIsKeptAsTextAndReadsAsTheTree() throws {
        let v = try JSONReader.parse(Array(#"{"m": "shop", "v": {"amount": 12, "password": "x"} , "i": true}"#.utf8), keepingRaw: "v")
        XCTAssertEqual(v["v"], .unchecked(Array(#"{"amount": 12, "password": "x"}"#.utf8)), "as it came, passed over")
        XCTAssertEqual(v["v"]?["amount"], .number(12))
        XCTAssertEqual(v["m"]?.string, "shop")
        XCTAssertEqual(v["i"], .bool(true), "what follows it is read")
        XCTAssertEqual(Event.scrubbed(try XCTUnwrap(v["v"]), name: nil), .raw(Array(#"{"amount":12,"password":"[Filtered]"}"#.utf8)))
    }

    func testAMemberPassedOverEndsWhereItsBracketsAndStringsSay() throws {
        let cases: [(String, String)] = [
            (#"{"v": "a\"}", "b": 1}"#, #""a\"}""#), (#"{"v": 12 , "b": 1}"#, "12"), (#"{"v": [1, {"x": "]"}], "b": 1}"#, #"[1, {"x": "]"}]"#),
            (#"{"v": null}"#, "null"),
        ]
        for (text, member) in cases {
            let v = try JSONReader.parse(Array(text.utf8), keepingRaw: "v")
            XCTAssertEqual(v["v"], .unchecked(Array(member.utf8)), text)
        }
        for text in [#"{"v": "open"#, #"{"v": [1, 2"#, #"{"v": }"#, #"{"v": "#] {
            XCTAssertThrowsError(try JSONReader.parse(Array(text.utf8), keepingRaw: "v"), text)
        }
        // Not JSON, yet balanced: kept, and then nothing of it is written.
        let bad = try JSONReader.parse(Array(#"{"v": {"a": tru, "card": "4111111111111111"}}"#.utf8), keepingRaw: "v")
        XCTAssertEqual(Event.scrubbed(try XCTUnwrap(bad["v"]), name: nil), .string(Scrubber.filtered))
        var w = JSONWriter()
        w.value(nil, try XCTUnwrap(bad["v"]))
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), "null", "unscrubbed, it is read before it is written")
    }
}
