import Glibc
import XCTest
@testable import SentryCore

final class StateDirectoryTests: XCTestCase {
    func testRefusesWhatIsNotAPrivateDirectoryOfOurs() {
        let base = "/tmp/uwsgi-sentry-unit-owner-\(getpid())"
        removeWhenDone(base)
        removeWhenDone(base + "-link")
        mkdir(base, 0o700)
        chown(base, getuid() == 65534 ? 0 : 65534, 65534)
        XCTAssertNil(StateDirectory(base), "owned by someone else")
        symlink("/tmp", base + "-link")
        XCTAssertNil(StateDirectory(base + "-link"), "a symlink (someone could point it anywhere)")
        XCTAssertNil(StateDirectory("/etc/passwd"), "not a directory")
    }

    func testTightensLoosePermissions() {
        let path = "/tmp/uwsgi-sentry-unit-loose-\(getpid())"
        removeWhenDone(path)
        mkdir(path, 0o777)
        chmod(path, 0o777)
        XCTAssertNotNil(StateDirectory(path))
        var st = stat()
        stat(path, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
    }
}
