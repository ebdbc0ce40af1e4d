import Glibc
import XCTest
@testable import SentryCore

final class IntakeTests: XCTestCase {
    /// An intake writing into a fresh spool, with what it hands on recorded.
    func intake(_ defaults: String = "dsn=http://0123456789abcdef@127.0.0.1:9/1") throws -> (Intake, Spool, () -> [String]) {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var queued: [String] = []
        let ledgers = Ledgers(state: StateDirectory(spool.path + "/state"), inMemory: true)
        let i = Intake(defaults: defaults, host: testHost, ledgers: ledgers, say: { _ in },
                       store: writing(to: spool) { queued.append($0) })
        return (i, spool, { queued })
    }

    func alarm(_ line: String, handedOff: Bool = false) -> LoaderFrame {
        var f = LoaderFrame(kind: .alarm)
        f.body = Array(line.utf8)
        f.handedOff = handedOff
        return f
    }

    func events(_ spool: Spool, _ names: [String]) throws -> [[String: Any]] {
        try names.compactMap { name -> [String: Any]? in
            let bytes = try XCTUnwrap(spool.read(try XCTUnwrap(spool.entries().first { $0.name == name })))
            let lines = bytes.split(separator: 10)
            guard lines.count >= 3 else { return nil }
            return try JSONSerialization.jsonObject(with: Data(lines[2])) as? [String: Any]
        }
    }

    func testBudgetDropsAreCountedInMemoryAndGoOutOnTheirOwnWhenNothingFollows() throws {
        let (intake, spool, queued) = try intake()
        let t0 = 1_000_000.0
        for n in 0..<15 { intake.handle(alarm("FOO storm line \(n)"), now: t0) }
        XCTAssertEqual(queued().count, 10, "the default budget: 10 per fingerprint per 60 s")
        XCTAssertTrue(intake.ledgers.of(testDSN).hasCounts, "the counts wait in memory, for an event to carry them")
        intake.tick(now: t0 + 1)
        intake.tick(now: t0 + 1 + Intake.reportDelay)
        XCTAssertEqual(queued().count, 11, "a carrier for the counts, since no event came")
        let carrier = try XCTUnwrap(spool.read(try XCTUnwrap(spool.entries().first { $0.name == queued().last })))
        XCTAssertTrue(Envelope.isReportCarrier(carrier))
        XCTAssertEqual(intake.ledgers.of(testDSN).take(), [Discard(reason: .backpressure, category: .default, quantity: 5)])
    }

    func testStoppingSavesPendingCountsAndSendsThem() throws {
        let (intake, spool, queued) = try intake()
        for n in 0..<12 { intake.handle(alarm("FOO line \(n)"), now: 10) }
        intake.tick(now: 10.5, force: true)
        XCTAssertEqual(queued().count, 11)
        let state = try XCTUnwrap(StateDirectory(spool.path + "/state"))
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [Discard(reason: .backpressure, category: .default, quantity: 2)],
                       "saved where the next daemon (or this one's carrier) takes them")
    }

    func testATallyCountsWhatTheLanesRefusedByCategory() throws {
        let (intake, _, queued) = try intake()
        var tally = LoaderFrame(kind: .tally)
        tally.dropped = 3
        tally.droppedErrors = 2
        intake.handle(tally, now: 100)
        XCTAssertEqual(queued(), [], "a tally is no event")
        XCTAssertEqual(intake.ledgers.of(testDSN).take(), [Discard(reason: .queueOverflow, category: .default, quantity: 3),
                                                           Discard(reason: .queueOverflow, category: .error, quantity: 2)])
    }

    func testARateLimitTheDispatcherLearnedDropsAtOnce() throws {
        let (intake, spool, queued) = try intake()
        intake.ledgers.of(testDSN).record([RateLimit(categories: ["default"], seconds: 60)], now: 100)
        intake.handle(alarm("FOO limited"), now: 101)
        XCTAssertEqual(queued(), [])
        XCTAssertEqual(spool.entries(), [], "Sentry asked us to back off, not to queue")
        XCTAssertEqual(intake.ledgers.of(testDSN).take(), [Discard(reason: .ratelimitBackoff, category: .default, quantity: 1)])
    }

    /// Without the loader, a harakiri's lines and its worker's death reach the daemon
    /// from senders that run at once: in any order they make ONE event.
    func testAHandedOffHarakiriIsOneEventInWhateverOrderItsLinesCome() throws {
        let first = "Wed Nov 25 20:44:25 2026 - *** HARAKIRI ON WORKER 1 (pid: 4242, try: 1) ***"
        let request = "Wed Nov 25 20:44:25 2026 - HARAKIRI [core 0] 10.1.2.3 - GET /items/42 since 1795639460"
        let death = "DAMN ! worker 1 (pid: 4242) died, killed by signal 9 :( trying respawn ..."
        for order in [[first, request, death], [request, first, death], [death, request, first], [request, death, first]] {
            let (intake, spool, queued) = try intake()
            for line in order { intake.handle(alarm(line, handedOff: true), now: 1_795_639_465) }
            intake.tick(now: 1_795_639_465.5)
            XCTAssertEqual(queued(), [], "told a moment after the death, with what was still on its way")
            intake.tick(now: 1_795_639_465 + HarakiriStories.settle)
            let sent = try events(spool, queued())
            XCTAssertEqual(sent.count, 1, "\(order)")
            let x = ((sent.first?["exception"] as? [String: Any])?["values"] as? [[String: Any]])?.first
            XCTAssertEqual(x?["type"] as? String, "Harakiri")
            XCTAssertEqual((x?["value"] as? String)?.hasPrefix("GET /items/42 ran 5.0 s (worker 1, pid 4242)"), true, "\(String(describing: x))")
            let uwsgi = (sent.first?["contexts"] as? [String: Any])?["uwsgi"] as? [String: String]
            XCTAssertEqual(uwsgi?["then"], "the worker was killed by SIGKILL", "\(order)")
        }
    }

    func testACapturedCrashIsOneEventWithUWSGIsBacktraceAndItsDeathInIt() throws {
        let (intake, spool, queued) = try intake()
        var crash = LoaderFrame(kind: .crash)
        crash.pid = 4242; crash.wid = 1; crash.signal = 11
        _ = crash.crash.take("registers", "rip=0x10")
        var death = LoaderFrame(kind: .death)
        death.pid = 4242; death.wid = 1; death.signal = 11
        intake.handle(crash, now: 100)
        intake.handle(alarm("*** backtrace of 4242 ***\nuwsgi(uwsgi_backtrace+0x2f) [0x55eb33a8d4df]\n*** end of backtrace ***\n"), now: 100.1)
        intake.handle(death, now: 100.2)
        intake.handle(alarm("DAMN ! worker 1 (pid: 4242) died, killed by signal 11 :( trying respawn ..."), now: 100.3)
        intake.tick(now: 100.5)
        XCTAssertEqual(queued(), [], "told a moment after the death")
        intake.tick(now: 100.2 + CrashStories.settle)
        let sent = try events(spool, queued())
        XCTAssertEqual(sent.count, 1)
        let x = ((sent.first?["exception"] as? [String: Any])?["values"] as? [[String: Any]])?.first
        XCTAssertEqual((x?["mechanism"] as? [String: Any])?["type"] as? String, "signalhandler")
        // Another worker's segfault, which the loader did not capture, is an event as before.
        intake.handle(alarm("*** backtrace of 77 ***\nuwsgi(uwsgi_backtrace+0x2f) [0x55eb33a8d4df]\n*** end of backtrace ***\n"), now: 101.3)
        XCTAssertEqual(try events(spool, queued()).count, 2)
    }

    func testAHandedOffSigkillNoHarakiriExplainsIsNewsAfterItsWait() throws {
        let (intake, spool, queued) = try intake()
        intake.handle(alarm("DAMN ! worker 2 (pid: 77) died, killed by signal 9 :( trying respawn ...", handedOff: true), now: 10)
        intake.tick(now: 10.5)
        XCTAssertEqual(queued(), [], "held a moment for a harakiri that may be on its way")
        intake.tick(now: 10 + Intake.storyWait)
        let sent = try events(spool, queued())
        XCTAssertEqual(sent.count, 1)
        XCTAssertNotNil((sent.first?["extra"] as? [String: Any])?["hint"], "the OOM killer hint")
    }

    func sessions(minute: Int, exited: Int) -> LoaderFrame {
        var f = LoaderFrame(kind: .sessions)
        f.sessionMinute = minute
        f.sessionCounts = [.exited: exited]
        return f
    }

    func testSessionsGoToTheSpoolOnlyWithARelease() throws {
        let now = 1_795_000_000.0
        let (without, _, queuedWithout) = try intake()
        without.handle(sessions(minute: Int(now) - 60, exited: 3), now: now)
        XCTAssertEqual(queuedWithout(), [], "Relay refuses sessions without a release")

        let (with, spool, queued) = try intake("dsn=http://0123456789abcdef@127.0.0.1:9/1,release=shop@1,environment=staging")
        with.handle(sessions(minute: Int(now) - 60, exited: 3), now: now)
        with.handle(sessions(minute: Int(now) - 6 * 86400, exited: 1), now: now)
        XCTAssertEqual(queued().count, 1, "one minute sent, the one older than Relay's 5 days not")
        XCTAssertEqual(with.ledgers.of(testDSN).take(), [Discard(reason: .queueOverflow, category: .session, quantity: 1)],
                       "what is not sent is counted, for a client report")
        let bytes = try XCTUnwrap(spool.read(try XCTUnwrap(spool.entries().first)))
        let lines = bytes.split(separator: 10).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertFalse(lines[0].contains("event_id"), "a sessions envelope has no event id")
        XCTAssertTrue(lines[1].hasPrefix(#"{"type":"sessions""#))
        XCTAssertTrue(lines[2].contains(#""exited":3}],"attrs":{"release":"shop@1","environment":"staging"}"#), lines[2])
    }

    func testLogRecordsAreBatchedIntoOneLogItemAndNoneWhenLogsAreOff() throws {
        let now = 1_795_000_000.0
        var line = LoaderFrame(kind: .log)
        line.body = Array("FOO hello\n".utf8)
        line.nowMicros = 1_795_000_000_000_000
        var request = LoaderFrame(kind: .request)
        request.method = "GET"; request.uri = "/x"; request.status = 500; request.nowMicros = 1_795_000_000_100_000
        request.request = Trace.Request(pid: 9, core: 0, startMicros: 1_795_000_000_000_000)

        let (off, _, queuedOff) = try intake()
        off.handle(line, now: now); off.handle(request, now: now); off.tick(now: now + 10, force: true)
        XCTAssertEqual(queuedOff(), [], "no logs= (sentry-logs off): no log item, ever")

        let (on, spool, queued) = try intake("dsn=http://0123456789abcdef@127.0.0.1:9/1,logs=info,release=shop@1")
        on.handle(line, now: now); on.handle(request, now: now)
        XCTAssertEqual(queued(), [], "records wait for their batch")
        on.tick(now: now + LogBatch.interval)
        XCTAssertEqual(queued().count, 1)
        let bytes = try XCTUnwrap(spool.read(try XCTUnwrap(spool.entries().first)))
        let lines = bytes.split(separator: 10).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertTrue(lines[1].contains(#""type":"log""#) && lines[1].contains(#""item_count":2"#), lines[1])
        XCTAssertTrue(lines[2].contains(#""body":"FOO hello""#) && lines[2].contains(#""body":"GET /x 500 in 100.0 ms""#), lines[2])
        XCTAssertTrue(lines[2].contains(#""sentry.release":{"value":"shop@1","type":"string"}"#), lines[2])
    }
}
