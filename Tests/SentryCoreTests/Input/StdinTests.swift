import Dispatch
import Glibc
import XCTest
@testable import SentryCore

// The pty calls are outside the Glibc module map (they need _XOPEN_SOURCE).
@_silgen_name("posix_openpt") private func posix_openpt(_ flags: Int32) -> Int32
@_silgen_name("grantpt") private func grantpt(_ fd: Int32) -> Int32
@_silgen_name("unlockpt") private func unlockpt(_ fd: Int32) -> Int32
@_silgen_name("ptsname") private func ptsname(_ fd: Int32) -> UnsafeMutablePointer<CChar>?

final class StdinTests: XCTestCase {
    func testTerminalIsNeverRead() throws {
        let master = posix_openpt(O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(master, 0)
        _ = grantpt(master); _ = unlockpt(master)
        let slave = open(String(cString: ptsname(master)!), O_RDWR | O_NOCTTY)
        defer { close(slave); close(master) }
        XCTAssertEqual(Stdin.read(fd: slave).source, .terminal)
    }

    func testEmptyPipeHeldOpenDoesNotHang() {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        defer { close(fds[0]); close(fds[1]) }
        let start = System.monotonic()
        let r = Stdin.read(fd: fds[0])
        XCTAssertEqual(r.source, .empty)
        XCTAssertLessThan(System.monotonic() - start, 1.0)
    }

    func testNonBlockingSocketLikeUWSGIAlarms() {
        var sv: [Int32] = [0, 0]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &sv)
        let msg = Array("DAMN ! worker 1 (pid: 7) died\n".utf8)
        _ = msg.withUnsafeBytes { write(sv[0], $0.baseAddress, msg.count) }
        close(sv[0])
        _ = fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK)
        let r = Stdin.read(fd: sv[1])
        XCTAssertEqual(Stdin.text(r.bytes[...]), "DAMN ! worker 1 (pid: 7) died")
        XCTAssertNotEqual(fcntl(sv[1], F_GETFL) & O_NONBLOCK, 0, "flags restored for a shared description")
        close(sv[1])
    }

    func testTwoMebibytesAreCutAtOne() throws {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        let writer = fds[1]
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let big = [UInt8](repeating: 0x41, count: 2 << 20)
            _ = big.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }  // blocks until read or closed
            done.signal()
        }
        let r = Stdin.read(fd: fds[0])
        close(fds[0])  // unblocks the writer with EPIPE (SIGPIPE is ignored below)
        done.wait()
        close(writer)
        XCTAssertEqual(r.bytes.count, Stdin.limit)
        XCTAssertTrue(r.truncated)
    }

    func testTextStripsNewlinesAndRepairsUTF8() {
        XCTAssertEqual(Stdin.text([0x68, 0xff, 0x0a, 0x0d, 0x0a][...]), "h\u{fffd}")
    }

    func testFirstLineIsTheOptionString() {
        let (opts, msg) = Stdin.splitFirstLine(Array("dsn=x,level=info\nline one\nline two\n".utf8))
        XCTAssertEqual(opts, "dsn=x,level=info")
        XCTAssertEqual(msg, "line one\nline two")
        XCTAssertEqual(Stdin.splitFirstLine(Array("dsn=x".utf8)).1, nil)
    }
}
