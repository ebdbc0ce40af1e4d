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

/// An Intake's store that only writes the spool, telling each name it wrote.
func writing(to spool: Spool, _ queued: @escaping (String) -> Void) -> Intake.Store {
    { envelope, eventID, category, _, at, orderKey in
        guard let name = spool.write(envelope, eventID: eventID, category: category, orderKey: orderKey, durable: false, at: at)
        else { return false }
        queued(name)
        return true
    }
}


/// Host facts that do not depend on the machine running the tests.
let testHost = HostFacts(hostName: "web1", os: .init(sysname: "Linux", release: "6.1", version: "#1", machine: "x86_64"))

/// A parsed answer, as the server would have sent it.
func response(_ status: Int, _ headers: [(String, String)], body: String = "") -> HTTPResponse {
    HTTPResponse(status: status, headers: headers.map { Field($0.0, $0.1) }, body: body)
}

/// Encodes a packet the way uWSGI's core/exceptions.c does.
func item(_ s: [UInt8]) -> [UInt8] { [UInt8(s.count & 0xff), UInt8(s.count >> 8)] + s }
func kv(_ k: String, _ v: [UInt8]) -> [UInt8] { item(Array(k.utf8)) + item(v) }
func kv(_ k: String, _ v: String) -> [UInt8] { kv(k, Array(v.utf8)) }

/// A uwsgi array of frames, 5 items each.
func frameItems(_ frames: [[String]]) -> [UInt8] {
    var bt: [UInt8] = []
    for f in frames { for part in f { bt += item(Array(part.utf8)) } }
    return bt
}

func samplePacket(frames: [[String]] = [["/app/wsgi.py", "12", "application", "return view(env)", ""],
                                        ["/app/views.py", "40", "view", "raise ValueError('boom')", ""]]) -> [UInt8] {
    let vars = kv("REQUEST_METHOD", "POST") + kv("REQUEST_URI", "/raise?a=1&token=s3cr3t") + kv("PATH_INFO", "/raise")
        + kv("QUERY_STRING", "a=1&token=s3cr3t") + kv("SERVER_NAME", "vm") + kv("SERVER_PORT", "8000")
        + kv("HTTP_HOST", "127.0.0.1:8000") + kv("HTTP_COOKIE", "sessionid=abc") + kv("HTTP_AUTHORIZATION", "Basic eDp5")
        + kv("HTTP_X_API_KEY", "k") + kv("HTTP_USER_AGENT", "curl/7.88.1") + kv("REMOTE_ADDR", "127.0.0.1")
    return kv("vars", vars) + kv("backtrace", frameItems(frames)) + kv("class", "builtins.ValueError") + kv("msg", "boom from a=1")
        + kv("repr", "builtins.ValueError: boom from a=1") + kv("unix", "1795553883") + kv("wid", "2")
        + kv("pid", "21220") + kv("core", "0") + kv("node", "vm")
}

/// A /proc file whole (Foundation reads what stat() says, and /proc says 0 bytes).
func procFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}
