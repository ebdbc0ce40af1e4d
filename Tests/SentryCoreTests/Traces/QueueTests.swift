import XCTest
@testable import SentryCore

final class QueueTests: XCTestCase {
    func body(_ parent: String?, start: Double = 1_796_000_000, end: Double = 1_796_000_001.5) -> JSONValue {
        var members: [(String, JSONValue)] = [("task", .string("uwsgi_spoolfile_on_vm_1")), ("function", .string("charge_card")),
                                              ("spooler", .string("/var/spool")), ("start", .number(start)), ("end", .number(end)),
                                              ("status", .string("internal_error")), ("pid", .number(7))]
        if let parent { members.append(("parent", .string(parent))) }
        return .object(members)
    }

    func testATaskContinuesTheTraceOfTheRequestThatSpooledIt() throws {
        let up = "4bf92f3577b34da6a3ce929d0e0e4736"
        let (t, decision) = try XCTUnwrap(Transaction.task(body("12 0 1796000000000000\t\(up)-00f067aa0ba902b7-1\t"), rate: "0",
                                                           publicKey: "k", release: nil, environment: "production", serverName: "web1"))
        let request = Trace.of(sentryTrace: "\(up)-00f067aa0ba902b7-1", traceparent: nil,
                               request: Trace.Request(pid: 12, core: 0, startMicros: 1_796_000_000_000_000))
        XCTAssertEqual(t.trace.traceID, up)
        XCTAssertEqual(t.trace.parentSpanID, request.spanID, "a child of the request's span")
        XCTAssertTrue(decision.sampled, "the upstream's -1, whatever the rate")
        XCTAssertEqual([t.op, t.name, t.source.rawValue, t.status.rawValue], ["queue.process", "charge_card", "task", "internal_error"])
        XCTAssertEqual(t.data.last(named: "messaging.message.id"), "uwsgi_spoolfile_on_vm_1")
    }

    func testWithoutARequestATraceOfItsOwnAndHostileTimesNone() throws {
        let (t, _) = try XCTUnwrap(Transaction.task(body(nil), rate: "1", publicKey: "k", release: nil, environment: "e", serverName: "s"))
        XCTAssertNil(t.trace.parentSpanID)
        XCTAssertNil(Transaction.task(body(nil, end: 1), rate: "1", publicKey: "k", release: nil, environment: "e", serverName: "s"))
        XCTAssertNil(Transaction.task(body("x y z\t\t", start: -5), rate: "1", publicKey: "k", release: nil, environment: "e", serverName: "s"))
        XCTAssertNotNil(Transaction.task(body("garbage\tnot-a-trace\t"), rate: "1", publicKey: "k", release: nil, environment: "e", serverName: "s"))
    }
}
