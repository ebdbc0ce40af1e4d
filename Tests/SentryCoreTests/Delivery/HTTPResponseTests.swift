import CurlHTTP
import XCTest
@testable import SentryCore

final class HTTPResponseTests: XCTestCase {
    func testLastBlockWinsAfterAnInterimAnswer() {
        let raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nX-Sentry-Rate-Limits: 3::key\r\n\r\n"
        let r = HTTPResponse(RawResponse(status: 429, headerBytes: Array(raw.utf8), bodyBytes: []))
        XCTAssertEqual(r.headers, [Field("retry-after", "7"), Field("x-sentry-rate-limits", "3::key")])
    }

    func testHostileHeaderBytesNeverCrash() {
        let raw: [UInt8] = [0xff, 0x3a, 0x0d, 0x0a, 0x3a, 0x3a, 0x0a, 0x0a, 0x48, 0x54, 0x54, 0x50, 0x2f] + Array(repeating: 0x3a, count: 100)
        let r = HTTPResponse(RawResponse(status: 200, headerBytes: raw, bodyBytes: [0xc3, 0x28]))
        XCTAssertEqual(r.body, "\u{FFFD}(")
        _ = Transport.reason(r)
    }

    func testReasonIsOnePrintableLine() {
        let r = response(500, [("x-sentry-error", "bad\r\nX-Injected: 1\u{1b}[31m")])
        XCTAssertEqual(Transport.reason(r), "bad  X-Injected: 1?[31m")
        XCTAssertEqual(Transport.reason(response(400, [], body: #"{"detail":"event \"id\" missing"}"#)), #"event "id" missing"#)
        XCTAssertEqual(Transport.reason(response(404, [("content-type", "Text/HTML; charset=utf-8")], body: "<html>")),
                       "the server answered with an HTML page: is the DSN pointing at Sentry?")
    }

    func testClassification() {
        func outcome(_ status: Int, _ headers: [(String, String)] = [], body: String = "", cut: Bool = false) -> Outcome {
            var raw = ""
            for (k, v) in headers { raw += "\(k): \(v)\r\n" }
            return Transport.classify(.success(RawResponse(status: status, headerBytes: Array(raw.utf8), bodyBytes: Array(body.utf8), bodyCut: cut)))
        }
        for status in [200, 201, 202, 204] { guard case .accepted = outcome(status) else { return XCTFail("\(status)") } }
        for status in [301, 302, 401, 403, 413, 500, 503, 600, 999] { guard case .rejected = outcome(status) else { return XCTFail("\(status)") } }
        guard case .rejected = outcome(200, [("Content-Type", "text/html")], body: "\n<!DOCTYPE html><html>") else { return XCTFail("HTML") }
        guard case .accepted = outcome(200, [("Content-Type", "text/html; charset=utf-8")]) else {
            return XCTFail("an empty text/html 200 is Bugsink taking an envelope without an event")
        }
        guard case .rateLimited(_, let s) = outcome(429, [("Retry-After", "inf")]), s == 60 else { return XCTFail("429") }
        guard case .accepted = outcome(200, cut: true) else { return XCTFail("a body cut at 1 MiB is still an answer") }
        guard case .noAnswer = Transport.classify(.failure(.network("reset"))) else { return XCTFail("network") }
        guard case .localFailure = Transport.classify(.failure(.setup("no"))) else { return XCTFail("setup") }
    }
}
