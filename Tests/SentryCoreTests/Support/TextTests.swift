import XCTest
@testable import SentryCore

final class TextTests: XCTestCase {
    func testFindIsByteWise() {
        let s = "e\u{301}worker died"  // a combining mark before the match
        XCTAssertNotNil(s.find("worker"))
        XCTAssertEqual(s.find("worker").map { String(s[$0]) }, "worker")
        XCTAssertNil("abc".find("abd"))
        XCTAssertNil("abc".find(""))
    }

    func testReplacingAll() {
        XCTAssertEqual("key=0123 and 0123".replacingAll("0123", with: "01**"), "key=01** and 01**")
        XCTAssertEqual("nothing".replacingAll("zz", with: "y"), "nothing")
        XCTAssertEqual("aaa".replacingAll("aa", with: "b"), "ba")
    }
}
