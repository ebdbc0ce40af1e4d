import Glibc
import XCTest
@testable import SentryCore

final class ClientReportTests: XCTestCase {
    func testCountsAccumulateAndAreTakenOnce() {
        let state = tempState()
        ClientReport.record(.backpressure, category: "default", dsn: testDSN, in: state)
        ClientReport.record(.backpressure, category: "default", quantity: 2, dsn: testDSN, in: state)
        ClientReport.record(.ratelimitBackoff, category: "error", dsn: testDSN, in: state)
        let taken = ClientReport.take(dsn: testDSN, in: state)
        XCTAssertEqual(taken, [Discard(reason: .backpressure, category: "default", quantity: 3),
                               Discard(reason: .ratelimitBackoff, category: "error", quantity: 1)])
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [])
        ClientReport.restore(taken, dsn: testDSN, in: state)
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), taken)
    }

    func testItemFraming() {
        let item = ClientReport.item([Discard(reason: .backpressure, category: "default", quantity: 3)], timestamp: "t")
        let lines = item.split(separator: 10)
        let payload = #"{"timestamp":"t","discarded_events":[{"reason":"backpressure","category":"default","quantity":3}]}"#
        XCTAssertEqual(String(decoding: lines[0], as: UTF8.self), #"{"type":"client_report","length":\#(payload.utf8.count)}"#)
        XCTAssertEqual(String(decoding: lines[1], as: UTF8.self), payload)
    }
}
