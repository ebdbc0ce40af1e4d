import XCTest
@testable import SentryCore

/// sentry_pyframes' `custom` item: a frame's extras, chained-exception markers, the
/// packet's facts; all of it hostile until it has the right shape.
final class BacktraceTests: XCTestCase {
    func frame(_ file: String, _ line: String, _ fn: String, _ custom: String = "") -> [String] { [file, line, fn, "", custom] }

    func testFramesCarryModulePathAndLocals() throws {
        let bt = try Backtrace.decode(frameItems([
            frame("/srv/app/shop/views.py", "7", "pay", #"{"m":"shop.views","a":"/srv/app/shop/views.py","v":{"amount":"12","card":"'4111'"}}"#),
        ])[...])
        XCTAssertEqual(bt.frames.count, 1)
        XCTAssertEqual(bt.frames[0].module, "shop.views")
        XCTAssertEqual(bt.frames[0].absPath, "/srv/app/shop/views.py")
        XCTAssertEqual(bt.frames[0].vars?["amount"]?.string, "12")
    }

    func testChainedExceptionsTakeTheirFramesAndTheRestAreTheMainOnes() throws {
        let bt = try Backtrace.decode(frameItems([
            frame("", "0", "", #"{"x":{"type":"KeyError","module":"builtins","value":"'sku'","id":2,"parent":1,"source":"__context__","n":2}}"#),
            frame("/a.py", "1", "f1"), frame("/a.py", "2", "f2"),
            frame("", "0", "", #"{"x":{"type":"Shop","module":"shop.errors","value":"v","id":1,"parent":0,"source":"__cause__","n":1}}"#),
            frame("/b.py", "3", "g"),
            frame("/c.py", "4", "main"),
            frame("", "0", "", #"{"p":{"runtime":{"name":"CPython","version":"3.11.2"},"sdk":"sentry.python/2.75.0","req":{"pid":7,"core":0,"start_us":1795553883000000},"paths":["/usr/lib/python3.11"],"argv":["uwsgi"],"syspath":["/srv","/venv/lib/python3.11/site-packages"]}}"#),
        ])[...])
        XCTAssertEqual(bt.chained.map(\.type), ["KeyError", "Shop"])
        XCTAssertEqual(bt.chained[0].module, nil, "builtins is no module to show")
        XCTAssertEqual(bt.chained[0].frames.map(\.function), ["f1", "f2"])
        XCTAssertEqual(bt.chained[1].frames.map(\.function), ["g"])
        XCTAssertEqual([bt.chained[0].chainID, bt.chained[0].parentID, bt.chained[1].chainID, bt.chained[1].parentID], [2, 1, 1, 0])
        XCTAssertEqual(bt.chained[1].source, "__cause__")
        XCTAssertEqual(bt.frames.map(\.function), ["main"])
        let facts = try XCTUnwrap(bt.facts)
        XCTAssertEqual(facts.runtime?.version, "3.11.2")
        XCTAssertEqual(facts.sdk, "sentry.python/2.75.0")
        XCTAssertEqual(facts.request, Trace.Request(pid: 7, core: 0, startMicros: 1795553883000000))
        XCTAssertEqual(facts.libraryPaths, ["/usr/lib/python3.11"])
        XCTAssertEqual(facts.importPaths, ["/srv", "/venv/lib/python3.11/site-packages"])
    }

    /// A marker whose frames never come still counts; a lying or absurd `n` neither
    /// traps nor swallows the main frames beyond what follows it.
    func testHostileCustomItemsAreIgnoredOrBounded() throws {
        for n in ["1e300", "-5", "\"x\"", "2.5", "null"] {
            let bt = try Backtrace.decode(frameItems([
                frame("", "0", "", #"{"x":{"type":"E","n":\#(n)}}"#), frame("/a.py", "1", "f"),
            ])[...])
            XCTAssertEqual(bt.chained.count, 1, n)
            XCTAssertEqual(bt.chained[0].frames.count + bt.frames.count, 1, n)
        }
        for custom in ["{", "{\"v\":[1]}", "{\"m\":5,\"a\":{}}", "[]", "{\"p\":{\"req\":{\"pid\":1e300,\"core\":0,\"start_us\":1}}}",
                       String(repeating: "[", count: 10000)] {
            let bt = try Backtrace.decode(frameItems([frame("/a.py", "1", "f", custom)])[...])
            XCTAssertLessThanOrEqual(bt.frames.count, 1, custom)
            XCTAssertNil(bt.frames.first?.module)
            XCTAssertNil(bt.facts?.request)
        }
        XCTAssertThrowsError(try Backtrace.decode([9, 0, 1][...]), "a length past the end")
        XCTAssertThrowsError(try Backtrace.decode(frameItems([["a", "b", "c", "d"]])[...]), "not 5 items a frame")
    }

    /// A worker's facts are read whole once; the next packets with the same facts but
    /// the request are read from the bytes before it, and say what reading them whole
    /// says, hostile ones too.
    func testFactsReadOnceArePacketsReadWhole() throws {
        func decoded(_ p: String, cold: Bool) throws -> Backtrace {
            if cold { Backtrace.knownFacts.forget() }
            return try Backtrace.decode(frameItems([frame("/c.py", "4", "main"), frame("", "0", "", #"{"p":\#(p)}"#)])[...])
        }
        func common(_ syspath: String = "/srv") -> String {
            #""runtime":{"name":"CPython","version":"3.11.2"},"paths":["/usr/lib/python3.11"],"argv":["uwsgi"],"sdk":null,"syspath":["\#(syspath)"]"#
        }
        let packets = [
            "{\(common()),\"req\":{\"start_us\":1795553883000000,\"pid\":7,\"core\":0}}",
            "{\(common()),\"req\":{\"start_us\":1795553883000001,\"pid\":8,\"core\":1}}",  // the same facts, another request
            "{\(common()),\"req\":{\"start_us\":0,\"pid\":8,\"core\":1}}",  // a request that is none
            "{\(common()),\"req\":{\"pid\":9,\"core\":1,\"start_us\":5,\"x\":{\"req\":1}}}",
            "{\(common()),\"req\":{\"start_us\":5,\"pid\":9,\"core\":1} }",  // not `}}` at the end
            "{\(common()),\"req\":[1]}",
            "{\(common()),\"req\":{\"start_us\":5,\"pid\":9,\"core\":1},\"req\":{\"start_us\":6,\"pid\":9,\"core\":1}}",
            "{\"req\":{\"start_us\":1,\"pid\":1,\"core\":1},\(common()),\"req\":{\"start_us\":5,\"pid\":9,\"core\":1}}",  // an earlier req wins
            "{\"req\":{\"start_us\":1,\"pid\":1,\"core\":1},\(common()),\"req\":{\"start_us\":1,\"pid\":1,\"core\":1}}",  // ... the same as the last
            "{\(common("/srv2")),\"req\":{\"start_us\":5,\"pid\":9,\"core\":1}}",  // new facts
            "{\(common()),\"req\":{\"start_us\":5,\"pid\":9,\"core\":1}",  // not JSON
        ]
        for warm in packets {
            for p in packets {
                _ = try decoded(warm, cold: true)  // what is remembered: `warm`'s
                XCTAssertEqual(try decoded(p, cold: false), try decoded(p, cold: true), "\(warm) then \(p)")
            }
        }
        _ = try decoded(packets[0], cold: true)
        XCTAssertEqual(try decoded(packets[1], cold: false).facts?.request, Trace.Request(pid: 8, core: 1, startMicros: 1795553883000001))
        XCTAssertEqual(try decoded(packets[9], cold: false).facts?.importPaths, ["/srv2"])
    }
}
