import XCTest
@testable import SentryCore

final class QueueTimeTests: XCTestCase {
    let start = 1_796_000_000.5

    func testTheFormsSentryRubyAccepts() {
        XCTAssertEqual(QueueTime.millis(header: "t=1796000000.250", start: start), 250)  // nginx ${msec}
        XCTAssertEqual(QueueTime.millis(header: "1796000000.250", start: start), 250)
        XCTAssertEqual(QueueTime.millis(header: "t=1796000000250", start: start), 250)  // milliseconds
        XCTAssertEqual(QueueTime.millis(header: "t=1796000000250000", start: start), 250)  // microseconds
        XCTAssertEqual(QueueTime.millis(header: " t=1796000000.4995 ", start: start), 0.5)
    }

    func testNothingForTheFutureTheAbsurdOrTheMalformed() {
        for header in [nil, "", "t=", "t=1796000001", "t=1795990000", "t=-5", "t=1e9", "t=abc", "t=1.2.3", "t=0x10",
                       "t=nan", "t=inf", String(repeating: "9", count: 400), "t=0"] {
            XCTAssertNil(QueueTime.millis(header: header, start: start), String(describing: header))
        }
    }
}
