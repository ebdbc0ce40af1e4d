import Foundation
import Glibc
import XCTest
@testable import SentryCore

final class ELFFileTests: XCTestCase {
    /// libc as this process mapped it (the same file a worker maps).
    func libc() throws -> MappedObject {
        let maps = procFile("/proc/self/maps")
        return try XCTUnwrap(ProcessMaps.objects(maps).first { $0.path.contains("/libc.so") })
    }

    func testTheBuildIDIsWhatReadelfPrints() throws {
        let path = try libc().path
        let readelf = Process()
        readelf.executableURL = URL(fileURLWithPath: "/usr/bin/readelf")
        readelf.arguments = ["-n", path]
        let out = Pipe()
        readelf.standardOutput = out
        try readelf.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        readelf.waitUntilExit()
        let printed = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("Build ID:") }?.split(separator: " ").last)
        let elf = try XCTUnwrap(ELFFile.read(path, symbols: false))
        XCTAssertEqual(elf.buildID.map(System.hex), String(printed))
    }

    func testAnAddressInTheMappedFileFindsItsFunction() throws {
        let o = try libc()
        let elf = try XCTUnwrap(ELFFile.read(o.path, symbols: true))
        let getpid = UInt64(UInt(bitPattern: dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getpid")))  // RTLD_DEFAULT
        XCTAssertTrue(getpid >= o.start && getpid < o.end, "getpid is libc's")
        let name = elf.function(at: getpid + 1 - o.start + elf.baseVaddr)
        XCTAssertTrue(["getpid", "__getpid"].contains(name ?? ""), String(describing: name))
        XCTAssertNil(elf.function(at: 0), "below every symbol")
    }

    func testWhatIsNotAnELFFileIsNil() throws {
        XCTAssertNil(ELFFile.read("/proc/self/maps", symbols: true), "not a regular file")
        XCTAssertNil(ELFFile.read("/nonexistent", symbols: true))
        let path = "/tmp/uwsgi-sentry-elf-\(getpid())"
        removeWhenDone(path)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([0x7f, 0x45, 0x4c, 0x46, 2, 1] + [UInt8](repeating: 0xff, count: 200))))
        let hostile = ELFFile.read(path, symbols: true)  // offsets and counts all 0xff...: read nothing, crash never
        XCTAssertNil(hostile?.buildID)
        XCTAssertEqual(hostile?.symbols.count ?? 0, 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8)))
        XCTAssertNil(ELFFile.read(path, symbols: true))
    }

    /// A section table that reads, with a symbol table whose entry size or offset is
    /// absurd: no symbols, no trap.
    func testAbsurdSizesInTheSectionTableReadNothing() throws {
        let path = "/tmp/uwsgi-sentry-elf-sections-\(getpid())"
        removeWhenDone(path)
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        func section(type: UInt64, offset: UInt64, size: UInt64, link: UInt64, entsize: UInt64) -> [UInt8] {
            le(0, 4) + le(type, 4) + le(0, 8) + le(0, 8) + le(offset, 8) + le(size, 8) + le(link, 4) + le(0, 4) + le(0, 8) + le(entsize, 8)
        }
        var header: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1] + [UInt8](repeating: 0, count: 58)
        header.replaceSubrange(0x28..<0x30, with: le(64, 8))   // section headers right after
        header.replaceSubrange(0x3a..<0x3c, with: le(64, 2))
        header.replaceSubrange(0x3c..<0x3e, with: le(2, 2))
        for (entsize, offset) in [(UInt64.max, UInt64(0)), (24, UInt64(Int64.max))] {
            let file = header + section(type: 2, offset: offset, size: 48, link: 1, entsize: entsize)
                + section(type: 3, offset: 0, size: 16, link: 0, entsize: 0)
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(file)))
            XCTAssertEqual(ELFFile.read(path, symbols: true)?.symbols.count, 0, "\(entsize) \(offset)")
        }
    }

    func testANoteSegmentsBuildID() {
        let note: [UInt8] = [4, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0x58, 0x59, 0x5a, 0, 1, 2, 3, 0]  // an "XYZ" note first
            + [4, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 0x47, 0x4e, 0x55, 0, 0xde, 0xad, 0xbe, 0xef]
        XCTAssertEqual(ELFFile.buildID(note), [0xde, 0xad, 0xbe, 0xef])
        XCTAssertNil(ELFFile.buildID([255, 255, 255, 255, 4, 0, 0, 0, 3, 0, 0, 0]), "a note that lies about its size")
    }
}
