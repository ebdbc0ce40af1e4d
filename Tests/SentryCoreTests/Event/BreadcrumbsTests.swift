import Glibc
import XCTest
@testable import SentryCore

final class BreadcrumbsTests: XCTestCase {
    func testLinesBecomeCrumbsWithTheirTimeLevelAndNoSecrets() {
        setenv("TZ", "UTC", 1); tzset()
        let lines: [(text: String, received: Double)] = [
            ("Wed Nov 25 20:44:25 2026 - *** HARAKIRI ON WORKER 1 (pid: 9, try: 1) ***", 1),
            ("[pid: 9|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 263 bytes} [Wed Nov 25 20:44:20 2026] GET /x => generated 0 bytes in 1 msecs (HTTP/1.1 502) 0 headers in 0 bytes (0 switches on core 0)", 2),
            ("login for me with password=hunter2", 3),
            ("FOO the alarm's own line", 4),
        ]
        let crumbs = Breadcrumbs.make(lines, count: 30, trigger: "FOO the alarm's own line\n")
        XCTAssertEqual(crumbs.count, 3, "the alarm's own line is the event, not a crumb")
        XCTAssertEqual(crumbs[0].timestamp, 1_795_639_465)
        XCTAssertEqual(crumbs[0].level, .fatal)
        XCTAssertEqual(crumbs[0].message, "*** HARAKIRI ON WORKER 1 (pid: 9, try: 1) ***")
        XCTAssertEqual(crumbs[1].level, .error)
        XCTAssertEqual(crumbs[1].timestamp, 1_795_639_460)
        XCTAssertEqual(crumbs[2].message, "login for me with password=hunter2", "scrubbed with the event, as a whole")
        var e = Event(eventID: "e", timestamp: "t", host: testHost)
        e.breadcrumbs = crumbs
        XCTAssertEqual(e.scrubbed().breadcrumbs[2].message, "[Filtered]")
        XCTAssertEqual(crumbs[2].timestamp, 3)
        XCTAssertEqual(Breadcrumbs.make(lines, count: 1).map(\.message), ["FOO the alarm's own line"])
        let later = lines + [("logged after the alarm, before its sender read the file", 5)]
        XCTAssertEqual(Breadcrumbs.make(later, count: 30, trigger: "FOO the alarm's own line").count, 3, "nothing after the event")
        XCTAssertEqual(Breadcrumbs.make(lines, count: 0), [])
    }

    func testTheRingIsBounded() {
        var ring = LogRing(capacity: 5)
        for i in 0..<20 { ring.append("line \(i)\nsecond \(i)\n", received: Double(i)) }
        XCTAssertEqual(ring.lines.map(\.text), ["second 17", "line 18", "second 18", "line 19", "second 19"])
        var huge = LogRing(capacity: 100)
        for _ in 0..<100 { huge.append(String(repeating: "x", count: 5000), received: 0) }
        XCTAssertLessThanOrEqual(huge.lines.reduce(0) { $0 + $1.text.utf8.count }, Breadcrumbs.maxTotalBytes * 2)
        XCTAssertLessThanOrEqual(Breadcrumbs.make(huge.lines, count: 100).reduce(0) { $0 + $1.message.utf8.count }, Breadcrumbs.maxTotalBytes)
    }

    func testARecordIsCutIntoItsLinesWithoutTheirEndings() {
        var ring = LogRing(capacity: 30)
        ring.append("Traceback:\r\n  File \"app.py\"\n\n\r\n  boom \r\n", received: 1)
        ring.append("one\n", received: 2)
        ring.append("\n\r\n", received: 3)
        ring.append("a\rb", received: 4)
        XCTAssertEqual(ring.lines.map(\.text), ["Traceback:", "  File \"app.py\"", "  boom ", "one", "a\rb"])
        XCTAssertEqual(ring.lines.map(\.received), [1, 1, 1, 2, 4])
    }

    /// The ring's breadcrumbs come scrubbed and written once; the event they ride on is
    /// the same JSON as with breadcrumbs made and scrubbed the usual way.
    func testTheRingsWrittenBreadcrumbsAreWhatAnEventWrites() {
        var ring = LogRing(capacity: 30)
        ring.append("Wed Nov 25 20:44:25 2026 - charge token=abc card 4111 1111 1111 1111 \"q\" \\ \u{1} ada@example.com", received: 1)
        ring.append("[pid: 9|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 263 bytes} [Wed Nov 25 20:44:20 2026] GET /x => generated 0 bytes in 1 msecs (HTTP/1.1 502)", received: 2.25)
        ring.append("plain line, Bearer abc.def", received: 3.5)
        var plain = Event(eventID: "e", timestamp: "t", host: testHost), fromRing = plain
        plain.breadcrumbs = ring.lines.map { Breadcrumbs.crumb($0.text, received: $0.received) }
        fromRing.breadcrumbs = ring.breadcrumbs(count: 30)
        XCTAssertTrue(fromRing.breadcrumbs.allSatisfy { $0.written != nil })
        XCTAssertEqual(String(decoding: fromRing.json(), as: UTF8.self), String(decoding: plain.json(), as: UTF8.self))
        XCTAssertFalse(String(decoding: fromRing.json(), as: UTF8.self).contains("4111"), "scrubbed")
    }

    /// A date read with the hour's start remembered is mktime's, across the days a
    /// zone's clocks change (a POSIX zone: no zone file needed), hour after hour.
    func testLocalDatesAsMktimeReadsThem() {
        let old = getenv("TZ").map { String(cString: $0) }
        setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1); tzset()
        Breadcrumbs.hourStart = nil  // an hour another test converted in another zone
        defer { if let old { setenv("TZ", old, 1) } else { unsetenv("TZ") }; tzset(); Breadcrumbs.hourStart = nil }
        func direct(_ d: Int, _ month: Int, _ h: Int, _ m: Int, _ sec: Int) -> Double {
            var tm = Glibc.tm()
            tm.tm_year = 2026 - 1900; tm.tm_mon = Int32(month); tm.tm_mday = Int32(d)
            tm.tm_hour = Int32(h); tm.tm_min = Int32(m); tm.tm_sec = Int32(sec); tm.tm_isdst = -1
            return Double(mktime(&tm))
        }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var checked = 0
        for (month, name, day) in [(2, "Mar", 29), (9, "Oct", 25), (5, "Jun", 1)] {
            for h in 0..<24 {
                for (m, sec) in [(0, 0), (1, 59), (29, 60), (59, 59)] {
                    let text = "Sun \(name) \(two(day)) \(two(h)):\(two(m)):\(two(sec)) 2026"
                    XCTAssertEqual(Breadcrumbs.asctime(Array(text.utf8)[...]), direct(day, month, h, m, sec), text)
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 3 * 24 * 4)
        XCTAssertNil(Breadcrumbs.asctime(Array("Sun Mar 29 24:00:00 2026".utf8)[...]))
    }
}
