import Foundation
import XCTest
@testable import SentryCore

final class HandOffSocketTests: XCTestCase {
    /// `handOff` from another thread (it waits for the answer), the daemon's end on this one.
    private func handOffAside(_ frame: [UInt8], _ spool: Spool, wait: Double) -> (done: DispatchSemaphore, result: () -> Bool) {
        let done = DispatchSemaphore(value: 0)
        var ok = false
        Thread.detachNewThread {
            ok = HandOffSocket.handOff(frame, spool: spool, wait: wait)
            done.signal()
        }
        return (done, { ok })
    }

    private func readable(_ fd: Int32, within ms: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, ms) == 1
    }

    func testAFrameArrivesWholeAndItsSenderGoesOnceAnswered() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let socket = try XCTUnwrap(HandOffSocket(listeningIn: spool))
        defer { socket.close() }
        let frame = Array("USF1".utf8) + (0..<50_000).map { UInt8(truncatingIfNeeded: $0) }
        let sender = handOffAside(frame, spool, wait: 5)
        XCTAssertTrue(readable(socket.fd, within: 5000))
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var got: [[UInt8]] = []
        socket.receive(into: &buffer) { bytes, answer in
            got.append(Array(bytes))
            XCTAssertEqual(sender.done.wait(timeout: .now() + 0.2), .timedOut, "no answer yet: the sender waits")
            answer()
            XCTAssertEqual(sender.done.wait(timeout: .now() + 5), .success, "answered: the sender goes")
        }
        XCTAssertEqual(got, [frame])
        XCTAssertTrue(sender.result())
        XCTAssertEqual(spool.handedOff(), [], "no frame file")
    }

    func testAFrameNotAnsweredByItsHandlerIsAnsweredAfterIt() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let socket = try XCTUnwrap(HandOffSocket(listeningIn: spool))
        defer { socket.close() }
        let sender = handOffAside(Array("USF1x".utf8), spool, wait: 5)
        XCTAssertTrue(readable(socket.fd, within: 5000))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var handled = 0
        socket.receive(into: &buffer) { _, _ in handled += 1 }
        XCTAssertEqual(sender.done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(handled, 1)
        XCTAssertTrue(sender.result())
    }

    func testWithNoDaemonOrNoAnswerTheSenderWritesTheFileInstead() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var start = System.monotonic()
        XCTAssertFalse(HandOffSocket.handOff(Array("USF1".utf8), spool: spool, wait: 5), "no socket")
        XCTAssertLessThan(System.monotonic() - start, 1, "no socket: no wait")
        // A socket nobody reads (a stopped daemon): the sender waits its time, then goes.
        let socket = try XCTUnwrap(HandOffSocket(listeningIn: spool))
        defer { socket.close() }
        start = System.monotonic()
        XCTAssertFalse(HandOffSocket.handOff(Array("USF1".utf8), spool: spool, wait: 0.3))
        XCTAssertGreaterThanOrEqual(System.monotonic() - start, 0.3)
        // ...and the daemon, reading it late, leaves it to the file the sender wrote.
        var buffer = [UInt8](repeating: 0, count: 4096)
        var handled = 0
        socket.receive(into: &buffer) { _, _ in handled += 1 }
        XCTAssertEqual(handled, 0, "past its sender's wait: not handled")
        // A frame read with less than the margin left is not handled either.
        let sender = handOffAside(Array("USF1".utf8), spool, wait: HandOffSocket.margin / 2)
        XCTAssertTrue(readable(socket.fd, within: 5000))
        socket.receive(into: &buffer) { _, _ in handled += 1 }
        XCTAssertEqual(handled, 0)
        XCTAssertEqual(sender.done.wait(timeout: .now() + 5), .success)
        XCTAssertFalse(sender.result())
    }

    func testWhatIsNotAHandOffIsNeitherHandledNorAnswered() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let socket = try XCTUnwrap(HandOffSocket(listeningIn: spool))
        defer { socket.close() }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var own = sockaddr()
        own.sa_family = sa_family_t(AF_UNIX)
        XCTAssertEqual(bind(fd, &own, socklen_t(MemoryLayout<sa_family_t>.size)), 0)
        XCTAssertEqual(UnixAddress.with(spool.dir.file(HandOffSocket.name)) { connect(fd, $0, $1) }, 0)
        let far = UInt64((System.monotonic() + 60) * 1e9)
        let deadline = (0..<8).map { UInt8(truncatingIfNeeded: far >> (8 * UInt64($0))) }
        for message in [[], Array("USH1".utf8), Array("XXXX".utf8) + deadline + Array("USF1".utf8)] as [[UInt8]] {
            XCTAssertEqual(message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }, message.count)
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var handled = 0
        socket.receive(into: &buffer) { _, _ in handled += 1 }
        XCTAssertEqual(handled, 0)
        XCTAssertFalse(readable(fd, within: 100), "no answer")
        // The same with the right header is handled: the check above is not vacuous.
        let good = Array("USH1".utf8) + deadline + Array("USF1".utf8)
        XCTAssertEqual(good.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }, good.count)
        socket.receive(into: &buffer) { _, _ in handled += 1 }
        XCTAssertEqual(handled, 1)
        XCTAssertTrue(readable(fd, within: 1000))
    }

    func testANewDaemonTakesTheSocketOverAndTheOldOneLeavesItsFile() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let old = try XCTUnwrap(HandOffSocket(listeningIn: spool))
        let new = try XCTUnwrap(HandOffSocket(listeningIn: spool))
        old.close()
        XCTAssertEqual(access(spool.dir.file(HandOffSocket.name), F_OK), 0, "the old one's close leaves the new one's file")
        let sender = handOffAside(Array("USF1".utf8), spool, wait: 5)
        XCTAssertTrue(readable(new.fd, within: 5000))
        var buffer = [UInt8](repeating: 0, count: 4096)
        new.receive(into: &buffer) { _, _ in }
        XCTAssertEqual(sender.done.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(sender.result())
        new.close()
        XCTAssertNotEqual(access(spool.dir.file(HandOffSocket.name), F_OK), 0)
    }

    func testASpoolPathTooLongForASocketMeansFrameFiles() throws {
        let base = tempState().path
        let spool = try XCTUnwrap(Spool(base + "/" + String(repeating: "d", count: 120)))
        XCTAssertNil(HandOffSocket(listeningIn: spool))
        XCTAssertFalse(HandOffSocket.handOff(Array("USF1".utf8), spool: spool, wait: 1))
    }
}
