import XCTest
@testable import SentryCore

final class CrashStoriesTests: XCTestCase {
    func crash(pid: Int) -> CrashStory {
        var f = LoaderFrame(kind: .crash)
        f.pid = pid
        f.signal = 11
        return CrashStory(frame: f)
    }

    func testADeathEndsTheStoryAMomentLater() {
        var s = CrashStories(wait: 5)
        s.begin(crash(pid: 7), now: 100)
        XCTAssertTrue(s.isCrash(pid: 7, now: 100))
        XCTAssertFalse(s.isCrash(pid: 8, now: 100))
        XCTAssertFalse(s.died(pid: 8, signal: 9, exit: nil, frame: nil, now: 100.5), "another worker's death is news")
        XCTAssertTrue(s.died(pid: 7, signal: 11, exit: nil, frame: nil, now: 100.5))
        XCTAssertEqual(s.nextDeadline, 101.5)
        XCTAssertEqual(s.due(now: 101.4, force: false).count, 0)
        let told = s.due(now: 101.5, force: false)
        XCTAssertEqual(told.count, 1)
        XCTAssertEqual(told[0].story.endedBy?.signal, 11)
        XCTAssertTrue(s.died(pid: 7, signal: 11, exit: nil, frame: nil, now: 102), "a late DAMN line of a told crash is still its own")
        XCTAssertFalse(s.died(pid: 7, signal: 11, exit: nil, frame: nil, now: 102 + CrashStories.memory))
    }

    func testWithoutADeathTheStoryIsToldAfterItsWait() {
        var s = CrashStories(wait: 5)
        s.begin(crash(pid: 7), now: 100)
        XCTAssertEqual(s.due(now: 104.9, force: false).count, 0)
        XCTAssertEqual(s.due(now: 105, force: false).count, 1)
        s.begin(crash(pid: 9), now: 200)
        XCTAssertEqual(s.due(now: 200, force: true).count, 1, "a stop tells what waits")
    }
}
