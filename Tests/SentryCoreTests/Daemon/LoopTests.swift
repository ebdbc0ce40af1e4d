import Glibc
import XCTest
@testable import SentryCore

final class LoopTests: XCTestCase {
    func intake(_ spool: Spool, said: @escaping (String) -> Void = { _ in }, queued: @escaping (String) -> Void) -> Intake {
        Intake(defaults: "dsn=http://0123456789abcdef@127.0.0.1:9/1", host: testHost,
               ledgers: Ledgers(state: StateDirectory(spool.path + "/state"), inMemory: true), say: said,
               store: writing(to: spool) { queued($0) })
    }

    func testALaneIsDrainedFrameByFrameAndItsEndIsSaid() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var queued: [String] = []
        let i = intake(spool) { queued.append($0) }
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &fds), 0)
        defer { close(fds[0]) }
        for n in 0..<3 {
            let frame = LoaderFrame.encode([("kind", Array("route".utf8)), ("options", Array("message=route \(n)".utf8))])
            XCTAssertEqual(frame.withUnsafeBytes { send(fds[1], $0.baseAddress, $0.count, 0) }, frame.count)
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        XCTAssertTrue(Daemon.drain(fds[0], into: i, buffer: &buffer), "the loader's end is still open")
        XCTAssertEqual(queued.count, 3)
        close(fds[1])
        XCTAssertFalse(Daemon.drain(fds[0], into: i, buffer: &buffer), "its end closed: uWSGI is gone")
    }

    func testUnreadableFramesAreSaidOnceAndNeverStopIt() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var said: [String] = []
        var queued: [String] = []
        let i = intake(spool, said: { said.append($0) }) { queued.append($0) }
        for junk in [[UInt8](), Array("USF1".utf8), Array("XXXX".utf8), Array("USF1\u{ff}".utf8)] { Daemon.take(junk[...], i) }
        Daemon.take(LoaderFrame.encode([("kind", Array("hook".utf8)), ("options", Array("message=alive".utf8))])[...], i)
        XCTAssertEqual(said.filter { $0.contains("could not be read") }.count, 1)
        XCTAssertEqual(queued.count, 1)
    }

    func testAHandOffIsTakenOnceAndItsFrameRemoved() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var queued: [String] = []
        let i = intake(spool) { queued.append($0) }
        let frame = LoaderFrame.encode([("kind", Array("alarm".utf8)), ("body", Array("FOO handed off".utf8)), ("from", Array("cmd".utf8))])
        let name = try spool.handOff(frame).get()
        XCTAssertEqual(spool.handedOff(), [name])
        Daemon.takeFrame(name, spool, i)
        Daemon.takeFrame(name, spool, i)
        XCTAssertEqual(queued.count, 1, "taken once")
        XCTAssertEqual(spool.handedOff(), [])
        XCTAssertEqual(spool.dir.names().filter { $0.hasPrefix(".") }, [], "no claim left behind")
    }

    func testAHandedOffFrameIsAnsweredOnceJournaledAndDoneOnceItsEventIsMade() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        var queued: [String] = []
        let i = intake(spool) { queued.append($0) }
        let journal = try XCTUnwrap(Journal(spool.dir))
        let frame = LoaderFrame.encode([("kind", Array("alarm".utf8)), ("body", Array("FOO handed over".utf8)), ("from", Array("cmd".utf8))])
        var answers = 0
        let journaled = Daemon.takeHandedOff(frame[...], answer: {
            answers += 1
            XCTAssertEqual(queued, [], "answered before the event is made")
            let records = Journal.records(spool.dir.read(journal.name) ?? [])
            XCTAssertEqual(records.filter(\.pending).map(\.name).filter(Spool.isFrameName).count, 1, "...once the frame is safe")
        }, i, journal: journal)
        XCTAssertTrue(journaled)
        XCTAssertEqual(answers, 1)
        XCTAssertEqual(queued.count, 1)
        XCTAssertEqual(journal.pending, 0, "done once its event is made")
        // No journal: the socket answers after, once the event is made.
        XCTAssertFalse(Daemon.takeHandedOff(frame[...], answer: { answers += 1 }, i, journal: nil))
        XCTAssertEqual(answers, 1)
        XCTAssertEqual(queued.count, 2)
    }
}
