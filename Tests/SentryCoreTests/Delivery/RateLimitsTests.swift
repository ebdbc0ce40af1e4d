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
        func r(_ status: Int, _ headers: [(String, String)]) -> HTTPResponse { HTTPResponse(status: status, headers: headers, body: "") }
        XCTAssertEqual(RateLimits.from(r(429, [("x-sentry-rate-limits", "30:error:key")])), [RateLimit(categories: ["error"], seconds: 30)])
        XCTAssertEqual(RateLimits.from(r(429, [("retry-after", "12")])), [RateLimit(categories: [], seconds: 12)])
        XCTAssertEqual(RateLimits.from(r(429, [])), [RateLimit(categories: [], seconds: 60)])
        XCTAssertEqual(RateLimits.from(r(200, [])), [])
        XCTAssertEqual(RateLimits.from(r(200, [("x-sentry-rate-limits", "5:default:key")])).first?.seconds, 5)
    }

    func testRememberedAcrossProcessesUntilTheyPass() {
        let state = tempState()
        RateLimits.record([RateLimit(categories: ["error"], seconds: 100)], dsn: testDSN, in: state, now: 1000)
        XCTAssertEqual(RateLimits.blocked("error", dsn: testDSN, in: state, now: 1050), 50)
        XCTAssertNil(RateLimits.blocked("default", dsn: testDSN, in: state, now: 1050))
        XCTAssertNil(RateLimits.blocked("error", dsn: testDSN, in: state, now: 1101))
        RateLimits.record([RateLimit(categories: [], seconds: 10)], dsn: testDSN, in: state, now: 1000)
        XCTAssertNotNil(RateLimits.blocked("default", dsn: testDSN, in: state, now: 1005))
        let other = try! DSN(parsing: "http://other@127.0.0.1:9/1")
        XCTAssertNil(RateLimits.blocked("error", dsn: other, in: state, now: 1050), "limits belong to one key")
    }
}
