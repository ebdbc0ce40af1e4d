import Foundation
import XCTest
@testable import SentryCore

final class HarakiriMarksTests: XCTestCase {
    func testADeathWaitsForTheMarkItsHarakiriIsAboutToWrite() {
        let state = tempState()
        XCTAssertFalse(HarakiriMarks.marked(pid: 42, in: state), "no mark, no wait")
        let writer = Thread {
            usleep(300_000)  // the first line's sender, slower than the death's on a busy host
            HarakiriMarks.mark(wid: 1, pid: 42, attempt: 1, in: state)
        }
        writer.start()
        let start = System.monotonic()
        XCTAssertTrue(HarakiriMarks.marked(pid: 42, in: state, wait: 2))
        XCTAssertLessThan(System.monotonic() - start, 1.0, "as soon as the mark is there")
        XCTAssertFalse(HarakiriMarks.marked(pid: 43, in: state, wait: 0.1), "another worker's death")
    }

    func testARequestLineWaitsForTheNewestMarkToo() {
        let state = tempState()
        let writer = Thread {
            usleep(1_200_000)  // later than a second: the mark's time is past the reader's `now + 1`
            HarakiriMarks.mark(wid: 3, pid: 77, attempt: 2, in: state)
        }
        writer.start()
        let m = HarakiriMarks.newest(in: state)
        XCTAssertEqual(m?.wid, 3)
        XCTAssertEqual(m?.attempt, 2)
    }

    func testAStaleMarkExplainsNothing() {
        let state = tempState()
        HarakiriMarks.mark(wid: 1, pid: 42, attempt: 1, in: state, now: 1000)
        XCTAssertFalse(HarakiriMarks.marked(pid: 42, in: state, now: 1000 + HarakiriMarks.lifetime + 1))
        XCTAssertTrue(HarakiriMarks.marked(pid: 42, in: state, now: 1001))
    }
}
