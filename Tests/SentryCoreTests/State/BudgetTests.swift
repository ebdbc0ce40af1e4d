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

    func testEndedWindowsAreSweptAtMostHourly() {
        let state = tempState()
        let t0 = StateDirectory.now()
        for key in ["a", "b", "c"] { _ = Budget.allow(key: key, dsn: testDSN, count: 5, seconds: 60, in: state, now: t0) }
        let files = { state.names().filter { $0.hasPrefix(Budget.prefix) && $0 != Budget.sweepMarker } }
        XCTAssertEqual(files().count, 3)
        // The first allow swept (nothing to remove) and left its marker: no sweep within the hour.
        _ = Budget.allow(key: "d", dsn: testDSN, count: 5, seconds: 60, in: state, now: t0 + 120)
        XCTAssertEqual(files().count, 4, "a sweep at most once an hour")
        // An hour later the ended windows go; a live one stays.
        let later = t0 + 3700
        unlink(state.file(Budget.sweepMarker))
        _ = Budget.allow(key: "live", dsn: testDSN, count: 5, seconds: 60, in: state, now: later)
        XCTAssertEqual(files().count, 1, "only the window that has not ended is left")
    }
}
