import Glibc
import XCTest
@testable import SentryCore

final class BudgetTests: XCTestCase {
    func testCountPerWindowPerKey() {
        let state = tempState()
        let allow = { (key: String, now: Double) in Budget.allow(key: key, dsn: testDSN, count: 2, seconds: 60, in: state, now: now) }
        XCTAssertTrue(allow("a", 100)); XCTAssertTrue(allow("a", 101)); XCTAssertFalse(allow("a", 102))
        XCTAssertTrue(allow("b", 102), "another fingerprint has its own budget")
        XCTAssertTrue(allow("a", 161), "a new window")
        XCTAssertTrue(Budget.allow(key: "a", dsn: testDSN, count: 0, seconds: 60, in: state), "0 = no limit")
    }

    func testKeyIsTheGroupingKey() {
        let a = Event.build(options: Options(), message: "DAMN ! worker 1 (pid: 2) died", host: testHost).0
        let b = Event.build(options: Options(), message: "DAMN ! worker 3 (pid: 9) died", host: testHost).0
        XCTAssertEqual(Budget.key(a), Budget.key(b))
    }
}
