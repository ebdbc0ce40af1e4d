import XCTest
@testable import SentryCore

final class NativeBacktraceTests: XCTestCase {
    let text = """
    *** backtrace of 28023 ***
    uwsgi(uwsgi_backtrace+0x2f) [0x55eb33a8d4df]
    /lib/x86_64-linux-gnu/libc.so.6(+0x3c050) [0x7f3c3fcae050]
    /usr/lib/uwsgi/plugins/python3_plugin.so(uwsgi_request_wsgi+0x12d) [0x7f3c40541f1d]
    *** end of backtrace ***
    """

    func testParsesFramesOldestFirst() throws {
        let crash = try XCTUnwrap(NativeBacktrace.parse(text))
        XCTAssertEqual(crash.pid, "28023")
        XCTAssertEqual(crash.frames.map(\.function), ["uwsgi_request_wsgi", nil, "uwsgi_backtrace"])
        XCTAssertEqual(crash.frames.first?.package, "/usr/lib/uwsgi/plugins/python3_plugin.so")
        XCTAssertEqual(crash.frames.last?.instructionAddr, "0x55eb33a8d4df")
    }

    func testOtherTextIsNotACrash() {
        XCTAssertNil(NativeBacktrace.parse("DAMN ! worker 1 (pid: 2) died"))
        XCTAssertNil(NativeBacktrace.parse("*** backtrace of 1 ***\nno frames here"))
        XCTAssertNil(NativeBacktrace.frame("f(x) [0xzz]"))
    }

    func testSegfaultAlarmBecomesAFatalException() {
        let (e, _) = Event.build(options: Options(), message: text, host: testHost)
        XCTAssertEqual(e.level, .fatal)
        XCTAssertEqual(e.exception?.type, "SIGSEGV")
        XCTAssertEqual(e.exception?.frames.count, 3)
        XCTAssertEqual(e.backtraceLines.count, 5)
        XCTAssertEqual(e.fingerprint.count, 1)
        XCTAssertFalse(e.fingerprint[0].contains("28023"))
    }
}
