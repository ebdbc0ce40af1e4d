import XCTest
@testable import SentryCore

final class LedgerTests: XCTestCase {
    func testTheDaemonsLedgerSharesInMemoryAndSavesWhenAsked() {
        let state = tempState()
        let ledgers = Ledgers(state: state, inMemory: true)
        let intakeSide = ledgers.of(testDSN), dispatcherSide = ledgers.of(testDSN)
        XCTAssertTrue(intakeSide === dispatcherSide, "one ledger per project")
        intakeSide.count(.backpressure, .default, quantity: 4)
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [], "nothing went through a file")
        dispatcherSide.record([RateLimit(categories: ["error"], seconds: 30)], now: 100)
        XCTAssertEqual(intakeSide.blocked("error", now: 110), 20)
        XCTAssertNotNil(Ledger(dsn: testDSN, state: state, now: 110).blocked("error", now: 110), "a limit is written through for others")
        ledgers.save()
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [Discard(reason: .backpressure, category: .default, quantity: 4)])
    }

    func testTakeGathersWhatOtherProcessesLeftAndGiveBackKeepsIt() {
        let state = tempState()
        ClientReport.record(.networkError, category: .monitor, dsn: testDSN, in: state)
        let l = Ledger(dsn: testDSN, state: state, inMemory: true)
        l.count(.queueOverflow, .error, quantity: 2)
        let taken = l.take()
        XCTAssertEqual(taken, [Discard(reason: .queueOverflow, category: .error, quantity: 2),
                               Discard(reason: .networkError, category: .monitor, quantity: 1)])
        XCTAssertFalse(l.hasCounts)
        l.giveBack(taken)
        XCTAssertEqual(l.take(), taken, "an envelope that did not get through gives its counts back")
    }

    func testTheDaemonLooksOnDiskForOthersCountsAtMostOnceASecond() {
        let state = tempState()
        let l = Ledger(dsn: testDSN, state: state, inMemory: true)
        XCTAssertEqual(l.take(now: 100), [])
        ClientReport.record(.networkError, category: .monitor, dsn: testDSN, in: state)  // a cmd: sender's
        XCTAssertEqual(l.take(now: 100.5), [], "looked half a second ago")
        XCTAssertEqual(l.take(now: 101), [Discard(reason: .networkError, category: .monitor, quantity: 1)])
        // A one-shot process (flush) looks every time.
        ClientReport.record(.networkError, category: .monitor, dsn: testDSN, in: state)
        let once = Ledger(dsn: testDSN, state: state)
        XCTAssertEqual(once.take(now: 100), [Discard(reason: .networkError, category: .monitor, quantity: 1)])
        ClientReport.record(.networkError, category: .monitor, dsn: testDSN, in: state)
        XCTAssertEqual(once.take(now: 100), [Discard(reason: .networkError, category: .monitor, quantity: 1)])
    }

    func testAOneShotLedgerWritesThrough() {
        let state = tempState()
        Ledger(dsn: testDSN, state: state).count(.backpressure, .error)
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [Discard(reason: .backpressure, category: .error, quantity: 1)])
    }
}
