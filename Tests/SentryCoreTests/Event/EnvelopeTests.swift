import XCTest
@testable import SentryCore

final class EnvelopeTests: XCTestCase {
    func testFramingLengthIsBytes() throws {
        let payload = Array(#"{"event_id":"00","logentry":{"formatted":"héllo 🐍"}}"#.utf8)
        let dsn = try DSN(parsing: "http://pub:sec@h/1")
        let env = Envelope.make(eventID: "00", payload: payload, dsn: dsn, sentAt: "2026-01-01T00:00:00.000Z")
        let lines = env.split(separator: 10, omittingEmptySubsequences: false)
        XCTAssertEqual(String(decoding: lines[0], as: UTF8.self),
                       #"{"event_id":"00","sent_at":"2026-01-01T00:00:00.000Z","dsn":"http://pub@h/1"}"#)
        XCTAssertEqual(String(decoding: lines[1], as: UTF8.self),
                       #"{"type":"event","length":\#(payload.count),"content_type":"application/json"}"#)
        XCTAssertEqual(Array(lines[2]), payload)
        XCTAssertEqual(env.last, 10)
        XCTAssertNotEqual(payload.count, String(decoding: payload, as: UTF8.self).count)
    }

    func testNoDSNHeaderWithoutDSN() {
        let env = Envelope.make(eventID: "00", payload: [], dsn: nil, sentAt: "t")
        XCTAssertTrue(String(decoding: env, as: UTF8.self).hasPrefix(#"{"event_id":"00","sent_at":"t"}"#))
    }

    func testALogItemSaysItsCountAndContentType() throws {
        let e = Envelope.logs([Array(#"{"a":1}"#.utf8), Array(#"{"b":2}"#.utf8)], dsn: testDSN, sentAt: "2026-11-27T00:00:00.000Z")
        let lines = e.split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let payload = #"{"version":2,"ingest_settings":{"infer_ip":"never","infer_user_agent":"never"},"items":[{"a":1},{"b":2}]}"#
        XCTAssertEqual(lines[1], #"{"type":"log","length":\#(payload.utf8.count),"item_count":2,"content_type":"application/vnd.sentry.items.log+json"}"#)
        XCTAssertEqual(lines[2], payload)
        XCTAssertFalse(lines[0].contains("event_id"))
    }
}
