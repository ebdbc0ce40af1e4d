import Glibc
import XCTest
@testable import SentryCore

final class IntakeTests: XCTestCase {
    /// An intake writing into a fresh spool, with what it hands on recorded.
    func intake(_ defaults: String = "dsn=http://0123456789abcdef@127.0.0.1:9/1") throws -> (Intake, Spool, () -> [String]) {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var queued: [String] = []
        let i = Intake(spool: spool, defaults: defaults, host: testHost, say: { _ in }, enqueue: { queued.append($0) })
        return (i, spool, { queued })
    }

    func alarm(_ line: String) -> LoaderFrame {
        var f = LoaderFrame(kind: .alarm)
        f.body = Array(line.utf8)
        return f
    }

    func testBudgetDropsAreCountedAndGoOutOnTheirOwnWhenNothingFollows() throws {
        let (intake, spool, queued) = try intake()
        let t0 = 1_000_000.0
        for n in 0..<15 { intake.handle(alarm("FOO storm line \(n)"), now: t0) }
        XCTAssertEqual(queued().count, 10, "the default budget: 10 per fingerprint per 60 s")
        intake.tick(now: t0 + 1)
        let state = try XCTUnwrap(StateDirectory(spool.path + "/state"))
        // Pending in the state directory, not yet sent: the next event may carry them.
        intake.tick(now: t0 + 5)
        XCTAssertEqual(queued().count, 10)
        intake.tick(now: t0 + 1 + Intake.reportDelay)
        XCTAssertEqual(queued().count, 11, "a carrier for the counts, since no event came")
        let carrier = try XCTUnwrap(spool.read(try XCTUnwrap(spool.entries().first { $0.name == queued().last })))
        XCTAssertTrue(Envelope.isReportCarrier(carrier))
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [Discard(reason: .backpressure, category: .default, quantity: 5)])
    }

    func testStoppingSendsPendingCountsAtOnce() throws {
        let (intake, _, queued) = try intake()
        for n in 0..<12 { intake.handle(alarm("FOO line \(n)"), now: 10) }
        intake.tick(now: 10.5, force: true)
        XCTAssertEqual(queued().count, 11)
    }

    func testCarrierIsAHeaderOnly() {
        let carrier = Envelope.reportCarrier(dsn: testDSN)
        XCTAssertTrue(Envelope.isReportCarrier(carrier))
        XCTAssertEqual(carrier.filter { $0 == 10 }.count, 1)
        let event = Envelope.make(eventID: "0123456789abcdef0123456789abcdef", payload: Array("{}".utf8), dsn: testDSN)
        XCTAssertFalse(Envelope.isReportCarrier(event))
        XCTAssertFalse(Envelope.isReportCarrier(Envelope.checkIn(payload: Array("{}".utf8), dsn: testDSN)))
    }
}
