import CurlHTTP
import Foundation
import Glibc
import XCTest

/// One easy handle carries many requests (the daemon and `flush` keep theirs), and
/// libcurl's reset is skipped between requests whose TLS options are alike. What a
/// request sets only when it differs from the default must never outlive it: a
/// request that verifies, after one that did not, on the same handle, is refused by a
/// server whose certificate nobody trusts; and the other way round still connects.
final class EasyHandleTests: XCTestCase {
    func testTLSOptionsDoNotOutliveTheirRequestOnAReusedHandle() throws {
        let dir = NSTemporaryDirectory() + "uwsgi-sentry-tls-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        removeWhenDone(dir)
        let key = dir + "/key.pem", cert = dir + "/cert.pem"
        XCTAssertEqual(try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                     "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert]), 0)
        let port = try freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-quiet", "-www", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        XCTAssertTrue(waitForListener(port), "openssl s_server did not start")

        let handle = try XCTUnwrap(EasyHandle())
        // s_server never answers a POST: a request that gets past the handshake ends at
        // its timeout (1 s, enough for a handshake on loopback; not a certificate
        // error either way), one that verifies is refused at once.
        func post(verify: Bool) -> Result<RawResponse, TransferError> {
            handle.perform(HTTPRequest(url: "https://127.0.0.1:\(port)/", headers: [], body: Array("x".utf8),
                                       timeout: verify ? 5 : 1, verifyTLS: verify))
        }
        func refusedForItsCertificate(_ r: Result<RawResponse, TransferError>) -> Bool {
            if case .failure(.network(let why)) = r { return why.lowercased().contains("certificate") }
            return false
        }
        XCTAssertTrue(refusedForItsCertificate(post(verify: true)), "a fresh handle verifies")
        XCTAssertFalse(refusedForItsCertificate(post(verify: false)), "no_verify connects")
        XCTAssertFalse(refusedForItsCertificate(post(verify: false)), "and again, on the same handle")
        XCTAssertTrue(refusedForItsCertificate(post(verify: true)), "a request that verifies, after ones that did not, still verifies")
        XCTAssertFalse(refusedForItsCertificate(post(verify: false)))
    }

    /// Options set once for a handle's requests alike: each request still arrives with
    /// its own URL, headers and body, on the one connection, whatever came before it.
    func testEachRequestIsItsOwnOnAReusedHandle() throws {
        let dir = NSTemporaryDirectory() + "uwsgi-sentry-easy-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        removeWhenDone(dir)
        let script = dir + "/server.py", log = dir + "/requests"
        try """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with open(sys.argv[2], "a") as f:
                    f.write("%s %s %s %s\\n" % (self.path, self.headers.get("X-Case"), body.decode(), self.client_address[1]))
                self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let port = try freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [script, String(port), log]
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        XCTAssertTrue(waitForListener(port), "the recording server did not start")
        let handle = try XCTUnwrap(EasyHandle())
        let requests: [(String, String, String)] = [("/a", "1", "one"), ("/a", "1", "two"), ("/c", "2", "three"), ("/a", "1", "four"),
                                                     ("/a", "1", ""), ("/a", "1", "five")]
        for (path, header, body) in requests {
            let r = handle.perform(HTTPRequest(url: "http://127.0.0.1:\(port)\(path)", headers: ["X-Case: \(header)"], body: Array(body.utf8), timeout: 5))
            guard case .success(let raw) = r else { return XCTFail("\(path) \(body): \(r)") }
            XCTAssertEqual(raw.status, 200)
        }
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: false) }
        XCTAssertEqual(lines.map { "\($0[0]) \($0[1]) \($0[2])" }, requests.map { "\($0.0) \($0.1) \($0.2)" })
        XCTAssertEqual(Set(lines.map { $0[3] }).count, 1, "one connection for all of them")
    }

    private func run(_ path: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    private func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw XCTSkip("no free port") }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Whether something accepts connections on the port within 5 s.
    private func waitForListener(_ port: UInt16) -> Bool {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if ok { return true }
            usleep(50_000)
        }
        return false
    }
}
