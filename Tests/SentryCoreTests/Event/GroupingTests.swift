import XCTest
@testable import SentryCore

final class GroupingTests: XCTestCase {
    func testLevelsOfKnownLines() {
        XCTAssertEqual(Grouping.inferLevel("!!! uWSGI process 3 got Segmentation Fault !!!"), .fatal)
        XCTAssertEqual(Grouping.inferLevel("*** HARAKIRI ON WORKER 1 (pid: 9, try: 1) ***"), .fatal)
        XCTAssertEqual(Grouping.inferLevel("DAMN ! worker 1 (pid: 18352) died :( trying respawn ..."), .error)
        XCTAssertEqual(Grouping.inferLevel(#"*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!! (101/100) ***"#), .warning)
        XCTAssertNil(Grouping.inferLevel("FOO bar"))
    }

    func testWorkerDeathsMaskAlike() {
        XCTAssertEqual(Grouping.mask("DAMN ! worker 3 (pid: 1234) died :( trying respawn ..."),
                       Grouping.mask("DAMN ! worker 1 (pid: 18352) died :( trying respawn ..."))
        XCTAssertEqual(Grouping.mask("DAMN ! worker 3 (pid: 1234) died"), "DAMN ! worker <n> (pid: <n>) died")
    }

    func testVolatilePartsMasked() {
        XCTAssertEqual(Grouping.mask("at 0x7f3a2b00 from 127.0.0.1:8000"), "at <n> from <n>")
        XCTAssertEqual(Grouping.mask("req de305d54-75b4-431b-adb2-eb6b9e546014 done"), "req <n> done")
        XCTAssertEqual(Grouping.mask("[Tue Nov 24 21:33:52 2026] GET /x"), "[<t> <t> <n> <n> <n>] GET /x")
        XCTAssertEqual(Grouping.mask("took 1.5s"), "took <n>s")
    }

    func testDifferentTroublesStayApart() {
        XCTAssertNotEqual(Grouping.mask("DAMN ! worker 1 (pid: 2) died"), Grouping.mask("*** HARAKIRI ON WORKER 1 (pid: 2, try: 1) ***"))
        XCTAssertNotEqual(Grouping.mask("disk full on /var"), Grouping.mask("disk full on /tmp"))
    }

    func testWordsContainingDigitsOrNamesAreKept() {
        XCTAssertEqual(Grouping.mask("python3 monitor decline"), "python3 monitor decline")
    }

    func testAlarmEventsGetFingerprintAndLevel() {
        let host = testHost
        let (e, _) = Event.build(options: Options(), message: "DAMN ! worker 2 (pid: 77) died", host: host)
        XCTAssertEqual(e.level, .error)
        XCTAssertEqual(e.logger, "uwsgi")
        XCTAssertEqual(e.fingerprint, ["DAMN ! worker <n> (pid: <n>) died"])
        var o = Options(); o.level = "info"; o.fingerprint = ["mine"]; o.logger = "app"
        let (f, _) = Event.build(options: o, message: "DAMN ! worker 2 (pid: 77) died", host: host)
        XCTAssertEqual(f.level, .info); XCTAssertEqual(f.fingerprint, ["mine"]); XCTAssertEqual(f.logger, "app")
    }

    /// The words found in one pass are the words a search for each finds, wherever
    /// they are (overlapping, at the ends, one inside another).
    func testWordsFoundInOnePass() {
        typealias W = Grouping.Words.Word
        var rng = SystemRandomNumberGenerator()
        let pieces = W.allCases.map(\.text) + ["x", " ", "!", "wor", "dam", "signal 1", "é"]
        for _ in 0..<3_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...8, using: &rng) { text += pieces.randomElement(using: &rng)! }
            var t = text
            t.withUTF8 { b in
                let words = Grouping.Words(b)
                for w in W.allCases {
                    XCTAssertEqual(words.has(w), text.find(w.text) != nil, "\(w) in \(text.debugDescription)")
                }
            }
        }
    }
}
