import Glibc
import XCTest
@testable import SentryCore

final class DispatcherTests: XCTestCase {
    /// A DSN whose port nothing listens on: every transfer gets no answer.
    let refused = try! DSN(parsing: "http://0123456789abcdef@127.0.0.1:9/1")

    func dispatcher(_ spool: Spool, force: Bool = false) throws -> (Dispatcher, Ledgers) {
        var o = Options()
        o.spool = spool.path
        o.timeout = 2
        let ledgers = Ledgers(state: StateDirectory.forOptions(o), inMemory: false)
        let d = try XCTUnwrap(Dispatcher(spool: spool, options: o, ledgers: ledgers, say: { _ in }))
        d.force = force
        return (d, ledgers)
    }

    func spoolEvents(_ spool: Spool, _ n: Int, dsn: DSN?) {
        for i in 0..<n {
            let id = String(format: "%032x", i + 1)
            spool.write(Envelope.make(eventID: id, payload: Array("{}".utf8), dsn: dsn), eventID: id, category: .default)
        }
    }

    /// What the flush of issue 16 spun on: a pass that ignores due times meets a
    /// running limit. It holds the envelopes for later and the pass ends.
    func testAForcedPassHoldsWhatARateLimitCoversAndEnds() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        spoolEvents(spool, 3, dsn: refused)
        let (d, ledgers) = try dispatcher(spool, force: true)
        ledgers.of(refused).record([RateLimit(categories: [], seconds: 60)])
        d.rescan()
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 0)
        XCTAssertEqual(d.result.heldByLimit, 3)
        XCTAssertGreaterThan(d.result.limitWait, 59)
        XCTAssertEqual(spool.entries().count, 3, "kept for when the limit ends")
        XCTAssertNil(d.nextDue(now: StateDirectory.now()), "nothing left for this pass")
    }

    func testNoAnswerKeepsTheEnvelopeAndProbesOneAtATime() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        spoolEvents(spool, 3, dsn: refused)
        let (d, _) = try dispatcher(spool)
        d.rescan()
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 1, "a server never heard from yet is probed with one transfer")
        let deadline = System.monotonic() + 10
        while d.inFlightCount > 0 && System.monotonic() < deadline { _ = d.run(waitingOn: [], timeoutMs: 100) }
        XCTAssertTrue(d.result.unreachable)
        XCTAssertEqual(spool.entries().map(\.attempt).sorted(), [0, 0, 1], "the one tried is kept, due after its back-off")
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 0, "paused after no answer")
    }

    func testAnEnvelopeHandedOverWithItsProjectNeedsNoHeaderToBeSent() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        spoolEvents(spool, 1, dsn: nil)  // no `dsn` in its header
        let (d, _) = try dispatcher(spool)
        d.enqueue(try XCTUnwrap(spool.entries().first).name, dsn: refused)
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 1, "started: its project was known")
        let unknown = try XCTUnwrap(Spool(tempState("other").path))
        spoolEvents(unknown, 1, dsn: nil)
        let (other, _) = try dispatcher(unknown)
        other.rescan()
        other.startDue()
        XCTAssertEqual(other.inFlightCount, 0)
        XCTAssertEqual(unknown.entries(), [], "found in a spool without a project: not an envelope we can send")
    }
}
