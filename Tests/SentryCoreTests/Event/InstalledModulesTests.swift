import Foundation
import XCTest
@testable import SentryCore

final class InstalledModulesTests: XCTestCase {
    func site() throws -> String {
        let dir = "/tmp/uwsgi-sentry-unit-\(getpid())-site-\(System.randomEventID().prefix(8))"
        removeWhenDone(dir)
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/sentry_sdk-2.75.0.dist-info", withIntermediateDirectories: true)
        try "Metadata-Version: 2.1\nName: sentry-sdk\nVersion: 2.75.0\n\nName: not-a-header\n".write(toFile: dir + "/sentry_sdk-2.75.0.dist-info/METADATA", atomically: true, encoding: .utf8)
        try "Metadata-Version: 1.1\r\nName: Python-Apt\r\nVersion: 2.6.0\r\n".write(toFile: dir + "/python_apt-2.6.0.egg-info", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: dir + "/six-1.16.0.egg-info", withIntermediateDirectories: true)
        try "Name: six\nVersion: 1.16.0\n".write(toFile: dir + "/six-1.16.0.egg-info/PKG-INFO", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: dir + "/broken-1.dist-info", withIntermediateDirectories: true)  // no METADATA
        try "Version: 1\n".write(toFile: dir + "/nameless-1.egg-info", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: dir + "/shop", withIntermediateDirectories: true)
        return dir
    }

    func testDistributionsAreReadFromTheImportPathsAsSentryPythonNamesThem() throws {
        let dir = try site()
        var e = Event.build(options: Options(), message: "m", host: testHost).0
        e.importPaths = ["relative", "/nonexistent", dir, dir]
        let modules = InstalledModules()
        modules.fill(&e)
        XCTAssertEqual(e.modules, [Field("python-apt", "2.6.0"), Field("sentry-sdk", "2.75.0"), Field("six", "1.16.0")])
        // An install changes the directory: read again.
        try FileManager.default.createDirectory(atPath: dir + "/flask-3.0.0.dist-info", withIntermediateDirectories: true)
        try "Name: Flask\nVersion: 3.0.0\n".write(toFile: dir + "/flask-3.0.0.dist-info/METADATA", atomically: true, encoding: .utf8)
        var again = Event.build(options: Options(), message: "m", host: testHost).0
        again.importPaths = [dir]
        modules.fill(&again)
        XCTAssertEqual(again.modules.first, Field("flask", "3.0.0"))
    }

    func testHostileMetadataIsBounded() {
        XCTAssertNil(InstalledModules.parse(""))
        XCTAssertNil(InstalledModules.parse("Name: x\n"))
        XCTAssertNil(InstalledModules.parse("\nName: x\nVersion: 1\n"), "past the headers")
        XCTAssertEqual(InstalledModules.parse("Name: \(String(repeating: "N", count: 500))\nVersion: \(String(repeating: "9", count: 500))\n")?.name.count, 100)
        XCTAssertEqual(InstalledModules.parse("Name: a\u{0}b\nVersion: 1\n")?.value, "1")
    }
}
