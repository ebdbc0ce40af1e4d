import XCTest
@testable import SentryCore

/// A Rack exception as sentry_rbframes reads it becomes the event sentry-ruby would
/// send: its frames as they came (oldest first, in_app and filename decided in Ruby),
/// the causes, the namespace as module, the runtime, the gems, the thread.
final class RubyExceptionTests: XCTestCase {
    func event() throws -> JSONValue {
        let frames = frameItems([
            ["", "0", "", "", #"{"x":{"type":"Shop::GatewayError","module":"Shop","value":"timed out","id":1,"parent":0,"source":"cause","n":1}}"#],
            ["lib/shop.rb", "19", "rescue in gateway", "", #"{"a":"/srv/shop/lib/shop.rb","i":true}"#],
            ["rack/content_length.rb", "17", "call", "", #"{"a":"/gems/rack-2.2.22/lib/rack/content_length.rb","i":false}"#],
            ["lib/shop.rb", "14", "rescue in charge", "", #"{"a":"/srv/shop/lib/shop.rb","i":true}"#],
            ["", "0", "", "", #"{"p":{"runtime":{"name":"ruby","version":"3.1.2","build":"ruby 3.1.2p20"},"gems":{"rack":"2.2.22","json":"2.6.1"},"sdk":null,"req":{"start_us":5,"pid":7,"core":0},"root":"/srv/shop","thread":360}}"#],
        ])
        let packet = kv("backtrace", frames) + kv("class", "Shop::PaymentError") + kv("msg", "card declined")
            + kv("repr", "card declined (Shop::PaymentError)")
        let p = try ExceptionPacket.decode(packet[...])
        XCTAssertEqual(p.language, .ruby)
        let (e, _) = Event.build(options: Options(), message: nil, host: testHost, packet: p)
        return try JSONReader.parse(e.json())
    }

    func testFramesCausesAndFactsAsSentryRubySendsThem() throws {
        let json = try event()
        XCTAssertEqual(json["platform"]?.string, "ruby")
        let values = try XCTUnwrap(json["exception"]?["values"]?.array)
        XCTAssertEqual(values.map { $0["type"]?.string }, ["Shop::GatewayError", "Shop::PaymentError"])
        XCTAssertEqual(values.map { $0["module"]?.string }, ["Shop", "Shop"])
        XCTAssertEqual(values[1]["thread_id"]?.number, 360)
        let frames = try XCTUnwrap(values[1]["stacktrace"]?["frames"]?.array)
        XCTAssertEqual(frames.map { $0["function"]?.string }, ["call", "rescue in charge"], "as they came: oldest first already")
        XCTAssertEqual(frames.map { $0["in_app"] }, [.bool(false), .bool(true)], "Ruby's word, not Python's rule")
        XCTAssertEqual(frames.map { $0["filename"]?.string }, ["rack/content_length.rb", "lib/shop.rb"])
        XCTAssertEqual(frames.last?["abs_path"]?.string, "/srv/shop/lib/shop.rb")
        XCTAssertEqual(json["contexts"]?["runtime"]?["name"]?.string, "ruby")
        XCTAssertEqual(json["modules"]?["rack"]?.string, "2.2.22")
        XCTAssertEqual(json["threads"]?["values"]?.array?.first?["id"]?.number, 360)
    }
}
