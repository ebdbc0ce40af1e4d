import XCTest
@testable import SentryCore

final class CrashCaptureTests: XCTestCase {
    func testTheStackStartsAtTheCrashingInstruction() {
        var c = CrashCapture()
        XCTAssertTrue(c.take("registers", "rsp=0x7ffe3bb942c8 rip=0x7f37d4dd9ad8 junk bad=zz toolongname=0x1"))
        XCTAssertTrue(c.take("stack", "0x7f37d54b1e36 0x7f37d54b23bd 0x7f37d4cae050 0x7f37d4dd9ad8 0x7f37d2a53197 nothex"))
        XCTAssertTrue(c.take("addr", "0x0"))
        XCTAssertFalse(c.take("uri", "/x"))
        XCTAssertEqual(c.registers.map(\.name), ["rsp", "rip"])
        XCTAssertEqual(c.pc, 0x7f37d4dd9ad8)
        XCTAssertEqual(c.crashStack, [0x7f37d4dd9ad8, 0x7f37d2a53197], "the handler's frames and the trampoline are left out")
        XCTAssertEqual(c.faultAddress, 0)
    }

    func testAStackThatMissesThePCIsThePCAlone() {
        var c = CrashCapture()
        _ = c.take("registers", "rip=0x10")
        _ = c.take("stack", "0x20 0x30")
        XCTAssertEqual(c.crashStack, [0x10])
        XCTAssertEqual(CrashCapture().crashStack, [])
    }

    func testTheLoadersFrameDecodesAsACrash() throws {
        var bytes = LoaderFrame.magic
        for (k, v) in [("kind", "crash"), ("signal", "11"), ("code", "1"), ("pid", "42"), ("wid", "1"), ("crash_core", "1"),
                       ("tid", "43"), ("python", "Stack (most recent call first):\n"), ("maps", "x\n"), ("id", "1.2")] {
            bytes += [UInt8(k.utf8.count)] + Array(k.utf8)
            let n = v.utf8.count
            bytes += [UInt8(n & 0xff), UInt8(n >> 8 & 0xff), 0, 0] + Array(v.utf8)
        }
        let f = try LoaderFrame.decode(bytes[...])
        XCTAssertEqual(f.kind, .crash)
        XCTAssertEqual(f.signal, 11)
        XCTAssertEqual(f.crash.core, 1)
        XCTAssertEqual(f.crash.tid, 43)
        XCTAssertEqual(f.crash.code, 1)
        XCTAssertEqual(f.cores, [], "crash_core is not a core of the death frame's kind")
    }
}
