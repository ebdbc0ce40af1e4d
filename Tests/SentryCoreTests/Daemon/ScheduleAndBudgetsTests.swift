import XCTest
@testable import SentryCore

final class BudgetsTests: XCTestCase {
    func testAWindowPerKeyAndAFreshOneWhenItEnds() {
        var b = Budgets()
        XCTAssertEqual((0..<5).map { _ in b.allow("a", count: 3, seconds: 60, now: 0) }, [true, true, true, false, false])
        XCTAssertTrue(b.allow("b", count: 3, seconds: 60, now: 0), "another fingerprint, another window")
        XCTAssertTrue(b.allow("a", count: 3, seconds: 60, now: 60), "the window ended")
        XCTAssertTrue((0..<100).allSatisfy { _ in b.allow("a", count: 0, seconds: 60, now: 61) }, "0: no budget")
    }
}

final class ReportScheduleTests: XCTestCase {
    func testDueOnceDelayAfterTheFirstCountAndAllAtAStop() {
        var r = ReportSchedule(delay: 10)
        r.note(testDSN, now: 100)
        r.note(testDSN, now: 105)
        XCTAssertEqual(r.next, 110, "from the first count on")
        XCTAssertEqual(r.take(now: 109, force: false).count, 0)
        XCTAssertEqual(r.take(now: 110, force: false).map(\.publicKey), [testDSN.publicKey])
        XCTAssertNil(r.next)
        r.note(testDSN, now: 200)
        XCTAssertEqual(r.take(now: 200, force: true).count, 1)
    }
}

final class OptionCacheTests: XCTestCase {
    func testDefaultsThenTheFramesOwnAndEachWarningOnce() {
        var said: [String] = []
        let cache = OptionCache(defaults: "logger=inst,tags=a:1", say: { said.append($0) })
        XCTAssertEqual(cache.options("").logger, "inst")
        XCTAssertEqual(cache.options("logger=frame").logger, "frame", "the frame's own options win")
        _ = cache.options("levle=x")
        _ = cache.options("levle=x,logger=y")
        XCTAssertEqual(said.filter { $0.contains("levle") }.count, 1, "said once, whatever the frame")
        var o = Options()
        XCTAssertNil(cache.dsn(o))
        o.dsn = "not a dsn"
        XCTAssertNil(cache.dsn(o))
        o.dsn = "http://k@127.0.0.1:9/1"
        XCTAssertTrue(cache.dsn(o)?.publicKey == "k")
        XCTAssertEqual(said.filter { $0.hasPrefix("events dropped") }.count, 2)
    }
}
