import XCTest
@testable import SentryCore

final class PythonStackTests: XCTestCase {
    func testCPythonsDumpBecomesFramesOldestFirst() {
        let dump = """
            Stack (most recent call first):
              File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at
              File "/srv/app/crashy.py", line 16 in level_three
              File "/srv/venv/lib/python3.11/site-packages/lib/mod.py", line 3 in helper
              File "/srv/app/crashy.py", line 38 in application
              File "/srv/app/cut.py", line 
            """
        let frames = PythonStack.frames(dump)
        XCTAssertEqual(frames.map(\.function), ["application", "helper", "level_three", "string_at"])
        XCTAssertEqual(frames.map(\.lineno), [38, 3, 16, 519])
        XCTAssertEqual(frames.map(\.inApp), [true, false, true, false], "installed packages and the standard library are not the app")
        XCTAssertEqual(frames[0].filename, "crashy.py")
        XCTAssertEqual(frames[0].absPath, "/srv/app/crashy.py")
        XCTAssertEqual(Set(frames.map(\.platform)), ["python"])
    }

    func testWhatIsNotAFrameLineIsSkipped() {
        XCTAssertEqual(PythonStack.frames("  <no Python frame>\n  ...\nFile \"x\", line 0 in f\n").map(\.lineno), [nil])
        XCTAssertEqual(PythonStack.frames(""), [])
    }
}
