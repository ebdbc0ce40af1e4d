import XCTest
@testable import SentryCore

final class TroublesTests: XCTestCase {
    func build(_ line: String) -> Event { Event.build(options: Options(), message: line, host: testHost).0 }

    func testAWorkerDeathNamesItsSignalAndHintsAtTheOOMKiller() {
        let line = "DAMN ! worker 2 (pid: 4242) died, killed by signal 9 :( trying respawn ..."
        var e = build(line)
        let core = LoaderFrame.Core(wid: 2, core: 0, pid: 4242, startMicros: 1_000_000, method: "POST", uri: "/upload?token=x",
                                    remote: "10.0.0.1")
        Troubles.explain(&e, line: line, cores: [core], now: 4.5)
        XCTAssertEqual(e.message, "DAMN ! worker 2 (pid: 4242) died, killed by signal 9 (SIGKILL) :( trying respawn ...")
        XCTAssertEqual(e.fingerprint, ["DAMN ! worker <n> (pid: <n>) died, killed by signal <n> (SIGKILL) :( trying respawn ..."])
        XCTAssertTrue(e.tags.contains(Field("signal", "SIGKILL")))
        XCTAssertTrue(e.extra.contains { $0.name == "hint" && $0.value.contains("OOM killer") })
        XCTAssertEqual(e.request?.url, "/upload")
        XCTAssertEqual(e.scrubbed().request?.queryString, "token=[Filtered]")
        var h = build(line)
        Troubles.explain(&h, line: line, cores: nil, now: 0, harakiri: { $0 == 4242 })
        XCTAssertFalse(h.extra.contains { $0.name == "hint" }, "a harakiri explains this SIGKILL")
    }

    func testAFullListenQueueSaysWhatEveryWorkerWasDoing() {
        let line = #"*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!! (2/2) ***"#
        var e = build(line)
        let cores = [LoaderFrame.Core(wid: 1, core: 0, startMicros: 1_000_000, method: "GET", uri: "/report/17"),
                     LoaderFrame.Core(wid: 2, core: 0, startMicros: 2_000_000, method: "GET", uri: "/report/18?x=1")]
        Troubles.explain(&e, line: line, cores: cores, now: 5)
        let busy = e.contexts.first { $0.name == "uwsgi_workers" }?.fields
        XCTAssertEqual(busy, [Field("worker 1 core 0", "GET /report/<n> (running for 4.0 s)"),
                              Field("worker 2 core 0", "GET /report/<n> (running for 3.0 s)")])
        XCTAssertTrue(e.tags.contains(Field("busiest_endpoint", "GET /report/<n>")))
        var unknown = build(line)
        Troubles.explain(&unknown, line: line, cores: nil, now: 5)
        XCTAssertTrue(unknown.contexts.isEmpty, "without the loader nobody saw the workers: nothing is claimed")
    }

    func testTheDatePrefixGoes() {
        XCTAssertEqual(build("Wed Nov 25 20:44:25 2026 - something broke").message, "something broke")
    }
}
