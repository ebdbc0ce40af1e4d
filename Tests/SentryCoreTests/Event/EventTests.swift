import XCTest
@testable import SentryCore

final class EventTests: XCTestCase {
    let host = testHost

    func build(_ text: String, message: String? = "m") -> (Event, [Options.Problem]) {
        let (o, p) = Options.parse(text, environment: { _ in nil })
        let (e, q) = Event.build(options: o, message: message, host: host, eventID: "0123456789abcdef0123456789abcdef", timestamp: "2026-01-01T00:00:00.000Z")
        return (e, p + q)
    }

    func testLevelMapping() {
        XCTAssertEqual(Level(lenient: "WARN"), .warning)
        XCTAssertEqual(Level(lenient: "critical"), .fatal)
        XCTAssertEqual(Level(lenient: "Info"), .info)
        XCTAssertEqual(Level(lenient: "err"), .error)
        XCTAssertNil(Level(lenient: "loud"))
        let (e, problems) = build("level=loud")
        XCTAssertEqual(e.level, .error)
        XCTAssertEqual(problems.count, 1)
    }

    func testPlatformMapping() {
        XCTAssertEqual(build("").0.platform, "other")
        XCTAssertEqual(build("platform=Python").0.platform, "python")
        let (e, problems) = build("platform=cobol")
        XCTAssertEqual(e.platform, "other")
        XCTAssertEqual(problems.count, 1)
    }

    func testServerNameDefaultsToHostNameNotRelease() {
        XCTAssertEqual(build("release=1.2").0.serverName, "web1")
        XCTAssertEqual(build("server_name=db").0.serverName, "db")
    }

    func testTruncationKeepsLimitAndShowsMarker() {
        let long = String(repeating: "é", count: 10_000)
        let cut = Event.truncate(long, to: 8192)
        XCTAssertEqual(cut.unicodeScalars.count, 8192)
        XCTAssertTrue(cut.hasSuffix("10000 characters in all]"))
        XCTAssertEqual(Event.truncate("short", to: 8192), "short")
    }

    func testExceptionOptions() {
        let (e, _) = build("exception_type=KeyError,exception_value=boom", message: nil)
        XCTAssertEqual(e.exception, ExceptionInfo(type: "KeyError", value: "boom"))
        XCTAssertEqual(e.category, .error)
        let json = String(decoding: e.json(), as: UTF8.self)
        XCTAssertTrue(json.contains(#""mechanism":{"type":"uwsgi","handled":false}"#), json)
        XCTAssertFalse(json.contains("logentry"))
    }

    func testReleaseEnvironmentSanitised() {
        let (e, problems) = build("release=a/b,environment=x\\,y,dist=latest")
        XCTAssertEqual(e.release, "a-b")
        XCTAssertNil(e.dist)
        XCTAssertEqual(problems.count, 2)
    }

    func testTagsCleaned() {
        let (e, problems) = build("tags=ok:1;bad key!:2;:3;x:line1\nline2")
        XCTAssertEqual(e.tags.map(\.name), ["ok", "bad_key_", "x"])
        XCTAssertEqual(e.tags.last?.value, "line1 line2")
        XCTAssertEqual(problems.count, 1)
        XCTAssertEqual(Event.tagKey("a b"), "a_b")
    }

    func testUserKnownFieldsAndData() {
        let (e, _) = build("user=id:42;email:a@b;team:x")
        let json = String(decoding: e.json(), as: UTF8.self)
        XCTAssertTrue(json.contains(#""user":{"id":"42","email":"a@b","data":{"team":"x"}}"#), json)
    }

    func testNoEnvironmentLeaks() {
        setenv("SENTRY_DSN", "http://leakykey@h/1", 1)
        defer { unsetenv("SENTRY_DSN") }
        let json = String(decoding: build("").0.json(), as: UTF8.self)
        XCTAssertFalse(json.contains("leakykey"))
    }

    func testUWSGIContext() {
        var h = host
        h.uwsgi = HostFacts.UWSGIFacts(reloads: "2", parentPID: 77, procName: "uWSGI master")
        let (o, _) = Options.parse("", environment: { _ in nil })
        let json = String(decoding: Event.build(options: o, message: "m", host: h).0.json(), as: UTF8.self)
        XCTAssertTrue(json.contains(#""uwsgi":{"type":"uwsgi","reloads":"2","parent_pid":77,"original_proc_name":"uWSGI master"}"#), json)
    }

    /// The modules' JSON is written once and kept while the list is the same: a list
    /// that changes (a deploy) is written anew, never the one before.
    func testModulesWrittenOnceAndNeverStale() throws {
        var (e, _) = build("")
        let first = [Field("flask", "3.0.0"), Field("sentry-sdk", "2.0.0")]
        e.modules = first
        func modules(_ e: Event) throws -> [String: String] {
            let json = try JSONReader.parse(e.json())
            guard case .object(let members)? = json["modules"] else { return [:] }
            return Dictionary(uniqueKeysWithValues: members.map { ($0.0, $0.1.string ?? "") })
        }
        XCTAssertEqual(try modules(e), ["flask": "3.0.0", "sentry-sdk": "2.0.0"])
        XCTAssertEqual(try modules(e), ["flask": "3.0.0", "sentry-sdk": "2.0.0"])
        e.modules = [Field("flask", "3.1.0"), Field("sentry-sdk", "2.0.0")]  // same count, a new version
        XCTAssertEqual(try modules(e), ["flask": "3.1.0", "sentry-sdk": "2.0.0"])
        e.modules = first
        XCTAssertEqual(try modules(e), ["flask": "3.0.0", "sentry-sdk": "2.0.0"])
        e.modules = []
        XCTAssertEqual(try modules(e), [:])
    }
}
