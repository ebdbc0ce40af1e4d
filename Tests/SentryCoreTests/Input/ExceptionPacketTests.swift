import XCTest
@testable import SentryCore

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

final class ExceptionPacketTests: XCTestCase {
    func testDecodesEveryField() throws {
        let p = try ExceptionPacket.decode(samplePacket()[...])
        XCTAssertEqual(p.className, "builtins.ValueError")
        XCTAssertEqual(p.message, "boom from a=1")
        XCTAssertEqual(p.unix, 1795553883)
        XCTAssertEqual(p.workerID, "2"); XCTAssertEqual(p.pid, "21220"); XCTAssertEqual(p.node, "vm")
        XCTAssertEqual(p.frames, [StackFrame(filename: "/app/wsgi.py", function: "application", lineno: 12, contextLine: "return view(env)"),
                                  StackFrame(filename: "/app/views.py", function: "view", lineno: 40, contextLine: "raise ValueError('boom')")])
        XCTAssertEqual(p.vars.count, 12)
        XCTAssertEqual(p.typeAndModule?.0, "ValueError")
        XCTAssertNil(p.typeAndModule?.1)
        XCTAssertEqual(p.language, .python)
    }

    func testModuleOfNonBuiltins() throws {
        var p = ExceptionPacket()
        p.className = "app.errors.Boom"
        XCTAssertEqual(p.typeAndModule?.0, "Boom")
        XCTAssertEqual(p.typeAndModule?.1, "app.errors")
    }

    func testRequestIsScrubbedWithItsEvent() throws {
        let packet = try ExceptionPacket.decode(samplePacket()[...])
        XCTAssertEqual(packet.request?.queryString, "a=1&token=s3cr3t", "the parser keeps what it was given")
        let r = try XCTUnwrap(Event.build(options: Options(), message: nil, host: testHost, packet: packet).0.scrubbed().request)
        XCTAssertEqual(r.method, "POST")
        XCTAssertEqual(r.url, "http://127.0.0.1:8000/raise")
        XCTAssertEqual(r.queryString, "a=1&token=[Filtered]")
        let headers = Dictionary(uniqueKeysWithValues: r.headers.map { ($0.name, $0.value) })
        XCTAssertEqual(headers["Cookie"], "[Filtered]")
        XCTAssertEqual(headers["Authorization"], "[Filtered]")
        XCTAssertEqual(headers["X-Api-Key"], "[Filtered]")
        XCTAssertEqual(headers["User-Agent"], "curl/7.88.1")
        XCTAssertEqual(r.env.last(named: "REMOTE_ADDR"), "127.0.0.1")
        XCTAssertFalse(r.env.contains { $0.name == "QUERY_STRING" || $0.name == "REQUEST_URI" })
    }

    func testBlankFramesOfOldUWSGIAreDropped() throws {
        let p = try ExceptionPacket.decode(samplePacket(frames: [["", "-1", "", "", ""], ["", "-1", "", "", ""]])[...])
        XCTAssertEqual(p.frames, [])
    }

    func testLyingLengthsAreErrorsNotCrashes() {
        let good = samplePacket()
        XCTAssertThrowsError(try ExceptionPacket.decode(good[..<(good.count - 3)]))
        XCTAssertThrowsError(try ExceptionPacket.decode([0xff, 0xff, 0x41][...]))
        XCTAssertThrowsError(try ExceptionPacket.decode([0x01][...]))
        XCTAssertThrowsError(try ExceptionPacket.decode((kv("backtrace", item(Array("only".utf8))))[...]))
        XCTAssertThrowsError(try ExceptionPacket.decode((kv("vars", [5, 0, 65]))[...]))
        XCTAssertEqual(try ExceptionPacket.decode([][...]), ExceptionPacket())
    }

    func testEventFromPacket() throws {
        let p = try ExceptionPacket.decode(samplePacket()[...])
        var host = testHost
        host.hostName = "other"
        let (e, problems) = Event.build(options: Options(), message: nil, host: host, packet: p)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(e.exception?.type, "ValueError")
        XCTAssertEqual(e.exception?.frames.count, 2)
        XCTAssertEqual(e.platform, "python")
        XCTAssertEqual(e.serverName, "vm")
        XCTAssertEqual(e.timestamp, "2026-11-24T20:58:03.000Z")
        XCTAssertEqual(e.tags.map(\.name), ["worker", "pid"])
        XCTAssertEqual(e.fingerprint, [], "exceptions group by their stack, not a masked message")
        XCTAssertEqual(e.transaction, "/raise")
    }

    func testRubyFramesAreTurnedOldestFirstAndTheClassStaysWhole() throws {
        // The rack plugin's packet: newest frame first, as Ruby's backtrace is.
        let packet = kv("backtrace", frameItems([["/app/shop.rb", "3", "inner_boom", "", ""],
                                                  ["/app/shop.rb", "7", "outer", "", ""],
                                                  ["/app/config.ru", "12", "block in <main>", "", ""]]))
            + kv("class", Array("Shop::PaymentError".utf8)) + kv("msg", Array("card declined".utf8))
            + kv("repr", Array("card declined (Shop::PaymentError)".utf8))
        let p = try ExceptionPacket.decode(packet[...])
        XCTAssertEqual(p.language, .ruby)
        let (e, _) = Event.build(options: Options(), message: nil, host: testHost, packet: p)
        XCTAssertEqual(e.platform, "ruby")
        XCTAssertEqual(e.exception?.type, "Shop::PaymentError")
        XCTAssertNil(e.exception?.module)
        XCTAssertEqual(e.exception?.frames.map(\.function), ["block in <main>", "outer", "inner_boom"], "the raising frame last")
    }
}
