import XCTest
@testable import SentryCore

final class SystemTests: XCTestCase {
    func testRFC3339() {
        XCTAssertEqual(System.rfc3339(seconds: 0, milliseconds: 5), "1970-01-01T00:00:00.005Z")
        XCTAssertEqual(System.rfc3339(seconds: 1795553883, milliseconds: 343), "2026-11-24T20:58:03.343Z")
        XCTAssertEqual(System.rfc3339(seconds: 951_782_400, milliseconds: 0), "2000-02-29T00:00:00.000Z")
        XCTAssertEqual(System.rfc3339(seconds: 951_868_799, milliseconds: 999), "2000-02-29T23:59:59.999Z")
        XCTAssertEqual(System.rfc3339(seconds: 4_102_444_800, milliseconds: 0), "2100-01-01T00:00:00.000Z")
        XCTAssertEqual(System.rfc3339(seconds: 1_709_251_199, milliseconds: 0), "2024-02-29T23:59:59.000Z")
        XCTAssertEqual(System.rfc3339(seconds: -1, milliseconds: 0), "1969-12-31T23:59:59.000Z")
        XCTAssertEqual(System.rfc3339(seconds: 253_402_300_799, milliseconds: 999), "9999-12-31T23:59:59.999Z")
        // Beyond four digits of year or three of milliseconds: written as they are, not cut.
        XCTAssertEqual(System.rfc3339(seconds: 253_402_300_800, milliseconds: 0), "10000-01-01T00:00:00.000Z")
        XCTAssertEqual(System.rfc3339(seconds: 0, milliseconds: 1000), "1970-01-01T00:00:00.1000Z")
    }

    func testEventIDsAreRandomUUIDv4Hex() {
        let a = System.randomEventID(), b = System.randomEventID()
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.utf8.count, 32)
        XCTAssertTrue(a.utf8.allSatisfy { DSN.isHex($0) && !($0 >= 65 && $0 <= 70) })
        XCTAssertEqual(Array(a)[12], "4")
    }

    /// An id made from text is the same in every version (a frame read again by the
    /// next daemon makes the event Sentry already has): pinned, from a reference
    /// written apart from the code (Python, FNV-1a 64 with two seeds).
    func testEventIDsFromTextArePinned() {
        XCTAssertEqual(System.eventID(from: "span|42/0/1795645615000000"), "26797f82b94f47a69789407b25c84fd0")
        XCTAssertEqual(System.eventID(from: ""), "25232284e49c42cba49cf2cb25232284")
        XCTAssertEqual(System.eventID(from: "é🐍"), "73584fcebd334e52b2684ccd4075b299")
        XCTAssertEqual(System.hex([0, 1, 0xab, 0xff]), "0001abff")
    }
}
