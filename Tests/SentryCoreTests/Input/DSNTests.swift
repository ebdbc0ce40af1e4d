import XCTest
@testable import SentryCore

final class DSNTests: XCTestCase {
    func testKeyOnly() throws {
        let d = try DSN(parsing: "https://abc123@o1.ingest.sentry.io/42")
        XCTAssertEqual(d.publicKey, "abc123"); XCTAssertNil(d.secretKey)
        XCTAssertEqual(d.envelopeURL, "https://o1.ingest.sentry.io/api/42/envelope/")
        XCTAssertEqual(d.authHeader(client: "c/1"), "X-Sentry-Auth: Sentry sentry_version=7, sentry_client=c/1, sentry_key=abc123")
    }

    func testKeyAndSecret() throws {
        let d = try DSN(parsing: "http://pub:sec@example.com/1")
        XCTAssertEqual(d.secretKey, "sec")
        XCTAssertTrue(d.authHeader(client: "c/1").hasSuffix("sentry_key=pub, sentry_secret=sec"))
        XCTAssertEqual(d.publicDSN, "http://pub@example.com/1")
        XCTAssertFalse(d.masked.contains("sec"))
    }

    func testPortPrefixAndTrailingSlash() throws {
        let d = try DSN(parsing: "https://k@host:9000/some/prefix/42/")
        XCTAssertEqual(d.port, 9000)
        XCTAssertEqual(d.envelopeURL, "https://host:9000/some/prefix/api/42/envelope/")
    }

    func testIPv6() throws {
        let d = try DSN(parsing: "http://k@[::1]:8000/3")
        XCTAssertEqual(d.host, "[::1]")
        XCTAssertEqual(d.envelopeURL, "http://[::1]:8000/api/3/envelope/")
        XCTAssertEqual(try DSN(parsing: "http://k@[::1]/3").port, nil)
    }

    func testSchemeIsCaseInsensitive() throws {
        XCTAssertEqual(try DSN(parsing: "HTTPS://k@h/1").scheme, "https")
    }

    func testRejects() {
        let bad = [
            "", "k@h/1", "ftp://k@h/1", "http://h/1", "http://@h/1", "http://k@/1", "http://k@h",
            "http://k@h/", "http://k@h/abc", "http://k@h:0/1", "http://k@h:70000/1", "http://k@h:x/1",
            "http://k@[::1/1", "http://k@[zz]/1", "http://k\r\nX-Evil: 1@h/1", "http://k@h/1\r\nX: y",
            "http://k e y@h/1", "http://k@h/1?x=1", "http://k:s\"@h/1", "http://k@h/pre fix/1", "http://k@h/1#f",
        ]
        for text in bad {
            XCTAssertThrowsError(try DSN(parsing: text), text)
        }
    }

    func testErrorsMaskTheKey() {
        do {
            _ = try DSN(parsing: "http://0123456789abcdef:supersecret@host:bad/1")
            XCTFail("parsed")
        } catch let e as DSN.ParseError {
            XCTAssertFalse(e.description.contains("0123456789abcdef"), e.description)
            XCTAssertFalse(e.description.contains("supersecret"), e.description)
            XCTAssertTrue(e.description.contains("0123****"), e.description)
        } catch { XCTFail("\(error)") }
    }
}
