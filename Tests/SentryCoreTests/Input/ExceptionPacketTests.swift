import XCTest
@testable import SentryCore

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
        XCTAssertEqual(e.exception?.module, "Shop", "the namespace, as sentry-ruby says it")
        XCTAssertEqual(e.exception?.frames.map(\.function), ["block in <main>", "outer", "inner_boom"], "the raising frame last")
    }

    /// sentry_pyframes' sys.excepthook: an exception outside a request says where it ran.
    func testAnExceptionOutsideARequestIsTaggedWithWhereItRan() throws {
        let bytes = kv("backtrace", frameItems([["/app/tasks.py", "3", "charge_card", "raise ValueError()", ""]]))
            + kv("class", "builtins.ValueError") + kv("msg", "charging order 7 failed") + kv("pid", "99")
            + kv("process", "spooler") + kv("process_id", "99") + kv("entry", "uwsgidecorators.manage_spool_request")
            + kv("spooler_task_name", "uwsgi_spoolfile_on_vm_1") + kv("ud_spool_func", "charge_card")
        let p = try ExceptionPacket.decode(bytes[...])
        XCTAssertEqual([p.process, p.processID, p.spoolerTask, p.spoolerFunction], ["spooler", "99", "uwsgi_spoolfile_on_vm_1", "charge_card"])
        let (e, _) = Event.build(options: Options(), message: nil, host: testHost, packet: p)
        let tags = Dictionary(e.tags.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        XCTAssertEqual(tags["uwsgi.process"], "spooler")
        XCTAssertEqual(tags["uwsgi.spooler"], "99")
        XCTAssertEqual(tags["uwsgi.spooler_function"], "charge_card")
        XCTAssertEqual(e.mechanism, "uwsgi.excepthook")
        XCTAssertEqual(e.transaction, "uwsgidecorators.manage_spool_request")
        XCTAssertNil(e.request)
    }
}
