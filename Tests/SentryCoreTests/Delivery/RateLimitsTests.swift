import Glibc
import XCTest
@testable import SentryCore

final class RateLimitsTests: XCTestCase {
    func testParsesCategoriesAndScopes() {
        XCTAssertEqual(RateLimits.parse("60:transaction:key, 2700:default;error;security:organization"),
                       [RateLimit(categories: ["transaction"], seconds: 60),
                        RateLimit(categories: ["default", "error", "security"], seconds: 2700)])
        XCTAssertEqual(RateLimits.parse("60::key"), [RateLimit(categories: [], seconds: 60)])
        XCTAssertEqual(RateLimits.parse("garbage, :x"), [])
    }

    func testHeaderElseRetryAfterElseSixtySeconds() {
        func r(_ status: Int, _ headers: [(String, String)]) -> HTTPResponse { response(status, headers) }
        XCTAssertEqual(RateLimits.from(r(429, [("x-sentry-rate-limits", "30:error:key")])), [RateLimit(categories: ["error"], seconds: 30)])
        XCTAssertEqual(RateLimits.from(r(429, [("retry-after", "12")])), [RateLimit(categories: [], seconds: 12)])
        XCTAssertEqual(RateLimits.from(r(429, [])), [RateLimit(categories: [], seconds: 60)])
        XCTAssertEqual(RateLimits.from(r(200, [])), [])
        XCTAssertEqual(RateLimits.from(r(200, [("x-sentry-rate-limits", "5:default:key")])).first?.seconds, 5)
    }

    func testRememberedAcrossProcessesUntilTheyPass() {
        let state = tempState()
        RateLimits.record([RateLimit(categories: ["error"], seconds: 100)], dsn: testDSN, in: state, now: 1000)
        XCTAssertEqual(blocked("error", dsn: testDSN, in: state, now: 1050), 50)
        XCTAssertNil(blocked("default", dsn: testDSN, in: state, now: 1050))
        XCTAssertNil(blocked("error", dsn: testDSN, in: state, now: 1101))
        RateLimits.record([RateLimit(categories: [], seconds: 10)], dsn: testDSN, in: state, now: 1000)
        XCTAssertNotNil(blocked("default", dsn: testDSN, in: state, now: 1005))
        let other = try! DSN(parsing: "http://other@127.0.0.1:9/1")
        XCTAssertNil(blocked("error", dsn: other, in: state, now: 1050), "limits belong to one key")
    }

    func testHostileNumbersNeverTrapAndAreCapped() {
        // The values that killed 0.1.0 with SIGILL (Int() of an unchecked Double).
        for bad in ["inf", "-inf", "nan", "infinity", "1e999", "-5", "0x10", "", "  ", "1e20e3"] {
            XCTAssertEqual(RateLimits.parse("\(bad):default:key"), [], bad)
        }
        XCTAssertEqual(RateLimits.parse("1e20:default:key"), [RateLimit(categories: ["default"], seconds: Seconds.serverCap)])
        XCTAssertEqual(RateLimits.parse("12345678901234567890::key").first?.seconds, Seconds.serverCap)
        XCTAssertEqual(RateLimits.from(response(429, [("retry-after", "inf")])).first?.seconds, 60, "unusable: the 60 s default")
        XCTAssertEqual(RateLimits.from(response(429, [("retry-after", "99999999999999999999")])).first?.seconds, Seconds.serverCap)
        XCTAssertEqual(RateLimits.from(response(429, [("retry-after", "-3")])).first?.seconds, 60)
        let state = tempState()
        RateLimits.record(RateLimits.parse("1e300::key"), dsn: testDSN, in: state, now: 1000)
        XCTAssertEqual(blocked("error", dsn: testDSN, in: state, now: 1000), Seconds.serverCap)
    }

    func testRetryAfterAsAnHTTPDate() {
        let now = Double(System.daysFromCivil(year: 2015, month: 10, day: 21) * 86_400 + 7 * 3600 + 27 * 60)
        XCTAssertEqual(RateLimits.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: now), 60)
        XCTAssertEqual(RateLimits.retryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now: now), 0, "in the past: no wait")
        XCTAssertEqual(RateLimits.retryAfter("Wed, 21 Oct 2099 07:28:00 GMT", now: now), Seconds.serverCap)
        for bad in ["Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT", "21 Oct 2015", "Wed, 21 Oct 2015 25:00:00 GMT"] {
            XCTAssertNil(RateLimits.retryAfter(bad, now: now), bad)
        }
    }

    func testRepeatedAndMalformedHeadersAllCount() {
        let r = response(200, [("x-sentry-rate-limits", "10:error:key"), ("x-sentry-rate-limits", "garbage, 20:default:org"),
                               ("x-sentry-rate-limits", "30:bad name;also\nbad:key")])
        XCTAssertEqual(RateLimits.from(r), [RateLimit(categories: ["error"], seconds: 10), RateLimit(categories: ["default"], seconds: 20)])
    }

    func testStateFileOfAnotherTimeIsCapped() {
        let state = tempState()
        state.update(RateLimits.fileName(testDSN)) { _ in Array("* 99999999999999999999\nerror inf\n".utf8) }
        XCTAssertEqual(blocked("default", dsn: testDSN, in: state, now: 1000), Seconds.serverCap)
    }

    /// What the next process (a new Ledger) reads back from the state directory.
    func blocked(_ category: DataCategory, dsn: DSN, in state: StateDirectory, now: Double) -> Double? {
        Ledger(dsn: dsn, state: state, now: now).blocked(category, now: now)
    }
}
