import XCTest
@testable import SentryCore

final class LogRecordTests: XCTestCase {
    func testLevelsAreTheProtocolsNamesAndTheOptionTakesWarning() {
        XCTAssertEqual(LogLevel.allCases.map(\.name), ["trace", "debug", "info", "warn", "error", "fatal"])
        XCTAssertEqual(LogLevel(option: "WARNING"), .warn)
        XCTAssertEqual(LogLevel(option: "warn"), .warn)
        XCTAssertNil(LogLevel(option: "critical"))
    }

    func testUWSGIsOwnLinesGetTheirLevelFromTheirText() {
        XCTAssertEqual(LogLevel.of(line: "!!! uWSGI process 12 got Segmentation Fault !!!"), .fatal)
        XCTAssertEqual(LogLevel.of(line: "DAMN ! worker 1 (pid: 4942) died :( trying respawn ..."), .error)
        XCTAssertEqual(LogLevel.of(line: "*** HARAKIRI ON WORKER 1 (pid: 77, try: 1) ***"), .error)
        XCTAssertEqual(LogLevel.of(line: "Traceback (most recent call last):"), .error)
        XCTAssertEqual(LogLevel.of(line: "*** WARNING: you are running uWSGI as root !!! (use the --uid flag) ***"), .warn)
        XCTAssertEqual(LogLevel.of(line: "current working directory: /srv/test_warning_app"), .info, "a word in a path is not a level")
        XCTAssertEqual(LogLevel.of(line: "spawned uWSGI worker 1 (pid: 12, cores: 1)"), .info)
    }

    func testOurOwnLinesAndUWSGIsTextRequestLinesNeverBecomeRecords() {
        XCTAssertTrue(LogRecord.skipped(line: "[sentry] reporting exceptions\n"))
        XCTAssertTrue(LogRecord.skipped(line: "Fri Nov 27 17:10:00 2026 - [sentry] daemon started\n"))
        XCTAssertTrue(LogRecord.skipped(line: "uwsgi-sentry: warning: something\n"))
        XCTAssertTrue(LogRecord.skipped(line: "[pid: 12|app: 0|req: 1/1] 127.0.0.1 () {34 vars in 380 bytes} [Fri Nov 27] GET / => generated 3 bytes in 0 msecs (HTTP/1.1 200)\n"))
        XCTAssertTrue(LogRecord.skipped(line: " \n"))
        XCTAssertFalse(LogRecord.skipped(line: "FOO something the app said\n"))
    }

    func request(status: Int, uri: String, crashed: Bool = false) -> LoaderFrame {
        var f = LoaderFrame(kind: .request)
        f.method = "GET"; f.uri = uri; f.status = status; f.responseSize = 3; f.crashed = crashed; f.wid = 2
        f.remote = "10.0.0.9"; f.nowMicros = 1_795_000_000_012_345
        f.request = Trace.Request(pid: 77, core: 0, startMicros: 1_795_000_000_000_000)
        return f
    }

    func attributes(_ r: LogRecord) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in r.attributes {
            switch v {
            case .string(let s): out[k] = s
            case .integer(let n): out[k] = String(n)
            case .double(let d): out[k] = String(d)
            case .boolean(let b): out[k] = String(b)
            }
        }
        return out
    }

    func testARequestIsAStructuredRecordWithItsTraceAndTheQueryScrubbed() throws {
        let r = try XCTUnwrap(LogRecord.request(request(status: 503, uri: "/pay?card=4111111111111111&x=1"), options: Options()))
        XCTAssertEqual(r.level, .error)
        XCTAssertEqual(r.body, "GET /pay 503 in 12.3 ms")
        let a = attributes(r)
        XCTAssertEqual(a["http.request.method"], "GET")
        XCTAssertEqual(a["url.path"], "/pay")
        XCTAssertEqual(a["http.response.status_code"], "503")
        XCTAssertFalse(a["url.query"]!.contains("4111111111111111"), a["url.query"]!)
        XCTAssertNil(a["client.address"], "only with send_default_pii")
        XCTAssertEqual(r.trace, Trace.of(sentryTrace: nil, traceparent: nil, request: Trace.Request(pid: 77, core: 0, startMicros: 1_795_000_000_000_000)),
                       "the trace its error events have")
        var pii = Options()
        pii.sendDefaultPII = true
        XCTAssertEqual(attributes(try XCTUnwrap(LogRecord.request(request(status: 404, uri: "/x"), options: pii)))["client.address"], "10.0.0.9")
        XCTAssertEqual(try XCTUnwrap(LogRecord.request(request(status: 404, uri: "/x"), options: Options())).level, .warn)
        XCTAssertEqual(try XCTUnwrap(LogRecord.request(request(status: 200, uri: "/x", crashed: true), options: Options())).level, .error)
    }

    func testTheJSONIsRelaysOurLogWithTypedAttributesAndTheCommonOnesOnce() throws {
        var r = LogRecord(timestamp: 1_795_000_000.5, trace: Trace.of(sentryTrace: "0123456789abcdef0123456789abcdef-89abcdef01234567-1",
                                                                         traceparent: nil, request: nil),
                          level: .warn, body: "careful", attributes: [("n", .integer(3)), ("ok", .boolean(true)), ("d", .double(0.25))])
        r.identify(Trace.Request(pid: 5, core: 1, startMicros: 9))
        let common = LogRecord.common(release: "shop@1", environment: "production", serverName: "web1")
        let json = String(decoding: r.json(common: common), as: UTF8.self)
        XCTAssertTrue(json.hasPrefix(#"{"timestamp":1795000000.500000,"trace_id":"0123456789abcdef0123456789abcdef","span_id":""#), json)
        XCTAssertTrue(json.contains(#""level":"warn","body":"careful","attributes":{"n":{"value":3,"type":"integer"},"ok":{"value":true,"type":"boolean"},"d":{"value":0.250000,"type":"double"},"uwsgi.pid":{"value":5,"type":"integer"},"uwsgi.core":{"value":1,"type":"integer"},"sentry.origin":{"value":"auto.log.uwsgi","type":"string"}"#), json)
        XCTAssertTrue(json.hasSuffix(#""sentry.release":{"value":"shop@1","type":"string"}}}"#), json)
    }

    func testHostileTimesNeitherOverflowNorTrap() throws {
        var f = request(status: 200, uri: "/x")
        f.nowMicros = Int64.min + 1  // minus a positive start: an Int64 difference would overflow
        let r = try XCTUnwrap(LogRecord.request(f, options: Options()))
        XCTAssertEqual(r.body, "GET /x 200", "no duration from times that cannot be")
        XCTAssertNil(attributes(r)["http.server.request.duration"])
        f.nowMicros = Int64.max
        XCTAssertNotNil(LogRecord.request(f, options: Options())?.json())
    }
}
