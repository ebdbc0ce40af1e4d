import Glibc
import XCTest
@testable import SentryCore

final class SpoolTests: XCTestCase {
    func testNamesCarryTimeIDCategoryAttemptAndNoSecret() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let name = try XCTUnwrap(spool.write(Array("x".utf8), eventID: "0123456789abcdef0123456789abcdef", category: "error"))
        let e = try XCTUnwrap(SpoolEntry(name: name))
        XCTAssertEqual(e.eventID, "0123456789abcdef0123456789abcdef")
        XCTAssertEqual(e.category, "error")
        XCTAssertEqual(e.attempt, 0)
        var st = stat()
        XCTAssertEqual(stat(spool.dir.file(name), &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(spool.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
    }

    func testClaimIsExclusiveAndReleaseCountsAttempts() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        spool.write(Array("x".utf8), eventID: "a", category: "default")
        let e = try XCTUnwrap(spool.entries().first)
        let claimed = try XCTUnwrap(spool.claim(e))
        XCTAssertNil(spool.claim(e), "a second flusher cannot take it")
        XCTAssertEqual(spool.entries(), [])
        spool.release(claimed: claimed, e, failed: true, due: StateDirectory.now() + 30)
        let again = try XCTUnwrap(spool.entries().first)
        XCTAssertEqual(again.attempt, 1)
        let due = try XCTUnwrap(spool.due(again))
        XCTAssertGreaterThan(due, StateDirectory.now() + 28, "due when the release said, not now")
        XCTAssertLessThanOrEqual(due, StateDirectory.now() + 31)
    }

    func testBoundsDropOldestFirst() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        for i in 0..<5 { spool.write([UInt8(i)], eventID: "e\(i)", category: "default"); usleep(2000) }
        XCTAssertEqual(spool.overBounds(maxCount: 3, maxAge: 1e9).map(\.eventID), ["e0", "e1"])
        XCTAssertEqual(spool.overBounds(maxCount: 10, maxAge: 1e9), [])
        XCTAssertEqual(spool.overBounds(maxCount: 10, maxAge: 0.0001, now: StateDirectory.now() + 1).count, 5)
    }

    func testStaleClaimOfADeadFlusherComesBack() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let name = try XCTUnwrap(spool.write(Array("x".utf8), eventID: "a", category: "default"))
        XCTAssertEqual(rename(spool.dir.file(name), spool.dir.file(".inflight-999999999-" + name)), 0)
        spool.recoverStale()
        XCTAssertEqual(spool.entries().map(\.name), [name])
    }

    func testBackoffDoublesUpToAnHour() {
        XCTAssertEqual(Spool.backoff(0), 5)
        XCTAssertEqual(Spool.backoff(1), 10)
        XCTAssertEqual(Spool.backoff(30), 3600)
    }

    func testNamesCarryTodaysTimeInMilliseconds() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let now = StateDirectory.now()
        spool.write([1], eventID: "a", category: .default, durable: false)
        let e = try XCTUnwrap(spool.entries().first)
        XCTAssertEqual(Double(e.createdMillis) / 1000, now, accuracy: 2)
        XCTAssertEqual(spool.overBounds(maxCount: 10, maxAge: 60), [], "a new envelope is within the bounds")
    }

    func testAReleaseThatCannotRenameKeepsTheEnvelope() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        spool.write(Array("keep me".utf8), eventID: "a", category: "default")
        let e = try XCTUnwrap(spool.entries().first)
        let claimed = try XCTUnwrap(spool.claim(e))
        // Both names it could go back to are taken by directories: every rename fails.
        let next = SpoolEntry.name(createdMillis: e.createdMillis, eventID: e.eventID, category: e.category, attempt: 1)
        XCTAssertEqual(mkdir(spool.dir.file(next), 0o700), 0)
        XCTAssertEqual(mkdir(spool.dir.file(e.name), 0o700), 0)
        spool.release(claimed: claimed, e, failed: true, due: StateDirectory.now())
        XCTAssertEqual(spool.read(claimed: claimed), Array("keep me".utf8), "never deleted for a local error")
    }

    func testStateLivesInItsOwnDirectoryNotAmongTheEnvelopes() throws {
        var o = Options()
        o.spool = tempState().path
        let state = try XCTUnwrap(StateDirectory.forOptions(o))
        if System.environment("UWSGI_SENTRY_STATE") == nil { XCTAssertEqual(state.path, o.spool! + "/state") }
        o.stateDir = tempState().path
        XCTAssertEqual(StateDirectory.forOptions(o)?.path, o.stateDir, "state_dir wins")
    }

    /// Two check-ins of one run in one millisecond (issue 24's chance failure: the ok
    /// sorted before the in_progress by its random id), and a clock that steps back.
    func testAnOrderKeysEnvelopesGetStrictlyIncreasingTimes() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let key = SpoolEntry.orderKey("nightly-report")
        let at = StateDirectory.now()
        let first = try XCTUnwrap(spool.write([1], eventID: "ffff", category: .monitor, orderKey: key, at: at))
        let second = try XCTUnwrap(spool.write([2], eventID: "0000", category: .monitor, orderKey: key, at: at - 60))
        XCTAssertEqual(spool.entries().map(\.name), [first, second], "in the order written")
        XCTAssertEqual(spool.entries().map(\.orderKey), [key, key])
        // One being sent still counts: the next comes after it.
        let claimed = try XCTUnwrap(spool.claim(try XCTUnwrap(spool.entries().last)))
        let third = try XCTUnwrap(spool.write([3], eventID: "0", category: .monitor, orderKey: key, at: at))
        XCTAssertGreaterThan(third, second)
        spool.release(claimed: claimed, try XCTUnwrap(SpoolEntry(name: second)), failed: true, due: at)
        XCTAssertEqual(spool.entries().map(\.orderKey), [key, key, key], "a retry keeps its key")
        XCTAssertEqual(spool.entries().map(\.attempt), [0, 1, 0])
        // Another key, or none, is not held to it.
        let other = try XCTUnwrap(spool.write([4], eventID: "1", category: .monitor, orderKey: SpoolEntry.orderKey("other"), at: at))
        XCTAssertLessThan(other, third)
    }

    func testCheckInsOf030WithoutAKeyAreOneSequenceAndOthersNone() throws {
        let legacy = try XCTUnwrap(SpoolEntry(name: "0001764900000000-abcd-monitor-0.envelope"))
        XCTAssertNil(legacy.orderKey)
        XCTAssertEqual(legacy.sequence, "monitor")
        XCTAssertNil(SpoolEntry(name: "0001764900000000-abcd-error-0.envelope")?.sequence)
        XCTAssertEqual(SpoolEntry(name: "0001764900000000-abcd-monitor-2-1f2e.envelope")?.sequence, "1f2e")
        XCTAssertNil(SpoolEntry(name: "0001764900000000-abcd-monitor-2-1f2e-x.envelope"))
    }

    /// A full disk, a read-only remount, a directory gone: the write says why.
    func testAWriteThatFailsSaysWhy() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        XCTAssertEqual(rmdir(spool.path), 0)
        guard case .failure(let why) = spool.put([1], eventID: "a", category: .error) else { return XCTFail("written") }
        XCTAssertEqual(why.code, ENOENT)
        XCTAssertEqual(why.description, "No such file or directory")
        XCTAssertTrue(spool.recreate())
        XCTAssertNotNil(spool.write([1], eventID: "a", category: .error))
    }
}
