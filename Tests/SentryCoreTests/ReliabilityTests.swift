import Foundation
import Glibc
import XCTest
@testable import SentryCore

extension XCTestCase {
    /// A fresh private state directory, removed when the test ends.
    func tempState(_ name: String = #function) -> StateDirectory {
        let path = "/tmp/uwsgi-sentry-unit-\(getpid())-\(name.filter { $0.isLetter })-\(System.randomEventID().prefix(6))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return StateDirectory(path)!
    }

    func removeWhenDone(_ path: String) {
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }
}

let testDSN = try! DSN(parsing: "http://0123456789abcdef@127.0.0.1:9/1")

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

final class SpoolTests: XCTestCase {
    func testNamesCarryTimeIDCategoryAttemptAndNoSecret() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let name = try XCTUnwrap(spool.write(Array("x".utf8), eventID: "0123456789abcdef0123456789abcdef", category: "error"))
        let e = try XCTUnwrap(SpoolEntry(name: name))
        XCTAssertEqual(e.eventID, "0123456789abcdef0123456789abcdef")
        XCTAssertEqual(e.category, "error")
        XCTAssertEqual(e.attempt, 0)
        var st = stat()
        XCTAssertEqual(stat(spool.dir.file(name), &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(spool.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
    }

    func testClaimIsExclusiveAndReleaseCountsAttempts() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        spool.write(Array("x".utf8), eventID: "a", category: "default")
        let e = try XCTUnwrap(spool.entries().first)
        let claimed = try XCTUnwrap(spool.claim(e))
        XCTAssertNil(spool.claim(e), "a second flusher cannot take it")
        XCTAssertEqual(spool.entries(), [])
        spool.release(claimed: claimed, e, failed: true, due: StateDirectory.now() + 30)
        let again = try XCTUnwrap(spool.entries().first)
        XCTAssertEqual(again.attempt, 1)
        XCTAssertFalse(spool.isDue(again))
        XCTAssertTrue(spool.isDue(again, now: StateDirectory.now() + 31))
    }

    func testBoundsDropOldestFirst() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        for i in 0..<5 { spool.write([UInt8(i)], eventID: "e\(i)", category: "default"); usleep(2000) }
        XCTAssertEqual(spool.overBounds(maxCount: 3, maxAge: 1e9).map(\.eventID), ["e0", "e1"])
        XCTAssertEqual(spool.overBounds(maxCount: 10, maxAge: 1e9), [])
        XCTAssertEqual(spool.overBounds(maxCount: 10, maxAge: 0.0001, now: StateDirectory.now() + 1).count, 5)
    }

    func testStaleClaimOfADeadFlusherComesBack() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let name = try XCTUnwrap(spool.write(Array("x".utf8), eventID: "a", category: "default"))
        XCTAssertEqual(rename(spool.dir.file(name), spool.dir.file(".inflight-999999999-" + name)), 0)
        spool.recoverStale()
        XCTAssertEqual(spool.entries().map(\.name), [name])
    }

    func testBackoffDoublesUpToAnHour() {
        XCTAssertEqual(Spool.backoff(0), 5)
        XCTAssertEqual(Spool.backoff(1), 10)
        XCTAssertEqual(Spool.backoff(30), 3600)
    }
}

final class BudgetTests: XCTestCase {
    func testCountPerWindowPerKey() {
        let state = tempState()
        let allow = { (key: String, now: Double) in Budget.allow(key: key, dsn: testDSN, count: 2, seconds: 60, in: state, now: now) }
        XCTAssertTrue(allow("a", 100)); XCTAssertTrue(allow("a", 101)); XCTAssertFalse(allow("a", 102))
        XCTAssertTrue(allow("b", 102), "another fingerprint has its own budget")
        XCTAssertTrue(allow("a", 161), "a new window")
        XCTAssertTrue(Budget.allow(key: "a", dsn: testDSN, count: 0, seconds: 60, in: state), "0 = no limit")
    }

    func testKeyIsTheGroupingKey() {
        let host = HostFacts(hostName: "h", os: .init(sysname: "Linux", release: "6", version: "1", machine: "x"), uwsgi: nil)
        let a = Event.build(options: Options(), message: "DAMN ! worker 1 (pid: 2) died", host: host).0
        let b = Event.build(options: Options(), message: "DAMN ! worker 3 (pid: 9) died", host: host).0
        XCTAssertEqual(Budget.key(a), Budget.key(b))
    }
}

final class ClientReportTests: XCTestCase {
    func testCountsAccumulateAndAreTakenOnce() {
        let state = tempState()
        ClientReport.record("backpressure", category: "default", dsn: testDSN, in: state)
        ClientReport.record("backpressure", category: "default", quantity: 2, dsn: testDSN, in: state)
        ClientReport.record("ratelimit_backoff", category: "error", dsn: testDSN, in: state)
        let taken = ClientReport.take(dsn: testDSN, in: state)
        XCTAssertEqual(taken, [Discard(reason: "backpressure", category: "default", quantity: 3),
                               Discard(reason: "ratelimit_backoff", category: "error", quantity: 1)])
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), [])
        ClientReport.restore(taken, dsn: testDSN, in: state)
        XCTAssertEqual(ClientReport.take(dsn: testDSN, in: state), taken)
    }

    func testItemFraming() {
        let item = ClientReport.item([Discard(reason: "backpressure", category: "default", quantity: 3)], timestamp: "t")
        let lines = item.split(separator: 10)
        let payload = #"{"timestamp":"t","discarded_events":[{"reason":"backpressure","category":"default","quantity":3}]}"#
        XCTAssertEqual(String(decoding: lines[0], as: UTF8.self), #"{"type":"client_report","length":\#(payload.utf8.count)}"#)
        XCTAssertEqual(String(decoding: lines[1], as: UTF8.self), payload)
    }
}

final class StateDirectoryTests: XCTestCase {
    func testRefusesWhatIsNotAPrivateDirectoryOfOurs() {
        let base = "/tmp/uwsgi-sentry-unit-owner-\(getpid())"
        removeWhenDone(base)
        removeWhenDone(base + "-link")
        mkdir(base, 0o700)
        chown(base, getuid() == 65534 ? 0 : 65534, 65534)
        XCTAssertNil(StateDirectory(base), "owned by someone else")
        symlink("/tmp", base + "-link")
        XCTAssertNil(StateDirectory(base + "-link"), "a symlink (someone could point it anywhere)")
        XCTAssertNil(StateDirectory("/etc/passwd"), "not a directory")
    }

    func testTightensLoosePermissions() {
        let path = "/tmp/uwsgi-sentry-unit-loose-\(getpid())"
        removeWhenDone(path)
        mkdir(path, 0o777)
        chmod(path, 0o777)
        XCTAssertNotNil(StateDirectory(path))
        var st = stat()
        stat(path, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
    }
}
