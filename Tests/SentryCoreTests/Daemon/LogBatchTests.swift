import XCTest
@testable import SentryCore

final class LogBatchTests: XCTestCase {
    func testAHundredToAnEnvelopeEveryFiveSecondsAThousandWaitingAtMost() {
        var b = LogBatch()
        let t0 = 1000.0
        XCTAssertNil(b.deadline)
        for i in 0..<99 { XCTAssertTrue(b.add([UInt8(i)], now: t0)) }
        XCTAssertEqual(b.deadline, t0 + LogBatch.interval)
        XCTAssertEqual(b.take(now: t0 + 1).count, 0, "not yet due")
        XCTAssertTrue(b.add([1], now: t0 + 1))
        XCTAssertEqual(b.deadline, t0, "a full envelope is due at once")
        XCTAssertEqual(b.take(now: t0 + 1).map(\.count), [100])
        XCTAssertNil(b.deadline)
        for _ in 0..<1000 { XCTAssertTrue(b.add([2], now: t0 + 2)) }
        XCTAssertFalse(b.add([3], now: t0 + 2), "at most 1,000 waiting: the caller counts the rest")
        XCTAssertEqual(b.take(now: t0 + 2).map(\.count), Array(repeating: 100, count: 10))
        XCTAssertTrue(b.add([4], now: t0 + 3))
        XCTAssertEqual(b.take(now: t0 + 3, force: true).map(\.count), [1], "force: what waits goes")
    }
}
