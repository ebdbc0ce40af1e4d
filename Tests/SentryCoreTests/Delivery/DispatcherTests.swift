import Glibc
import XCTest
@testable import SentryCore

final class DispatcherTests: XCTestCase {
    /// A DSN whose port nothing listens on: every transfer gets no answer.
    let refused = try! DSN(parsing: "http://0123456789abcdef@127.0.0.1:9/1")

    /// `inMemory`: the daemon's ledgers, else flush's.
    func dispatcher(_ spool: Spool, force: Bool = false, inMemory: Bool = false,
                    said: @escaping (String) -> Void = { _ in }) throws -> (Dispatcher, Ledgers) {
        var o = Options()
        o.spool = spool.path
        o.timeout = 2
        let ledgers = Ledgers(state: StateDirectory.forOptions(o), inMemory: inMemory)
        let d = try XCTUnwrap(Dispatcher(spool: spool, options: o, ledgers: ledgers, say: said))
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

    /// Issue 24: a monitor's check-ins go one after another, oldest first, whatever the
    /// concurrency; other monitors and other envelopes still go in parallel.
    func testASequenceGoesOneAtATimeOthersInParallel() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let at = StateDirectory.now()
        for slug in ["a", "b"] {
            for n in 0..<3 {
                spool.write(Envelope.make(eventID: "\(slug)\(n)", payload: [], dsn: refused), eventID: "\(slug)\(n)", category: .monitor,
                            orderKey: SpoolEntry.orderKey(slug), at: at)
            }
        }
        spool.write(Envelope.make(eventID: "old", payload: [], dsn: refused), eventID: "old", category: .monitor, at: at)  // 0.3.0's
        spoolEvents(spool, 3, dsn: refused)
        let (d, _) = try dispatcher(spool, force: true)
        d.rescan()
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 1, "a server never heard from is probed with one")
        d.probing = false  // as after its first answer
        d.startDue()
        let going = d.inFlightNames.compactMap(SpoolEntry.init(name:))
        XCTAssertEqual(going.count, 6, "the oldest of a, of b, of 0.3.0's check-ins, and the 3 events")
        XCTAssertEqual(Set(going.compactMap(\.sequence)).count, 3, "one of each sequence")
        XCTAssertEqual(going.filter { $0.category == .monitor }.map(\.eventID).sorted(), ["a0", "b0", "old"])
    }

    /// An older check-in in back-off holds back the newer one that is due now.
    func testAnOlderEnvelopeNotYetDueHoldsBackItsSequence() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let key = SpoolEntry.orderKey("job")
        let first = try XCTUnwrap(spool.write([1], eventID: "first", category: .monitor, orderKey: key))
        spool.write(Envelope.make(eventID: "second", payload: [], dsn: refused), eventID: "second", category: .monitor, orderKey: key)
        let claimed = try XCTUnwrap(spool.claim(try XCTUnwrap(SpoolEntry(name: first))))
        spool.release(claimed: claimed, try XCTUnwrap(SpoolEntry(name: first)), failed: true, due: StateDirectory.now() + 60)
        let (d, _) = try dispatcher(spool)
        d.rescan()
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 0, "the in_progress waits: so does its ok")
        let next = try XCTUnwrap(d.nextDue(now: StateDirectory.now()))
        XCTAssertGreaterThan(next, StateDirectory.now() + 50, "next is the older one's due time")
    }

    /// Issue 24: when the spool will not take an envelope it is sent from memory,
    /// bounded; the refusal is said once; what is held at a stop is counted.
    func testWhatTheSpoolRefusesIsSentFromMemoryBoundedAndSaidOnce() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var said: [String] = []
        let (d, ledgers) = try dispatcher(spool, inMemory: true, said: { said.append($0) })
        // The directory is gone and a file is in its place: it cannot be made again.
        XCTAssertEqual(rmdir(spool.path + "/state"), 0)
        XCTAssertEqual(rmdir(spool.path), 0)
        let blocker = open(spool.path, O_WRONLY | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(blocker, 0)
        close(blocker)
        defer { unlink(spool.path) }
        let envelopes = (0..<3).map { Envelope.make(eventID: "e\($0)", payload: Array("{}".utf8), dsn: refused) }
        for (n, envelope) in envelopes.enumerated() { XCTAssertTrue(d.store(envelope, eventID: "e\(n)", category: .error, dsn: refused)) }
        XCTAssertEqual(d.heldCount, 3)
        XCTAssertEqual(d.heldBytes, envelopes.reduce(0) { $0 + $1.count })
        XCTAssertEqual(said.count, 1, "said once, not per envelope: \(said)")
        XCTAssertTrue(said[0].contains("refuses envelopes") && said[0].contains("memory"), said[0])
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 1, "sent from memory")
        let big = [UInt8](repeating: 65, count: Dispatcher.heldMaxBytes - d.heldBytes + 1)
        XCTAssertFalse(d.store(big, eventID: "big", category: .error, dsn: refused), "past the bound: the caller counts it")
        XCTAssertEqual(d.abandonHeld(), 3)
        XCTAssertEqual(ledgers.of(refused).take().first { $0.reason == .queueOverflow }?.quantity, 3)
    }

    /// The daemon's path: a new event goes to the journal, not a spool file of its own,
    /// and is sent from memory; once Sentry gives no answer, what waits is in the spool
    /// proper (within its bounds), and so is what comes next; a stop spills the rest.
    func testAJournaledEnvelopeIsSentFromMemoryAndAnOutageMovesWhatWaitsToTheSpool() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let (d, _) = try dispatcher(spool, inMemory: true)
        d.journal = try XCTUnwrap(Journal(spool.dir))
        func store(_ i: Int) {
            let id = String(format: "%032x", i + 1)
            XCTAssertTrue(d.store(Envelope.make(eventID: id, payload: Array("{}".utf8), dsn: refused), eventID: id, category: .error, dsn: refused))
        }
        store(0); store(1)
        XCTAssertEqual(spool.entries(), [], "no spool file per event")
        XCTAssertEqual(d.journal?.pending, 2)
        d.startDue()
        XCTAssertEqual(d.inFlightCount, 1)
        let deadline = System.monotonic() + 10
        while d.inFlightCount > 0 && System.monotonic() < deadline { _ = d.run(waitingOn: [], timeoutMs: 100) }
        XCTAssertEqual(spool.entries().map(\.attempt).sorted(), [0, 1], "no answer: the one tried and the one waiting are spool files")
        XCTAssertEqual(d.journal?.pending, 0)
        store(2)
        XCTAssertEqual(spool.entries().count, 3, "while Sentry is out, a new event is a spool file")
        d.spillJournal()
        XCTAssertFalse(spool.dir.names().contains { $0.hasPrefix(".journal-") }, "a stop leaves no journal")
    }

    func testAStopSpillsWhatWaitsInTheJournal() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let (d, _) = try dispatcher(spool, inMemory: true)
        d.journal = try XCTUnwrap(Journal(spool.dir))
        let id = String(format: "%032x", 7)
        XCTAssertTrue(d.store(Envelope.make(eventID: id, payload: Array("{}".utf8), dsn: refused), eventID: id, category: .error, dsn: refused))
        XCTAssertTrue(spool.dir.names().contains { $0.hasPrefix(".journal-") })
        d.spillJournal()
        XCTAssertEqual(spool.entries().map(\.eventID), [id])
        XCTAssertFalse(spool.dir.names().contains { $0.hasPrefix(".journal-") })
    }
}
