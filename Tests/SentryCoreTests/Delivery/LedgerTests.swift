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

    func testAOneShotLedgerWritesThrough() {
        let state = tempState()
        Ledger(dsn: testDSN, state: state).count(.backpressure, .error)
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [Discard(reason: .backpressure, category: .error, quantity: 1)])
    }
}
