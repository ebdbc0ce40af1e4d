import XCTest
@testable import SentryCore

final class HandOffTests: XCTestCase {
    func testFramesAreWrittenWholeTakenOnceAndAClaimOfADeadDaemonComesBack() throws {
        let spool = try XCTUnwrap(Spool(tempState().path))
        let a = try spool.handOff(Array("USF1a".utf8)).get()
        usleep(2000)
        let b = try spool.handOff(Array("USF1b".utf8)).get()
        XCTAssertEqual(spool.handedOff(), [a, b], "oldest first")
        XCTAssertEqual(spool.entries(), [], "frames are not envelopes")
        var seen: [[UInt8]] = []
        XCTAssertTrue(spool.take(frame: a) { seen.append($0) })
        XCTAssertFalse(spool.take(frame: a) { seen.append($0) }, "taken once")
        XCTAssertEqual(seen, [Array("USF1a".utf8)])
        // A daemon that died holding a claim: the next one takes the frame back.
        XCTAssertEqual(rename(spool.dir.file(b), spool.dir.file(".inflight-999999999-" + b)), 0)
        spool.recoverStale()
        XCTAssertEqual(spool.handedOff(), [b])
    }

    func testWhatTheSendersEnvironmentGaveIsWrittenIn() {
        var o = Options()
        o.dsn = "http://k@h/1"
        o.release = "1.0,beta"
        XCTAssertEqual(HandOffOptions.resolved("logger=x", o), "logger=x,dsn=http://k@h/1,release=1.0\\,beta")
        XCTAssertEqual(Options.parse(HandOffOptions.resolved("logger=x", o), environment: { _ in nil }).0.release, "1.0,beta")
    }
}
