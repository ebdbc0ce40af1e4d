import Glibc
import SentryRing
import XCTest
@testable import SentryCore

final class LineRingTests: XCTestCase {
    /// A ring as the loader makes it (ring.c), in a file instead of a memfd; the
    /// writer's side through the same header, as the master writes.
    final class Writer {
        let fd: Int32
        let ring: UnsafeMutablePointer<sentry_ring>
        let size: UInt32
        let bytes: Int

        init(_ test: XCTestCase, size: UInt32 = 4096) {
            let path = test.tempState().file("ring")
            fd = open(path, O_RDWR | O_CREAT, 0o600)
            bytes = Int(sentry_ring_header()) + Int(size)
            XCTAssertEqual(ftruncate(fd, off_t(bytes)), 0)
            ring = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!.assumingMemoryBound(to: sentry_ring.self)
            ring.pointee.magic = SENTRY_RING_MAGIC
            ring.pointee.size = size
            self.size = size
        }

        deinit {
            munmap(ring, bytes)
            close(fd)
        }

        @discardableResult
        func put(_ record: [UInt8]) -> Int32 { sentry_ring_put(ring, size, record, UInt32(record.count)) }
    }

    func records(_ ring: LineRing) -> [[UInt8]] {
        var out: [[UInt8]] = []
        XCTAssertTrue(ring.drain { out.append(Array($0)) })
        return out
    }

    func testRecordsArriveWholeAndInOrderRoundAndRoundTheRing() throws {
        let w = Writer(self, size: 1000)
        let ring = try XCTUnwrap(LineRing(fd: w.fd))
        var rng = SystemRandomNumberGenerator()
        var sent = 0, read: [[UInt8]] = []
        for _ in 0..<300 {  // ~40 times round, every way a record can meet the end
            var batch: [[UInt8]] = []
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let record = (0..<Int.random(in: 0...120, using: &rng)).map { _ in UInt8(truncatingIfNeeded: sent) }
                guard w.put(record) >= 0 else { break }
                batch.append(record)
                sent += 1
            }
            let got = records(ring)
            XCTAssertEqual(got, batch)
            read += got
        }
        XCTAssertEqual(read.count, sent)
        XCTAssertGreaterThan(w.ring.pointee.head, 20 * 1000, "round the ring many times")
    }

    func testAFullRingRefusesUntilTheReaderHasRead() throws {
        let w = Writer(self, size: 256)
        let ring = try XCTUnwrap(LineRing(fd: w.fd))
        let record = [UInt8](repeating: 7, count: 60)
        var taken = 0
        while w.put(record) >= 0 { taken += 1 }
        XCTAssertEqual(taken, 4, "4 records of 64 bytes fill 256")
        XCTAssertEqual(w.put([UInt8](repeating: 1, count: 125)), -1, "more than half the ring: never")
        XCTAssertEqual(records(ring).count, 4)
        XCTAssertGreaterThanOrEqual(w.put(record), 0, "read: room again")
    }

    func testTheWriterWakesTheReaderOnlyWhenItAskedAndNeverMissesOne() throws {
        let w = Writer(self)
        let ring = try XCTUnwrap(LineRing(fd: w.fd))
        XCTAssertEqual(w.put([1]), 0, "the reader did not ask")
        XCTAssertTrue(ring.arm(), "a record waits: no need to wait for a wake")
        XCTAssertEqual(records(ring), [[1]])
        XCTAssertFalse(ring.arm(), "nothing waits: the reader waits")
        XCTAssertEqual(w.put([2]), 1, "it asked: this record wakes it")
        XCTAssertEqual(w.put([3]), 0, "one wake per wait")
        ring.disarm()
        XCTAssertEqual(records(ring), [[2], [3]])
        XCTAssertEqual(w.put([4]), 0, "awake: no wake")
    }

    func testADamagedRingIsPassedOverAndTheNextRecordsRead() throws {
        let w = Writer(self, size: 512)
        let ring = try XCTUnwrap(LineRing(fd: w.fd))
        w.put([1, 2, 3])
        // A length that runs past what was written.
        let data = UnsafeMutableRawPointer(w.ring) + Int(sentry_ring_header())
        data.storeBytes(of: UInt32(400), toByteOffset: 0, as: UInt32.self)
        XCTAssertFalse(ring.drain { _ in XCTFail("nothing of it is read") })
        w.put([9])
        XCTAssertEqual(records(ring), [[9]])
        // A head further than a ring's worth from where the reader is.
        w.ring.pointee.head += 10_000
        XCTAssertFalse(ring.drain { _ in XCTFail("nothing of it is read") })
    }

    func testTheNextDaemonReadsWhatTheLastLeftUnread() throws {
        let w = Writer(self)
        var first = try XCTUnwrap(LineRing(fd: w.fd))
        w.put([1])
        XCTAssertEqual(records(first), [[1]])
        w.put([2])
        first = try XCTUnwrap(LineRing(fd: w.fd))  // a daemon killed before it read [2]
        XCTAssertEqual(records(first), [[2]])
    }

    func testWhatIsNotARingIsNone() throws {
        let w = Writer(self)
        w.ring.pointee.magic = 0
        XCTAssertNil(LineRing(fd: w.fd))
        w.ring.pointee.magic = SENTRY_RING_MAGIC
        w.ring.pointee.size = 8192  // not the file's size
        XCTAssertNil(LineRing(fd: w.fd))
        XCTAssertNil(LineRing(fd: -1))
        XCTAssertTrue(LineRing.isWake(Array("USR1".utf8)[...]))
        XCTAssertFalse(LineRing.isWake(Array("USF1".utf8)[...]))
    }
}
