import XCTest
@testable import SentryCore

final class SecondsTests: XCTestCase {
    func testOnlyFiniteNonNegativeDecimalsParse() {
        XCTAssertEqual(Seconds.parse("1.5"), 1.5)
        XCTAssertEqual(Seconds.parse(" 60 "), 60)
        XCTAssertEqual(Seconds.parse("1e3"), 1000)
        for bad in ["nan", "inf", "-1", "0x1p4", "1,5", "", "1e999"] { XCTAssertNil(Seconds.parse(bad), bad) }
        XCTAssertEqual(Seconds.parse("1e20"), Seconds.serverCap)
        XCTAssertEqual(Seconds.parse("5", cap: 2), 2)
    }

    func testWholeNeverTraps() {
        XCTAssertEqual(Seconds.whole(.nan), 0)
        XCTAssertEqual(Seconds.whole(.infinity), 1_000_000_000_000_000)
        XCTAssertEqual(Seconds.whole(-.infinity), -1_000_000_000_000_000)
        XCTAssertEqual(Seconds.whole(1_795_645_656_123.0), 1_795_645_656_123, "milliseconds of today fit")
        XCTAssertEqual(Seconds.whole(1.2), 2)
    }
}
