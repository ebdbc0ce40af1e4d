import XCTest
@testable import SentryCore

final class RouteNamesTests: XCTestCase {
    func testTheFirstMatchingRuleNamesThePath() {
        let r = RouteNames(["^/users/[0-9]+$ /users/{id}", "^/users/ /users/*", "^/orders/[0-9]+/items$ GET orders items"])
        XCTAssertEqual(r.problems, [])
        XCTAssertEqual(r.name(of: "/users/42"), "/users/{id}")
        XCTAssertEqual(r.name(of: "/users/42/x"), "/users/*")
        XCTAssertEqual(r.name(of: "/orders/7/items"), "GET orders items", "the name may hold spaces")
        XCTAssertNil(r.name(of: "/"))
    }

    func testBadRulesAreNamedNotFatal() {
        let r = RouteNames(["^/(unclosed /x", "no-name", "^/ok$ ok"])
        XCTAssertEqual(r.problems.count, 2, "\(r.problems)")
        XCTAssertTrue(r.problems[0].contains("not a regular expression"), r.problems[0])
        XCTAssertEqual(r.name(of: "/ok"), "ok")
    }
}
