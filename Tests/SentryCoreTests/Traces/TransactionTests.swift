import Foundation
import XCTest
@testable import SentryCore

final class TransactionTests: XCTestCase {
    func frame(status: Int = 200, start: Int64 = 1_796_000_000_000_000, end: Int64 = 1_796_000_000_012_500,
               vars: [(String, String)] = [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/pay?card=4111111111111111&a=1"),
                                           ("QUERY_STRING", "card=4111111111111111&a=1"), ("HTTP_HOST", "shop"),
                                           ("HTTP_COOKIE", "sessionid=s3cr3t"), ("HTTP_X_REQUEST_START", "t=1795999999.900")])
        -> LoaderFrame {
        var f = LoaderFrame(kind: .transaction)
        f.request = Trace.Request(pid: 10, core: 0, startMicros: start)
        f.endMicros = end
        f.status = status
        f.responseSize = 3
        f.wid = 1
        f.vars = vars.map { Field($0.0, $0.1) }
        f.sampleRate = "0.5"
        f.sampleRand = "0.250000"
        f.randFrom = "ours"
        return f
    }

    func json(_ t: Transaction) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(t.json())) as? [String: Any])
    }

    func transaction(_ f: LoaderFrame, routes: RouteNames? = nil) -> Transaction? {
        Transaction.of(f, routes: routes, options: Options(), publicKey: "k", release: nil, environment: "production", serverName: "web1")
    }

    func testARequestAsSentryPythonSendsOneScrubbedWithItsQueueTime() throws {
        let t = try XCTUnwrap(transaction(frame()))
        let j = try json(t)
        XCTAssertEqual(j["type"] as? String, "transaction")
        XCTAssertEqual(j["transaction"] as? String, "/pay")
        XCTAssertEqual((j["transaction_info"] as? [String: String])?["source"], "url")
        XCTAssertEqual(j["start_timestamp"] as? Double, 1_796_000_000.0)
        XCTAssertEqual(j["timestamp"] as? Double, 1_796_000_000.0125)
        let trace = try XCTUnwrap((j["contexts"] as? [String: Any])?["trace"] as? [String: Any])
        XCTAssertEqual(trace["span_id"] as? String, Trace.of(sentryTrace: nil, traceparent: nil, request: frame().request).spanID,
                       "the request's own span: its errors and log records point at it")
        let data = try XCTUnwrap(trace["data"] as? [String: Any])
        XCTAssertEqual(data["http.request.method"] as? String, "POST")
        XCTAssertEqual(data["http.response.status_code"] as? Int, 200)
        XCTAssertEqual(data["http.server.request.time_in_queue"] as? Double, 100)
        let request = try XCTUnwrap(j["request"] as? [String: Any])
        XCTAssertEqual(request["url"] as? String, "http://shop/pay")
        XCTAssertFalse(String(decoding: t.json(), as: UTF8.self).contains("4111111111111111"), "the query scrubbed")
        XCTAssertFalse(String(decoding: t.json(), as: UTF8.self).contains("s3cr3t"), "the cookie filtered")
    }

    func testAnOperatorsRouteNamesItAndGoesIntoTheSamplingContext() throws {
        let t = try XCTUnwrap(transaction(frame(), routes: RouteNames(["^/pay$ checkout"])))
        XCTAssertEqual(t.name, "checkout")
        XCTAssertEqual(t.source, .route)
        XCTAssertEqual(t.sampling?.entries.last(named: "transaction"), "checkout")
        let header = String(decoding: t.envelope(dsn: testDSN).prefix { $0 != 10 }, as: UTF8.self)
        XCTAssertTrue(header.contains(#""sample_rate":"0.5""#) && header.contains(#""sample_rand":"0.250000""#), header)
    }

    func testAnExceptionIsAnInternalErrorWhateverItAnswered() {
        var f = frame(status: 200)
        f.crashed = true
        XCTAssertEqual(transaction(f)?.status, .internalError)
        XCTAssertEqual(transaction(frame(status: 404))?.status, .notFound)
    }

    func testHostileTimesMakeNoTransaction() {
        XCTAssertNil(transaction(frame(end: 1_795_999_999_000_000)), "an end before its start")
        XCTAssertNil(transaction(frame(start: 0)), "no start")
        XCTAssertNil(transaction(frame(start: 1, end: Int64.max)))
        var f = frame()
        f.endMicros = nil
        XCTAssertNil(transaction(f))
    }
}
