import CurlHTTP
import XCTest
@testable import SentryCore

/// The one delivery path: what each answer leaves behind for later envelopes.
final class SenderTests: XCTestCase {
    func raw(_ status: Int, _ headers: String = "") -> Result<RawResponse, TransferError> {
        .success(RawResponse(status: status, headerBytes: Array(headers.utf8), bodyBytes: []))
    }

    func testReportsRideAlongUntilAccepted() {
        let sender = Sender(dsn: testDSN, options: Options(), state: tempState())
        sender.count(.backpressure, .default, quantity: 4)
        let a = sender.attempt(Array("env\n".utf8), category: .default)
        XCTAssertTrue(String(decoding: a.request.body, as: UTF8.self).contains(#""quantity":4"#))
        _ = sender.settle(a, .failure(.network("refused")), kept: true)
        let b = sender.attempt(Array("env\n".utf8), category: .default)
        XCTAssertTrue(String(decoding: b.request.body, as: UTF8.self).contains(#""quantity":4"#), "given back after no answer")
        _ = sender.settle(b, raw(200), kept: true)
        XCTAssertEqual(sender.attempt(Array("env\n".utf8), category: .default).request.body, Array("env\n".utf8))
    }

    /// A 429 is Sentry's own outcome (it counts what it refuses); what we hold back
    /// under its limit is ours to count.
    func testEachOutcomeIsCountedOnce() {
        let state = tempState()
        let sender = Sender(dsn: testDSN, options: Options(), state: state)
        _ = sender.settle(sender.attempt([], category: .error), raw(429), kept: false)
        _ = sender.settle(sender.attempt([], category: .error), raw(413), kept: false)
        _ = sender.settle(sender.attempt([], category: .default), .failure(.network("x")), kept: false)
        _ = sender.settle(sender.attempt([], category: .default), .failure(.network("x")), kept: true)
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state),
                       [Discard(reason: .sendError, category: .error, quantity: 1),
                        Discard(reason: .networkError, category: .default, quantity: 1)])
    }

    func testLimitsFromEveryAnswerAreRemembered() {
        let sender = Sender(dsn: testDSN, options: Options(), state: tempState())
        _ = sender.settle(sender.attempt([], category: .default), raw(200, "X-Sentry-Rate-Limits: 100:error:key\r\n"), kept: true, now: 1000)
        XCTAssertEqual(sender.blocked(.error, now: 1010), 90)
        XCTAssertNil(sender.blocked(.default, now: 1010))
    }

    func testWhatIsSaidHasNoKeyAndNoControlCharacters() throws {
        let dsn = try DSN(parsing: "http://publickey123:secret456@127.0.0.1:9/1")
        let sender = Sender(dsn: dsn, options: Options(), state: nil)
        let line = sender.describe(Transport.classify(raw(403, "X-Sentry-Error: bad key publickey123 secret456\r\n")), eventID: "e")
        XCTAssertEqual(line, "event e rejected by http://127.0.0.1:9: HTTP 403: bad key publ**** ****")
    }
}
