import XCTest
@testable import SentryCore

/// A Python exception as sentry_pyframes reads it becomes the event sentry-python
/// would send: frames named as it names them, the chain with its mechanism ids, the
/// request's trace, the facts.
final class PythonExceptionTests: XCTestCase {
    func packet() -> [UInt8] {
        samplePacket(frames: [
            ["", "0", "", "", #"{"x":{"type":"KeyError","module":"builtins","value":"'sku'","id":1,"parent":0,"source":"__context__","n":1}}"#],
            ["/srv/shop/views.py", "3", "lookup", "return stock[sku]", #"{"m":"shop.views","a":"/srv/shop/views.py","v":{"password":"'hunter2'","sku":"'A1'"}}"#],
            ["/usr/lib/python3.11/json/__init__.py", "9", "loads", "", #"{"m":"json","a":"/usr/lib/python3.11/json/__init__.py"}"#],
            ["/venv/lib/python3.11/site-packages/flask/app.py", "5", "wsgi_app", "", #"{"m":"flask.app","a":"/venv/lib/python3.11/site-packages/flask/app.py"}"#],
            ["/srv/wsgi.py", "2", "application", "", #"{"m":"wsgi","a":"/srv/wsgi.py","v":{"env":"{...}"}}"#],
            ["", "0", "", "", #"{"p":{"runtime":{"name":"CPython","version":"3.11.2"},"req":{"pid":7,"core":0,"start_us":5},"paths":["/usr/lib/python3.11"],"argv":["uwsgi","--token=abc"]}}"#],
        ])
    }

    func event(_ options: String = "") throws -> (Event, JSONValue) {
        let p = try ExceptionPacket.decode(packet()[...])
        let (o, _) = Options.parse(options, environment: { _ in nil })
        let (e, _) = Event.build(options: o, message: nil, host: testHost, packet: p)
        return (e, try JSONReader.parse(e.json()))
    }

    func testALongerChainIsOldestFirstTheDeepestCauseFirst() throws {
        let p = try ExceptionPacket.decode(samplePacket(frames: [
            ["", "0", "", "", #"{"x":{"type":"OSError","module":"builtins","value":"disk","id":2,"parent":1,"source":"__context__","n":1}}"#],
            ["/srv/a.py", "1", "read", "", #"{"m":"a","a":"/srv/a.py"}"#],
            ["", "0", "", "", #"{"x":{"type":"KeyError","module":"builtins","value":"'sku'","id":1,"parent":0,"source":"__cause__","n":1}}"#],
            ["/srv/b.py", "2", "lookup", "", #"{"m":"b","a":"/srv/b.py"}"#],
            ["/srv/c.py", "3", "view", "", #"{"m":"c","a":"/srv/c.py"}"#],
        ])[...])
        let (e, _) = Event.build(options: Options(), message: nil, host: testHost, packet: p)
        let values = try XCTUnwrap(JSONReader.parse(e.json())["exception"]?["values"]?.array)
        XCTAssertEqual(values.map { $0["type"]?.string }, ["OSError", "KeyError", "ValueError"], "as sentry-python and sentry-ruby: the deepest cause first")
        XCTAssertEqual(values.map { $0["mechanism"]?["exception_id"]?.number }, [2, 1, 0])
        XCTAssertEqual(values.map { $0["stacktrace"]?["frames"]?.array?.last?["function"]?.string }, ["read", "lookup", "view"])
    }

    func testFramesChainAndFactsAsSentryPythonSendsThem() throws {
        let (e, json) = try event()
        let values = try XCTUnwrap(json["exception"]?["values"]?.array)
        XCTAssertEqual(values.map { $0["type"]?.string }, ["KeyError", "ValueError"], "oldest first, the main one last")
        XCTAssertEqual(values[0]["mechanism"]?["type"]?.string, "chained")
        XCTAssertEqual(values[0]["mechanism"]?["exception_id"]?.number, 1)
        XCTAssertEqual(values[0]["mechanism"]?["parent_id"]?.number, 0)
        XCTAssertEqual(values[0]["mechanism"]?["source"]?.string, "__context__")
        XCTAssertEqual(values[1]["mechanism"]?["exception_id"]?.number, 0)
        XCTAssertNil(values[1]["mechanism"]?["parent_id"])
        let frames = try XCTUnwrap(values[1]["stacktrace"]?["frames"]?.array)
        XCTAssertEqual(frames.map { $0["filename"]?.string }, ["json/__init__.py", "flask/app.py", "wsgi.py"])
        XCTAssertEqual(frames.map { $0["in_app"] }, [.bool(false), .bool(false), .bool(true)])
        let own = try XCTUnwrap(values[0]["stacktrace"]?["frames"]?.array?.first)
        XCTAssertEqual(own["abs_path"]?.string, "/srv/shop/views.py")
        XCTAssertEqual(own["module"]?.string, "shop.views")
        XCTAssertEqual(own["vars"]?["sku"]?.string, "'A1'")
        XCTAssertEqual(own["vars"]?["password"]?.string, "[Filtered]", "locals are scrubbed")
        XCTAssertEqual(json["contexts"]?["runtime"]?["version"]?.string, "3.11.2")
        XCTAssertEqual(json["contexts"]?["trace"]?["trace_id"]?.string, e.trace?.traceID)
        XCTAssertEqual(e.trace, Trace.of(sentryTrace: nil, traceparent: nil, request: .init(pid: 7, core: 0, startMicros: 5)))
        XCTAssertEqual(json["environment"]?.string, "production")
        let argv = try XCTUnwrap(json["extra"]?["sys.argv"]?.array)
        XCTAssertEqual(argv.first?.string, "uwsgi")
        // The argument itself, not the whole JSON: a random event or trace id holds "abc"
        // about once in fifty runs (a fresh clone's make test failed so).
        XCTAssertEqual(argv.count, 2)
        XCTAssertFalse(argv[1].string?.contains("abc") ?? true, "argv is scrubbed too: \(argv[1])")
    }

    func testLocalsFalseSendsNoVariables() throws {
        let (_, json) = try event("locals=false")
        let text = String(describing: json)
        XCTAssertFalse(text.contains("vars"))
        XCTAssertFalse(text.contains("A1"))
    }

    /// A frame's filename (the module's depth of the path's last parts) read as bytes
    /// is what splitting the strings made of it, for hostile paths and modules too.
    func testFilenameFromModuleDepth() {
        func reference(_ abs: String, _ module: String) -> String {
            let parts = abs.utf8.split(separator: UInt8(ascii: "/"))
            let depth = module.utf8.split(separator: UInt8(ascii: ".")).count
                + (parts.last.map { $0.elementsEqual("__init__.py".utf8) } == true ? 1 : 0)
            return String(decoding: Array(parts.suffix(depth).joined(separator: [UInt8(ascii: "/")])), as: UTF8.self)
        }
        let paths = ["/srv/app/shop/views.py", "/srv//app///shop/views.py/", "/", "//", "/x/__init__.py", "/__init__.py",
                     "/a/b/c/d/e.py", "/sp ace/é/🐍.py", "/usr/lib/python3/dist-packages/x/y.py"]
        let modules = ["shop.views", "views", "a..b", ".", "..x.", "x", "a.b.c.d.e.f.g", "é.🐍"]
        for path in paths {
            for module in modules {
                var given = StackFrame(filename: "given", function: "f", lineno: 1)
                given.module = module
                given.absPath = path
                let f = Event.python(given, libraries: ["/usr/lib/python3.11/"], locals: true)
                XCTAssertEqual(f.filename, reference(path, module), "\(path) \(module)")
            }
        }
    }
}
