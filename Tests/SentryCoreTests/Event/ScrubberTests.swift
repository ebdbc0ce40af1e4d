import XCTest
@testable import SentryCore

/// Vectors read off Relay's own scrubber (sentry_relay.pii_strip_event with a
/// project's default settings); e2e/test_conformance.py runs that scrubber on
/// every kind of event we produce and expects it to find nothing left to change.
final class ScrubberTests: XCTestCase {
    func testMessagesKeepTheirWordsButNotTheirSecrets() {
        XCTAssertEqual(Scrubber.message("card 4111 1111 1111 1111 and Authorization: Bearer abc.def token=x"),
                       "card [creditcard] and Authorization: Bearer [token] token=x")
        XCTAssertEqual(Scrubber.message("mail me@example.com ssn 078-05-1120 iban DE89370400440532013000."),
                       "mail [email] ssn [us-ssn] iban [iban].")
        XCTAssertEqual(Scrubber.message("GET /auth/login password=x"), "GET /auth/login password=x", "Sentry keeps these in a message")
        XCTAssertEqual(Scrubber.message("41111111111111111 4111-1111-1111-1111x"), "41111111111111111 4111-1111-1111-1111x",
                       "17 digits, or a word character after: no card")
    }

    func testFieldsAreFilteredByNameOrByValue() {
        XCTAssertEqual(Scrubber.field(name: "X-Api-Token", "abc"), "[Filtered]")
        XCTAssertEqual(Scrubber.field(name: "Referer", "http://h/?token=abc"), "[Filtered]")
        XCTAssertEqual(Scrubber.field(name: "note", "GET /author/5 HTTP/1.1"), "[Filtered]", "Relay's pattern matches 'auth' anywhere")
        XCTAssertEqual(Scrubber.field(name: "note", "x 4111111111111111 y"), "x [Filtered] y")
        XCTAssertEqual(Scrubber.field(name: "dsn_like", "ok"), "[Filtered]")
        XCTAssertEqual(Scrubber.field(name: "db", "mysql://user:pw@db/x"), "mysql://user:[Filtered]@db/x")
        XCTAssertEqual(Scrubber.field(name: "x", "Bearer abc"), "[Filtered]")
        XCTAssertEqual(Scrubber.field(name: "key", "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----"),
                       "-----BEGIN RSA PRIVATE KEY-----\n[Filtered]\n-----END RSA PRIVATE KEY-----")
        XCTAssertEqual(Scrubber.field(name: "REMOTE_ADDR", "127.0.0.1"), "127.0.0.1")
        XCTAssertEqual(Scrubber.field(name: "otp", "1"), "[Filtered]")
    }

    func testQueryPairsAreDecodedBeforeTheyAreJudged() {
        XCTAssertEqual(Scrubber.query("a=1&cc=4111%201111%201111%201111&token=x&b"), "a=1&cc=[Filtered]&token=[Filtered]&b")
        XCTAssertEqual(Scrubber.query("next=%2Fauthor%2F5"), "next=[Filtered]")
        XCTAssertEqual(Scrubber.query(""), "")
    }

    func testHostileTextNeverTraps() {
        for s in ["@", "@@", "a@", "@b.c", "Bearer", "Bearer ", "-----BEGIN PRIVATE KEY-----", "//:@", "DE00", "\u{0}\u{FFFD}4111",
                  String(repeating: "4", count: 10_000), String(repeating: "a@b.", count: 1000) + "com"] {
            _ = Scrubber.message(s)
            _ = Scrubber.field(name: s, s)
            _ = Scrubber.query(s)
        }
    }

    /// The quick look only ever skips text the full rules leave unchanged: random text
    /// built from the pieces the rules look for, compared with the full path.
    func testQuickLookNeverSkipsWhatTheRulesWouldChange() {
        let pieces = ["4", "1", "0", "7", "-", " ", "@", ".", ":", "//", "=", "DE", "GB", "89", "x", "ex", "com", "Bearer", "bearer",
                      "token", "auth", "passw", "secret", "-----BEGIN", " KEY-----", "\n", "otp", "API", "_key", "\t", "a", "Z",
                      "078-05-1120", "4111 1111 1111 1111", "378282246310005", "370400440532013000"]
        var rng = SystemRandomNumberGenerator()
        var skipped = 0
        for _ in 0..<30_000 {
            let text = (0..<Int.random(in: 1...24, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            if Scrubber.cannotMatch(text, asField: false) {
                skipped += 1
                XCTAssertEqual(Scrubber.scrubMessage(text), text, "message skipped but the rules change it: \(text)")
            }
            if Scrubber.cannotMatch(text, asField: true) {
                XCTAssertEqual(Scrubber.scrubField(text), text, "field skipped but the rules change it: \(text)")
            }
        }
        XCTAssertGreaterThan(skipped, 1000, "the quick look must skip ordinary text, or it buys nothing")
        XCTAssertTrue(Scrubber.cannotMatch("Wed Nov 25 23:23:17 2026 - spawned uWSGI worker 1 (pid: 4242, cores: 1)", asField: true))
    }

    /// The names that mean a credential, by the rule as it reads (a lowercase copy, a
    /// search per word): the one-pass matcher must agree on every name.
    func testSecretNamesAsTheRuleReads() {
        func rule(_ name: String) -> Bool {
            let n = name.asciiLowercased()
            let words = ["token", "auth", "cookie", "secret", "passw", "pwd", "session", "csrf", "credential", "signature",
                         "api_key", "apikey", "api-key", "private", "dsn"]
            if words.contains(where: { n.find($0) != nil }) { return true }
            if n == "otp" || n == "two_factor" || n == "two-factor" { return true }
            return n.hasSuffix("_key") || n.hasSuffix("-key")
        }
        let names = ["password", "PASSWORD", "db_Passwd", "secret_token", "x-api-key", "API_KEY", "apikey", "Authorization",
                     "HTTP_COOKIE", "sessionid", "csrftoken", "credentials", "signature", "private_key", "SENTRY_DSN", "otp",
                     "OTP", "two-factor", "Two_Factor", "ssh_key", "ssh-key", "key", "_key", "keys", "amount", "customer", "tags",
                     "e", "", "tok", "toke", "tokens", "dsnx", "pw", "pwd", "a-b-c", "café_token", "naïve", "passwörd", "o",
                     "my_session", "authorization_header", "otpx", "two_factors", "K_E_Y"]
        for name in names { XCTAssertEqual(Scrubber.keyIsSecret(name), rule(name), name) }
    }

    /// A name's answer is remembered, never confused with another name's (more names
    /// than slots, so slots are shared), and a long name is worked out every time.
    func testSecretNamesRemembered() {
        let memo = SecretNames()
        var worked = 0
        func ask(_ name: String) -> Bool {
            var name = name
            return name.withUTF8 { memo.answer($0) { worked += 1; return Scrubber.keyIsSecretWorkedOut($0) } }
        }
        let names = (0..<2_000).map { i in i % 3 == 0 ? "api_key_\(i)" : "customer_\(i)" } + ["token", "amount", "", "é🐍"]
        for name in names { XCTAssertEqual(ask(name), Scrubber.keyIsSecret(name), name) }
        XCTAssertEqual(worked, names.count)
        worked = 0
        XCTAssertEqual(ask("amount"), false)
        XCTAssertEqual(ask("amount"), false)
        XCTAssertEqual(worked, 0, "asked again: remembered")
        for name in names { XCTAssertEqual(ask(name), Scrubber.keyIsSecret(name), name) }
        let long = String(repeating: "x", count: SecretNames.maxName + 1) + "password"
        worked = 0
        XCTAssertTrue(ask(long)); XCTAssertTrue(ask(long))
        XCTAssertEqual(worked, 2)
    }
}
