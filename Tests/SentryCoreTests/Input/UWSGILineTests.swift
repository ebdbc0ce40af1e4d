import XCTest
@testable import SentryCore

final class UWSGILineTests: XCTestCase {
    func testTheLinesUWSGIWrites() {
        XCTAssertEqual(UWSGILine.parse("DAMN ! worker 2 (pid: 4242) died, killed by signal 9 :( trying respawn ..."),
                       .workerDeath(wid: 2, pid: 4242, signal: 9))
        XCTAssertEqual(UWSGILine.parse("DAMN ! worker 1 (pid: 7) died :( trying respawn ..."), .workerDeath(wid: 1, pid: 7, signal: nil))
        XCTAssertEqual(UWSGILine.parse("DAMN ! worker 3 (pid: 8) MISTERIOUSLY killed by signal 11 :( trying respawn ..."),
                       .workerDeath(wid: 3, pid: 8, signal: 11))
        XCTAssertEqual(UWSGILine.parse("Wed Nov 25 20:44:25 2026 - *** HARAKIRI ON WORKER 1 (pid: 4242, try: 2, graceful: no) ***"),
                       .harakiri(wid: 1, pid: 4242, attempt: 2))
        XCTAssertEqual(UWSGILine.parse("Wed Nov 25 20:44:25 2026 - HARAKIRI [core 0] 127.0.0.1 - GET /slow?x=1 since 1795639564"),
                       .harakiriCore(core: 0, remote: "127.0.0.1", method: "GET", uri: "/slow?x=1", since: 1_795_639_564))
        XCTAssertEqual(UWSGILine.parse(#"*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!! (2/2) ***"#),
                       .listenQueueFull(socket: "127.0.0.1:8000"))
        var f = StackFrame(filename: "/app/views.py", lineno: 12)
        f.function = "slow"; f.contextLine = "time.sleep(9)"
        XCTAssertEqual(UWSGILine.parse("thread_id = MainThread filename = /app/views.py lineno = 12 function = slow line = time.sleep(9)"),
                       .tracebackerFrame(thread: "MainThread", frame: f))
        XCTAssertNil(UWSGILine.parse("FOO bar"))
    }

    func testHostileLinesNeverTrap() {
        for s in ["DAMN ! worker ", "DAMN ! worker 99999999999999999999999 (pid: 99999999999999999999999)", "HARAKIRI [core ",
                  "HARAKIRI [core 1] - since", "thread_id = ", "thread_id =  filename = x lineno = function = ",
                  // found by the frame fuzzer: " since " before " - " (a Range with its bounds reversed, a trap)
                  "HARAKIRI [core 0] 127.0.s$ since 17 TE- G /slow"] {
            _ = UWSGILine.parse(s)
        }
    }

    func testSignalNames() {
        XCTAssertEqual(UWSGILine.signalName(9), "SIGKILL")
        XCTAssertEqual(UWSGILine.signalName(11), "SIGSEGV")
        XCTAssertEqual(UWSGILine.signalName(6), "SIGABRT")
        XCTAssertEqual(UWSGILine.signalName(40), "SIGRTMIN+6")
        XCTAssertEqual(UWSGILine.signalName(200), "signal 200")
    }
}
