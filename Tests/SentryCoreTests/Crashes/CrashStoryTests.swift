import Foundation
import Glibc
import XCTest
@testable import SentryCore

final class CrashStoryTests: XCTestCase {
    /// A crash in libc's getpid (as if), called from Python code, in worker 1's core 1,
    /// with this process's own mappings.
    func story() throws -> CrashStory {
        let getpid = UInt64(UInt(bitPattern: dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getpid")))
        var f = LoaderFrame(kind: .crash)
        f.signal = 11; f.pid = 4242; f.wid = 1; f.nowMicros = 1_796_454_945_894_777; f.id = "1.1"
        _ = f.crash.take("code", "1")
        _ = f.crash.take("crash_core", "1")
        _ = f.crash.take("tid", "4243")
        _ = f.crash.take("addr", "0x0")
        _ = f.crash.take("registers", "rsp=0x7ffe0 rip=" + NativeAddress.hex(getpid + 2))
        _ = f.crash.take("stack", ["0x1", NativeAddress.hex(getpid + 2), NativeAddress.hex(getpid + 9)].joined(separator: " "))
        _ = f.crash.take("python", "Stack (most recent call first):\n  File \"/srv/app/views.py\", line 31 in level_three\n"
                                   + "  File \"/srv/app/views.py\", line 5 in application\n")
        f.crash.maps = procFile("/proc/self/maps")
        var story = CrashStory(frame: f)
        var death = LoaderFrame(kind: .death)
        death.pid = 4242
        death.cores = [LoaderFrame.Core(wid: 1, core: 0, pid: 4242, startMicros: 1_796_454_945_000_000, method: "GET", uri: "/other"),
                       LoaderFrame.Core(wid: 1, core: 1, pid: 4242, startMicros: 1_796_454_945_000_000, method: "POST", uri: "/crash?x=1")]
        story.death = death
        story.endedBy = (11, nil)
        return story
    }

    func event() throws -> [String: Any] {
        let e = try story().event(options: Options(), host: testHost, crumbs: [])
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.json())) as? [String: Any])
    }

    func testOneFatalEventWithThePythonFramesThenTheNativeOnes() throws {
        let e = try event()
        XCTAssertEqual(e["level"] as? String, "fatal")
        XCTAssertEqual(e["platform"] as? String, "python")
        let x = try XCTUnwrap(((e["exception"] as? [String: Any])?["values"] as? [[String: Any]])?.last)
        XCTAssertEqual(x["type"] as? String, "SIGSEGV")
        XCTAssertEqual(x["value"] as? String, "Segmentation fault in level_three (views.py:31)")
        let mechanism = try XCTUnwrap(x["mechanism"] as? [String: Any])
        XCTAssertEqual(mechanism["type"] as? String, "signalhandler")
        XCTAssertEqual(mechanism["handled"] as? Bool, false)
        XCTAssertEqual(((mechanism["meta"] as? [String: Any])?["signal"] as? [String: Any])?["code_name"] as? String, "SEGV_MAPERR")
        let st = try XCTUnwrap(x["stacktrace"] as? [String: Any])
        let frames = try XCTUnwrap(st["frames"] as? [[String: Any]])
        XCTAssertEqual(frames.map { $0["platform"] as? String }, ["python", "python", "native", "native"])
        XCTAssertEqual(frames.map { $0["function"] as? String }.prefix(2), ["application", "level_three"])
        XCTAssertTrue(["getpid", "__getpid"].contains(frames.last?["function"] as? String ?? ""), "named from libc's symbols")
        XCTAssertTrue((frames.last?["package"] as? String ?? "").contains("libc.so"))
        XCTAssertNotNil((st["registers"] as? [String: Any])?["rip"], "the crashing frame's registers")
        let thread = try XCTUnwrap(((e["threads"] as? [String: Any])?["values"] as? [[String: Any]])?.first)
        XCTAssertEqual(thread["crashed"] as? Bool, true)
        XCTAssertEqual(thread["id"] as? Int, 4243)
    }

    func testTheImagesAndTheRequestTheCrashingCoreServed() throws {
        let e = try event()
        let images = try XCTUnwrap((e["debug_meta"] as? [String: Any])?["images"] as? [[String: Any]])
        let libc = try XCTUnwrap(images.first { ($0["code_file"] as? String ?? "").contains("libc.so") })
        XCTAssertEqual(libc["type"] as? String, "elf")
        XCTAssertEqual((libc["code_id"] as? String)?.count, 40)
        XCTAssertNotNil(libc["debug_id"])
        XCTAssertEqual((e["request"] as? [String: Any])?["url"] as? String, "/crash", "core 1's request, not core 0's")
        let uwsgi = try XCTUnwrap((e["contexts"] as? [String: Any])?["uwsgi"] as? [String: Any])
        XCTAssertEqual(uwsgi["then"] as? String, "the worker died of SIGSEGV")
        XCTAssertEqual(uwsgi["core"] as? String, "1")
        XCTAssertEqual(uwsgi["fault_address"] as? String, "0x0")
    }

    func testTheDaemonReadsEachFileOnce() throws {
        let files = ELFFiles()
        let s = try story()
        let first = s.event(options: Options(), host: testHost, crumbs: [], files: files)
        let again = s.event(options: Options(), host: testHost, crumbs: [], files: files)
        XCTAssertEqual(again.images, first.images)
        XCTAssertEqual(again.exception?.frames, first.exception?.frames, "the same symbols, from what was read once")
        let libc = try XCTUnwrap(ProcessMaps.objects(s.frame.crash.maps).first { $0.path.contains("/libc.so") })
        let fresh = ELFFiles()
        XCTAssertEqual(fresh.file(libc.path, inode: libc.inode, symbols: false)?.symbols.count, 0, "headers only")
        XCTAssertGreaterThan(fresh.file(libc.path, inode: libc.inode, symbols: true)?.symbols.count ?? 0, 100,
                             "asked for symbols after headers only: read again, with them")
        XCTAssertNil(fresh.file("/nonexistent", inode: 1, symbols: true))
    }

    func testWithoutPythonTheWholeNativeStackIsTheExceptions() throws {
        var s = try story()
        s.frame.crash.python = nil
        let e = s.event(options: Options(), host: testHost, crumbs: [])
        XCTAssertEqual(e.platform, "native")
        XCTAssertEqual(e.exception?.frames.count, 2)
        XCTAssertEqual(e.exception?.frames.last?.instructionAddr, s.frame.crash.registers.last?.value)
    }

    func testUWSGIsOwnLinesOfTheCrashAreNoBreadcrumbs() throws {
        let s = try story()
        XCTAssertTrue(s.isOwnLine("!!! uWSGI process 4242 got Segmentation Fault !!!"))
        XCTAssertTrue(s.isOwnLine("*** backtrace of 4242 ***"))
        XCTAssertTrue(s.isOwnLine("/lib/x86_64-linux-gnu/libc.so.6(+0x3c050) [0x7f37d4cae050]"))
        XCTAssertTrue(s.isOwnLine("DAMN ! worker 1 (pid: 4242) died, killed by signal 11 :( trying respawn ..."))
        XCTAssertTrue(s.isOwnLine("Respawned uWSGI worker 1 (new pid: 4250)"))
        XCTAssertFalse(s.isOwnLine("DAMN ! worker 2 (pid: 4243) died, killed by signal 9 :( trying respawn ..."))
        XCTAssertFalse(s.isOwnLine("uwsgi: crashy.c:6: crashy_check: Assertion `n > 0' failed."))
    }
}
