import XCTest
@testable import SentryCore

final class HarakiriStoriesTests: XCTestCase {
    func testARequestLineBeforeItsHarakiriIsAdoptedNotASecondStory() {
        var stories = HarakiriStories(wait: 5)
        var orphan = HarakiriStory(wid: nil, pid: nil, attempt: 1, at: 100)
        XCTAssertTrue(orphan.absorb("HARAKIRI [core 0] 10.0.0.1 - GET /slow since 95"))
        stories.begin(orphan, options: "", crumbs: [], now: 100)
        stories.begin(HarakiriStory(wid: 2, pid: 77, attempt: 1, at: 100), options: "", crumbs: [], now: 100.1)
        XCTAssertEqual(stories.waiting.count, 1)
        XCTAssertEqual(stories.waiting.first?.story.wid, 2)
        XCTAssertEqual(stories.waiting.first?.story.cores.first?.uri, "/slow")
        XCTAssertTrue(stories.isHarakiri(pid: 77))
    }

    func testADeathEndsItsStoryAMomentLaterAndAHeldDeathJoinsALateHarakiri() {
        var stories = HarakiriStories(wait: 5)
        var death = LoaderFrame(kind: .alarm)
        death.body = Array("DAMN ! worker 2 (pid: 77) died, killed by signal 9 :( trying respawn ...".utf8)
        XCTAssertFalse(stories.died(pid: 77, signal: 9, now: 100), "no harakiri known yet: news, unless held")
        stories.hold(death, pid: 77, now: 100)
        stories.begin(HarakiriStory(wid: 2, pid: 77, attempt: 1, at: 100), options: "", crumbs: [], now: 100.2)
        XCTAssertEqual(stories.waiting.first?.story.killedBy, 9, "the held death joined the story")
        XCTAssertEqual(stories.due(now: 100.5, force: false).count, 0, "lines may still be on their way")
        XCTAssertEqual(stories.due(now: 100.2 + HarakiriStories.settle, force: false).count, 1)
        XCTAssertEqual(stories.released(now: 200, force: false).count, 0, "the held death was the story's, not news")
    }

    func testAStoryWhoseWorkerNeverDiesIsToldAtItsDeadline() {
        var stories = HarakiriStories(wait: 5)
        stories.begin(HarakiriStory(wid: 1, pid: 9, attempt: 1, at: 10), options: "logger=x", crumbs: [], now: 10)
        XCTAssertEqual(stories.nextDeadline, 15)
        XCTAssertEqual(stories.due(now: 14, force: false).count, 0)
        XCTAssertEqual(stories.due(now: 15, force: false).first?.options, "logger=x")
    }
}
