import Foundation
import Glibc
import XCTest
@testable import SentryCore

final class StatsServerTests: XCTestCase {
    /// What uWSGI 2.0.21's stats server said (Debian's uwsgi-core, 2 workers, worker 2
    /// in a request), as it said it.
    static let sample = #"""
{
	"version":"2.0.21-debian",
	"listen_queue":0,
	"listen_queue_errors":0,
	"signal_queue":0,
	"load":0,
	"pid":15547,
	"uid":0,
	"gid":0,
	"cwd":"/tmp/st",
	"locks":[
		{
			"user 0":0
		},
		{
			"signal":0
		},
		{
			"filemon":0
		},
		{
			"timer":0
		},
		{
			"rbtimer":0
		},
		{
			"cron":0
		},
		{
			"rpc":0
		},
		{
			"snmp":0
		}
	],
	"sockets":[
		{
			"name":"127.0.0.1:18123",
			"proto":"http",
			"queue":0,
			"max_queue":100,
			"shared":0,
			"can_offload":0
		}
	],
	"workers":[
		{
			"id":1,
			"pid":15549,
			"accepting":1,
			"requests":0,
			"delta_requests":0,
			"exceptions":0,
			"harakiri_count":0,
			"signals":0,
			"signal_queue":0,
			"status":"idle",
			"rss":0,
			"vsz":0,
			"running_time":0,
			"last_spawn":1795656128,
			"respawn_count":1,
			"tx":0,
			"avg_rt":0,
			"apps":[
				{
					"id":0,
					"modifier1":0,
					"mountpoint":"",
					"startup_time":0,
					"requests":0,
					"exceptions":0,
					"chdir":""
				}
			],
			"cores":[
				{
					"id":0,
					"requests":0,
					"static_requests":0,
					"routed_requests":0,
					"offloaded_requests":0,
					"write_errors":0,
					"read_errors":0,
					"in_request":0,
					"vars":[

					],
					"req_info":					{

					}
				}
			]
		},
		{
			"id":2,
			"pid":15550,
			"accepting":1,
			"requests":0,
			"delta_requests":0,
			"exceptions":0,
			"harakiri_count":0,
			"signals":0,
			"signal_queue":0,
			"status":"busy",
			"rss":0,
			"vsz":0,
			"running_time":0,
			"last_spawn":1795656128,
			"respawn_count":1,
			"tx":0,
			"avg_rt":0,
			"apps":[
				{
					"id":0,
					"modifier1":0,
					"mountpoint":"",
					"startup_time":0,
					"requests":1,
					"exceptions":0,
					"chdir":""
				}
			],
			"cores":[
				{
					"id":0,
					"requests":0,
					"static_requests":0,
					"routed_requests":0,
					"offloaded_requests":0,
					"write_errors":0,
					"read_errors":0,
					"in_request":1,
					"vars":[
"REQUEST_METHOD=GET",
"PATH_INFO=/items/42",
"REQUEST_URI=/items/42?card=1&x=\"q\"",
"QUERY_STRING=card=1&x=\"q\"",
"SERVER_PROTOCOL=HTTP/1.1",
"SCRIPT_NAME=",
"SERVER_NAME=vm",
"SERVER_PORT=18123",
"REMOTE_ADDR=127.0.0.1",
"HTTP_HOST=127.0.0.1:18123",
"HTTP_USER_AGENT=curl/7.88.1",
"HTTP_ACCEPT=*/*",
"HTTP_COOKIE=a=b",
""
					],
					"req_info":					{
						"request_start":1795656129
					}
				}
			]
		}
	]
}
"""#

    func testTheBusyCoresOfARealAnswer() throws {
        let cores = try StatsServer.cores(in: Array(Self.sample.utf8))
        XCTAssertEqual(cores, [LoaderFrame.Core(wid: 2, core: 0, pid: 15550, startMicros: 1795656129_000_000, method: "GET",
                                                uri: "/items/42?card=1&x=\"q\"", remote: "127.0.0.1")])
    }

    func testStatsHTTPAndPathInfoWithoutRequestURI() throws {
        let body = #"{"workers":[{"id":1,"pid":7,"cores":[{"id":0,"in_request":1,"vars":["PATH_INFO=/a","QUERY_STRING=b=1",""],"req_info":{"request_start":1e300}}]}]}"#
        let cores = try StatsServer.cores(in: Array(("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + body).utf8))
        XCTAssertEqual(cores, [LoaderFrame.Core(wid: 1, core: 0, pid: 7, startMicros: nil, method: nil, uri: "/a?b=1", remote: nil)],
                       "a start past the year 5138 is no time")
    }

    func testNoWorkersOrNoJSONSaysWhy() {
        XCTAssertThrowsError(try StatsServer.cores(in: Array("{}".utf8))) { XCTAssertEqual("\($0)", "no workers in its answer") }
        XCTAssertThrowsError(try StatsServer.cores(in: Array("<html>".utf8))) { XCTAssertTrue("\($0)".hasPrefix("not JSON")) }
    }

    func testAnUnreachableServerSaysWhyInTime() {
        let start = System.monotonic()
        guard case .failure(let f) = StatsServer.busyCores(at: "/nonexistent/stats.sock", timeout: 1) else { return XCTFail() }
        XCTAssertTrue(f.description.contains("No such file or directory"), f.description)
        guard case .failure(let g) = StatsServer.busyCores(at: "127.0.0.1:1", timeout: 1) else { return XCTFail() }
        XCTAssertTrue(g.description.contains("Connection refused"), g.description)
        guard case .failure(let h) = StatsServer.busyCores(at: "/" + String(repeating: "x", count: 200), timeout: 1) else { return XCTFail() }
        XCTAssertTrue(h.description.contains("too long"), h.description)
        XCTAssertLessThan(System.monotonic() - start, 0.5)
    }

    func testAServerThatNeverAnswersCostsTheTimeoutOnly() throws {
        let (fd, address) = try listeningUnixSocket()
        defer { close(fd) }
        let start = System.monotonic()
        guard case .failure(let f) = StatsServer.busyCores(at: address, timeout: 0.3) else { return XCTFail() }
        let took = System.monotonic() - start
        XCTAssertTrue(f.description.contains("no answer"), f.description)
        XCTAssertGreaterThanOrEqual(took, 0.3)
        XCTAssertLessThan(took, 1.0)
    }

    func testReadsAWholeAnswerFromAUnixSocket() throws {
        let (fd, address) = try listeningUnixSocket()
        defer { close(fd) }
        let server = Thread {
            let c = accept(fd, nil, nil)
            let bytes = Array(Self.sample.utf8)
            for chunk in stride(from: 0, to: bytes.count, by: 100) {  // in pieces, as a busy master may
                _ = bytes[chunk..<min(bytes.count, chunk + 100)].withUnsafeBytes { send(c, $0.baseAddress, $0.count, 0) }
            }
            close(c)
        }
        server.start()
        let cores = try StatsServer.busyCores(at: address, timeout: 2).get()
        XCTAssertEqual(cores.map(\.uri), ["/items/42?card=1&x=\"q\""])
    }

    private func listeningUnixSocket() throws -> (Int32, String) {
        let path = NSTemporaryDirectory() + "stats-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let ok = withUnsafePointer(to: &sun) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        // A machine where this cannot bind is broken for the daemon too: fail, never skip.
        guard ok == 0, listen(fd, 4) == 0 else {
            struct CannotListen: Error {}
            XCTFail("cannot listen on a UNIX socket at \(path): errno \(errno)")
            throw CannotListen()
        }
        addTeardownBlock { unlink(path) }
        return (fd, path)
    }
}
