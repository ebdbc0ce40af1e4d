import Foundation
import XCTest
@testable import SentryCore

final class SourceContextTests: XCTestCase {
    func file(_ lines: [String]) -> String {
        let path = "/tmp/uwsgi-sentry-unit-\(getpid())-\(System.randomEventID().prefix(8)).py"
        FileManager.default.createFile(atPath: path, contents: Data(lines.joined(separator: "\n").utf8))
        removeWhenDone(path)
        return path
    }

    func frame(_ path: String, _ line: Int, said: String? = nil) -> StackFrame {
        var f = StackFrame(filename: "x.py", function: "f", lineno: line, contextLine: said)
        f.absPath = path
        return f
    }

    func testFiveLinesEitherSideAsSentryPythonSends() {
        let path = file((1...20).map { "line \($0)\r" })
        let f = SourceContext().fill(frame(path, 10, said: "line 10"))
        XCTAssertEqual(f.contextLine, "line 10")
        XCTAssertEqual(f.preContext, (5...9).map { "line \($0)" })
        XCTAssertEqual(f.postContext, (11...15).map { "line \($0)" })
        let edge = SourceContext().fill(frame(path, 1))
        XCTAssertEqual(edge.preContext, [])
        XCTAssertEqual(SourceContext().fill(frame(path, 20)).postContext, [])
    }

    /// The file changed since the worker read it (a deploy): no neighbours that lie.
    func testAChangedFileIsNotQuoted() throws {
        let path = file(["a", "b", "c"])
        let sources = SourceContext()
        XCTAssertEqual(sources.fill(frame(path, 2, said: "b")).preContext, ["a"])
        try Data("a\nB\nc".utf8).write(to: URL(fileURLWithPath: path))
        let f = sources.fill(frame(path, 2, said: "b"))
        XCTAssertEqual(f.preContext, [])
        XCTAssertEqual(f.contextLine, "b", "what the worker read stays")
    }

    func testWhatCannotBeReadIsLeftAlone() {
        let path = file(["only"])
        for f in [frame(path, 2), frame(path, 0), frame("relative.py", 1), frame("/nonexistent/x.py", 1), frame("/dev/zero", 1),
                  frame("/tmp", 1)] {
            XCTAssertEqual(SourceContext().fill(f), f)
        }
        let long = file([String(repeating: "x", count: 5000)])
        XCTAssertEqual(SourceContext().fill(frame(long, 1)).contextLine?.count, SourceContext.maxLine)
        let huge = file([String(repeating: "y", count: SourceContext.maxFile + 1)])
        XCTAssertNil(SourceContext().fill(frame(huge, 1)).contextLine, "past 2 MiB: not read")
    }

    /// A file dated after 2262 (anyone can set a file's time): its time in nanoseconds
    /// as one Int overflowed, and the daemon trapped.
    func testAFileFromTheFarFutureIsRead() {
        let path = file(["a", "b", "c"])
        var times = [timespec(tv_sec: 10_000_000_000, tv_nsec: 0), timespec(tv_sec: 10_000_000_000, tv_nsec: 999_999_999)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        let sources = SourceContext()
        XCTAssertEqual(sources.fill(frame(path, 2, said: "b")).preContext, ["a"])
        XCTAssertEqual(sources.fill(frame(path, 2, said: "b")).postContext, ["c"], "and again, from what was kept")
    }
}
