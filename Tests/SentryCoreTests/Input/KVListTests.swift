import XCTest
@testable import SentryCore

final class KVListTests: XCTestCase {
    func testSplitsItemsAndFirstEquals() {
        let items = KVList.parse("dsn=http://k@h/1,message=a=b,level=error")
        XCTAssertEqual(items, [KVItem(key: "dsn", value: "http://k@h/1"),
                               KVItem(key: "message", value: "a=b"),
                               KVItem(key: "level", value: "error")])
    }

    func testBackslashEscapesSeparatorAndEquals() {
        let items = KVList.parse(#"message=one\, two,ke\=y=v"#)
        XCTAssertEqual(items.map(\.key), ["message", "ke=y"])
        XCTAssertEqual(items[0].value, "one, two")
        XCTAssertEqual(items[0].rawValue, #"one\, two"#)
        XCTAssertEqual(items[1].value, "v")
    }

    func testDanglingBackslashStandsForItself() {
        XCTAssertEqual(KVList.parse(#"message=end\"#), [KVItem(key: "message", value: #"end\"#)])
    }

    func testBareWordsAndEmptyValuesAndEmptyItems() {
        let items = KVList.parse("debug,,level=, no_verify ")
        XCTAssertEqual(items, [KVItem(key: "debug", value: nil), KVItem(key: "level", value: ""),
                               KVItem(key: "no_verify", value: nil)])
    }

    func testKeysAreTrimmedValuesAreNot() {
        XCTAssertEqual(KVList.parse(" level = warn"), [KVItem(key: "level", value: " warn")])
    }

    func testPairsHonourTheirOwnEscapes() {
        let items = KVList.parse(#"tags=a:b\;c;url:http://x"#)
        let pairs = KVList.pairs(items[0].rawValue!)
        XCTAssertEqual(pairs.map(\.name), ["a", "url"])
        XCTAssertEqual(pairs.map(\.value), ["b;c", "http://x"])
    }

    func testListSplitsAtSemicolons() {
        XCTAssertEqual(KVList.list(#"a;b\;c;;d"#), ["a", "b;c", "d"])
    }

    func testEmptyKeyWithValueIsKept() {
        XCTAssertEqual(KVList.parse("=x"), [KVItem(key: "", value: "x")])
    }
}
