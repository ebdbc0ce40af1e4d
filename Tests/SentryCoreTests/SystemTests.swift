import XCTest
@testable import SentryCore

final class SystemTests: XCTestCase {
    func testRFC3339() {
        XCTAssertEqual(System.rfc3339(seconds: 0, milliseconds: 5), "1970-01-01T00:00:00.005Z")
        XCTAssertEqual(System.rfc3339(seconds: 1795553883, milliseconds: 343), "2026-11-24T20:58:03.343Z")
    }

    func testEventIDsAreRandomUUIDv4Hex() {
        let a = System.randomEventID(), b = System.randomEventID()
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.utf8.count, 32)
        XCTAssertTrue(a.utf8.allSatisfy { DSN.isHex($0) && !($0 >= 65 && $0 <= 70) })
        XCTAssertEqual(Array(a)[12], "4")
    }
}
