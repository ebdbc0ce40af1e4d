import XCTest
@testable import SentryCore

final class TraceTests: XCTestCase {
    let id = "771a43a4192642f0b136d5159a501700"
    let span = "b0e6f15b45c36b12"
    let request = Trace.Request(pid: 7, core: 1, startMicros: 1_795_553_883_123_456)

    func testTheIncomingTraceIsKeptAndItsSpanBecomesTheParent() {
        for (sentry, parent) in [("\(id)-\(span)", nil), ("\(id)-\(span)-1", nil), (nil, "00-\(id)-\(span)-01"),
                                 (" \(id)-\(span)-0 ", nil), (nil, "00-\(id.uppercased())-\(span)-00")] as [(String?, String?)] {
            let t = Trace.of(sentryTrace: sentry, traceparent: parent, request: request)
            XCTAssertEqual(t.traceID, id, "\(String(describing: sentry)) \(String(describing: parent))")
            XCTAssertEqual(t.parentSpanID, span)
            XCTAssertNotEqual(t.spanID, span, "the request's own span")
        }
        XCTAssertEqual(Trace.of(sentryTrace: "\(id)-\(span)-1", traceparent: nil, request: nil).sampled, true)
        XCTAssertEqual(Trace.of(sentryTrace: nil, traceparent: "00-\(id)-\(span)-00", request: nil).sampled, false)
        let both = Trace.of(sentryTrace: "\(id)-\(span)", traceparent: "00-\(String(repeating: "a", count: 32))-\(span)-01", request: nil)
        XCTAssertEqual(both.traceID, id, "sentry-trace first, as Sentry's SDKs read them")
    }

    func testMalformedHeadersAreNotTrusted() {
        let bad = ["", "-", "\(id)", "\(id)-\(span)-2", "\(id)-\(span)-1-1", "\(id.dropLast())-\(span)", "\(id)-\(span)x",
                   String(repeating: "0", count: 32) + "-\(span)", "\(id)-" + String(repeating: "0", count: 16), "\(id.uppercased())-\(span)",
                   "ÿ\(id.dropFirst())-\(span)"]
        for h in bad {
            let t = Trace.of(sentryTrace: h, traceparent: nil, request: request)
            XCTAssertNotEqual(t.traceID, id, h)
            XCTAssertNil(t.parentSpanID, h)
        }
        for h in ["ff-\(id)-\(span)-01", "00-\(id)-\(span)-01-extra", "0-\(id)-\(span)-01", "00-\(id)-\(span)-zz", "00-\(id)-\(span)"] {
            XCTAssertNil(Trace.of(sentryTrace: nil, traceparent: h, request: request).parentSpanID, h)
        }
        XCTAssertEqual(Trace.of(sentryTrace: nil, traceparent: "01-\(id)-\(span)-01-later", request: nil).traceID, id,
                       "a later version may add fields")
    }

    /// Every event of one request has one trace and span, wherever it was built; another
    /// request has another.
    func testARequestsOwnTraceIsDerivedFromWhoServedItSinceWhen() {
        let a = Trace.of(sentryTrace: nil, traceparent: nil, request: request)
        XCTAssertEqual(a, Trace.of(sentryTrace: nil, traceparent: nil, request: request))
        XCTAssertTrue(Trace.isID(a.traceID, 32) && Trace.isID(a.spanID, 16))
        var next = request
        next.startMicros += 1
        XCTAssertNotEqual(a.traceID, Trace.of(sentryTrace: nil, traceparent: nil, request: next).traceID)
        XCTAssertNotEqual(Trace.of(sentryTrace: nil, traceparent: nil, request: nil).traceID,
                          Trace.of(sentryTrace: nil, traceparent: nil, request: nil).traceID, "no request: a fresh one")
    }
}
