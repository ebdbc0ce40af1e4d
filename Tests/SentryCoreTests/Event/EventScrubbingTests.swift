import XCTest
@testable import SentryCore

final class EventScrubbingTests: XCTestCase {
    /// Builders keep what they were given; the one stage scrubs the finished event,
    /// and there is no way to write an event's JSON around it.
    func testTheFinishedEventIsScrubbedOnceWhereverItsPartsCameFrom() throws {
        var o = Options()
        o.extra = [Field("password", "hunter2"), Field("note", "card 4111 1111 1111 1111")]
        o.user = [Field("id", "42"), Field("session", "s3ss10n")]
        var packet = ExceptionPacket()
        packet.className = "builtins.ValueError"
        packet.message = "mail me@example.com"
        packet.vars = [Field("QUERY_STRING", "token=t0k&x=1"), Field("HTTP_COOKIE", "s=1"), Field("HTTP_USER_AGENT", "curl token=7"),
                       Field("REQUEST_METHOD", "GET"), Field("HTTP_SENTRY_TRACE", "4111111111111111aaaaaaaaaaaaaaaa-4111111111111111-1")]
        var (e, _) = Event.build(options: o, message: nil, host: testHost, packet: packet)
        e.breadcrumbs = [Breadcrumb(timestamp: 1, level: .info, category: "uwsgi.log", message: "login password=hunter2")]
        e.contexts = [NamedContext(name: "uwsgi", fields: [Field("api_key", "k")])]
        XCTAssertEqual(e.extra.first?.value, "hunter2", "the builder keeps what it was given")
        let json = String(decoding: e.json(), as: UTF8.self)
        for secret in ["hunter2", "4111 1111", "me@example.com", "t0k", "s=1", "\"k\"", "s3ss10n"] {
            XCTAssertFalse(json.contains(secret), secret)
        }
        XCTAssertTrue(json.contains("curl token=7"), "the User-Agent stays whole, as Sentry leaves it")
        XCTAssertTrue(json.contains("\"4111111111111111aaaaaaaaaaaaaaaa\""), "a trace id is no card number")
        XCTAssertTrue(json.contains("\"parent_span_id\":\"4111111111111111\""), "nor a span id")
        XCTAssertTrue(json.contains("mail [email]"), "a value keeps its words")
    }
}
