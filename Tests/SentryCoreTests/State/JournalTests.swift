import Glibc
import XCTest
@testable import SentryCore

final class JournalTests: XCTestCase {
    func name(_ i: Int) -> String { SpoolEntry.name(createdMillis: 1_700_000_000_000 + i, eventID: String(format: "%032x", i), category: .error, attempt: 0) }

    func bytes(_ j: Journal, _ dir: StateDirectory) -> [UInt8] { dir.read(j.name) ?? [] }

    func testRecordsAreWholeAndMarkedWhenDone() throws {
        let dir = tempState()
        let j = try XCTUnwrap(Journal(dir))
        let a = try XCTUnwrap(j.append(name: name(1), Array("first".utf8)))
        let b = try XCTUnwrap(j.append(name: name(2), Array("second".utf8)))
        XCTAssertEqual(a, 0)
        XCTAssertEqual(j.pending, 2)
        j.done(at: a)
        let records = Journal.records(bytes(j, dir))
        XCTAssertEqual(records.map(\.name), [name(1), name(2)])
        XCTAssertEqual(records.map(\.pending), [false, true])
        XCTAssertEqual(records.map(\.offset), [a, b])
        XCTAssertEqual(Array(bytes(j, dir)[records[1].body]), Array("second".utf8))
        XCTAssertEqual(j.pending, 1)
    }

    /// Open for one write at a time, never held between writes: a file held open for
    /// writing keeps an operator from remounting the spool's filesystem read-only (held
    /// while records waited for their answers, it failed e2e/test_full_disk.py's
    /// remount whenever an answer was still on its way). A journal removed meanwhile is
    /// made again by the next record.
    func testTheFileIsNeverHeldOpenBetweenWrites() throws {
        let dir = tempState()
        let j = try XCTUnwrap(Journal(dir))
        func held() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == dir.file(j.name) }.count
        }
        let a = try XCTUnwrap(j.append(name: name(1), Array("first".utf8)))
        _ = try XCTUnwrap(j.append(name: name(2), Array("second".utf8)))
        XCTAssertEqual(j.pending, 2)
        XCTAssertEqual(held(), 0, "records pending, no descriptor")
        j.done(at: a)
        XCTAssertEqual(held(), 0)
        unlink(dir.file(j.name))
        XCTAssertNotNil(j.append(name: name(3), Array("third".utf8)))
        XCTAssertEqual(Journal.records(bytes(j, dir)).map(\.name), [name(3)])
        XCTAssertEqual(held(), 0)
    }

    func testATornOrDamagedTailIsNoRecord() throws {
        let dir = tempState()
        let j = try XCTUnwrap(Journal(dir))
        _ = j.append(name: name(1), Array("whole".utf8))
        _ = j.append(name: name(2), Array("torn in the middle".utf8))
        let all = bytes(j, dir)
        XCTAssertEqual(Journal.records(Array(all.dropLast(5))).map(\.name), [name(1)])
        var damaged = all
        damaged[Journal.records(all)[1].offset] = 0
        XCTAssertEqual(Journal.records(damaged).map(\.name), [name(1)])
        // A length that points past the end, a name with a path in it: nothing from them.
        var past = all
        past[Journal.records(all)[1].offset + 11] = 0xff
        XCTAssertEqual(Journal.records(past).map(\.name), [name(1)])
        XCTAssertEqual(Journal.records(Array("USJP\u{1}\0\0\0\0\0\0\0/".utf8)), [])
    }

    func testADeadDaemonsPendingRecordsBecomeSpoolFilesAndTheJournalGoes() throws {
        let dir = tempState()
        let spool = try XCTUnwrap(Spool(dir.path))
        let j = try XCTUnwrap(Journal(dir))
        let sent = try XCTUnwrap(j.append(name: name(1), Array("sent".utf8)))
        _ = j.append(name: name(2), Array("not yet".utf8))
        j.done(at: sent)
        Journal.recover(dir)
        XCTAssertEqual(spool.entries(), [], "the journal of a live process is its own")
        XCTAssertEqual(rename(dir.file(j.name), dir.file(".journal-999999999")), 0)  // its process is gone
        spool.recoverStale()
        XCTAssertEqual(spool.entries().map(\.name), [name(2)])
        XCTAssertEqual(spool.read(spool.entries()[0]), Array("not yet".utf8))
        XCTAssertFalse(dir.names().contains(".journal-999999999"))
    }

    func testAFrameTheDeadDaemonWasMakingAnEventOfIsAFrameFileAgain() throws {
        let dir = tempState()
        let spool = try XCTUnwrap(Spool(dir.path))
        let j = try XCTUnwrap(Journal(dir))
        let frame = Spool.frameName()
        _ = j.append(name: frame, Array("USF1 handed".utf8))
        _ = j.append(name: "../" + frame, Array("USF1 path".utf8))
        _ = j.append(name: ".inflight-1-" + frame, Array("USF1 hidden".utf8))
        XCTAssertEqual(rename(dir.file(j.name), dir.file(".journal-999999999")), 0)
        spool.recoverStale()
        XCTAssertEqual(spool.handedOff(), [frame], "a frame's name only, no path, nothing hidden")
        XCTAssertEqual(dir.read(frame), Array("USF1 handed".utf8))
        XCTAssertEqual(spool.entries(), [])
    }

    func testStartsOverOnceNothingIsPendingAndStopsTakingWhenFull() throws {
        let dir = tempState()
        let j = try XCTUnwrap(Journal(dir))
        let big = [UInt8](repeating: 65, count: Journal.restartBytes)
        let a = try XCTUnwrap(j.append(name: name(1), big))
        let b = try XCTUnwrap(j.append(name: name(2), big))
        j.done(at: a)
        XCTAssertGreaterThan(j.end, Journal.restartBytes, "one still pending: the file stays")
        j.done(at: b)
        XCTAssertEqual(j.end, 0)
        XCTAssertEqual(bytes(j, dir), [])
        var taken = 0
        while j.append(name: name(10 + taken), big) != nil { taken += 1 }
        XCTAssertEqual(taken, Journal.maxBytes / (big.count + 100), "full at maxBytes: the caller writes spool files")
        XCTAssertLessThanOrEqual(bytes(j, dir).count, Journal.maxBytes)
    }

    func testMarksAreWrittenTogetherAndWhatADeadDaemonHadNotMarkedIsSentAgain() throws {
        let dir = tempState()
        let spool = try XCTUnwrap(Spool(dir.path))
        let j = try XCTUnwrap(Journal(dir))
        let offsets = (1...4).compactMap { j.append(name: name($0), Array("envelope \($0)".utf8)) }
        j.done(at: offsets[0], now: 100)
        j.done(at: offsets[1], now: 100.1)
        j.done(at: offsets[2], now: 100.2)
        XCTAssertEqual(Journal.records(bytes(j, dir)).map(\.pending), [false, true, true, true], "the first at once, then together")
        j.writeMarks(now: 100.3, due: true)
        XCTAssertEqual(Journal.records(bytes(j, dir)).map(\.pending), [false, true, true, true], "not due yet")
        j.writeMarks(now: 100.6, due: true)
        XCTAssertEqual(Journal.records(bytes(j, dir)).map(\.pending), [false, false, false, true])
        XCTAssertEqual(j.pending, 1)
        // A daemon that dies with a mark unwritten: that envelope is recovered (and sent
        // again, with its id), with the one still pending.
        _ = j.append(name: name(5), Array("envelope 5".utf8))
        j.done(at: Journal.records(bytes(j, dir)).last!.offset, now: 100.7)
        XCTAssertEqual(rename(dir.file(j.name), dir.file(".journal-999999999")), 0)
        spool.recoverStale()
        XCTAssertEqual(spool.entries().map(\.name), [name(4), name(5)])
    }

    func testAStoppingDaemonLeavesNoJournal() throws {
        let dir = tempState()
        let j = try XCTUnwrap(Journal(dir))
        let a = try XCTUnwrap(j.append(name: name(1), [1]))
        j.closeIfDone()
        XCTAssertTrue(dir.names().contains(j.name), "a pending record keeps it")
        j.done(at: a)
        j.closeIfDone()
        XCTAssertFalse(dir.names().contains(j.name))
    }
}
