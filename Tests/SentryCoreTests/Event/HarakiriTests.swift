import XCTest
@testable import SentryCore

final class HarakiriTests: XCTestCase {
    func testOneEventNamesTheRequestTheWorkerAndTheStuckLine() {
        var f = LoaderFrame(kind: .harakiri)
        f.wid = 1; f.pid = 4242; f.harakiriTry = 1; f.harakiriLimit = 3; f.nowMicros = 10_000_000
        f.cores = [LoaderFrame.Core(wid: 1, core: 0, pid: 4242, startMicros: 6_500_000, method: "GET", uri: "/items/42?card=4111111111111111",
                                    remote: "127.0.0.1")]
        var story = HarakiriStory(frame: f, now: 0)
        XCTAssertTrue(story.absorb("*** uWSGI Python tracebacker output ***"))
        XCTAssertTrue(story.absorb("thread_id = uWSGITraceBacker filename = /usr/lib/python3/threading.py lineno = 1 function = run line = x"))
        XCTAssertTrue(story.absorb("thread_id = MainThread filename = /app/wsgi.py lineno = 5 function = application line = return slow()"))
        XCTAssertTrue(story.absorb("thread_id = MainThread filename = /app/views.py lineno = 9 function = slow line = time.sleep(30)"))
        XCTAssertTrue(story.absorb("Wed Nov 25 20:44:25 2026 - HARAKIRI [core 0] 127.0.0.1 - GET /items/42 since 6"))
        XCTAssertFalse(story.absorb("DAMN ! worker 2 (pid: 99) died, killed by signal 9 :( trying respawn ..."), "another worker")
        XCTAssertTrue(story.absorb("DAMN ! worker 1 (pid: 4242) died, killed by signal 9 :( trying respawn ..."))
        let (e, _) = story.event(options: Options(), host: testHost, crumbs: [])
        XCTAssertEqual(e.level, .fatal)
        XCTAssertEqual(e.exception?.type, "Harakiri")
        XCTAssertEqual(e.exception?.value, "GET /items/42 ran 3.5 s, over harakiri = 3 s (worker 1, pid 4242)")
        XCTAssertEqual(e.exception?.frames.map(\.function), ["application", "slow"], "the stuck thread, oldest first")
        XCTAssertEqual(e.exception?.frames.last?.contextLine, "time.sleep(30)")
        XCTAssertEqual(e.mechanism, "uwsgi.harakiri")
        XCTAssertEqual(e.request?.url, "/items/42")
        XCTAssertEqual(e.scrubbed().request?.queryString, "card=[Filtered]")
        XCTAssertEqual(e.fingerprint, ["uwsgi-harakiri", "GET", "/items/<n>"], "one issue per endpoint")
        XCTAssertTrue(e.contexts.contains { $0.fields.contains(Field("then", "the worker was killed by SIGKILL")) })
    }

    func testGracefulOnlyWhereUWSGISaysSo() {
        var s = HarakiriStory(wid: 1, pid: 2, attempt: 1, at: 0)
        s.uwsgiVersion = "2.0.21-debian"
        XCTAssertNil(s.graceful)
        s.uwsgiVersion = "2.0.31"
        XCTAssertEqual(s.graceful, true)
        s.attempt = 2
        XCTAssertEqual(s.graceful, false)
    }

    func testAHostileSinceNeitherTrapsNorInventsATime() {
        // 18 digits of seconds, times a million microseconds, overflowed Int64 and trapped.
        var s = HarakiriStory(wid: 1, pid: 2, attempt: 1, at: 1_795_639_465)
        XCTAssertTrue(s.absorb("HARAKIRI [core 0] 127.0.0.1 - GET /x since 999999999999999999"))
        XCTAssertTrue(s.absorb("HARAKIRI [core 1] 127.0.0.1 - GET /y since 99999999999999999999999"))
        let (e, _) = s.event(options: Options(), host: testHost, crumbs: [])
        XCTAssertEqual(e.exception?.value, "GET /x (worker 1, pid 2)", "a start in the future is no running time")
    }
}
