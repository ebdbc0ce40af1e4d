// Shared helpers for the unit tests: one home, used by every file here.
import Foundation
import Glibc
import XCTest
@testable import SentryCore

extension XCTestCase {
    /// A fresh private state directory, removed when the test ends.
    func tempState(_ name: String = #function) -> StateDirectory {
        let path = "/tmp/uwsgi-sentry-unit-\(getpid())-\(name.filter { $0.isLetter })-\(System.randomEventID().prefix(6))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return StateDirectory(path)!
    }

    func removeWhenDone(_ path: String) {
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }
}

let testDSN = try! DSN(parsing: "http://0123456789abcdef@127.0.0.1:9/1")


/// Host facts that do not depend on the machine running the tests.
let testHost = HostFacts(hostName: "web1", os: .init(sysname: "Linux", release: "6.1", version: "#1", machine: "x86_64"))

/// A parsed answer, as the server would have sent it.
func response(_ status: Int, _ headers: [(String, String)], body: String = "") -> HTTPResponse {
    HTTPResponse(status: status, headers: headers.map { Field($0.0, $0.1) }, body: body)
}
