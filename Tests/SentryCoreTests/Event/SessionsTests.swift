import XCTest
@testable import SentryCore

final class SessionsTests: XCTestCase {
    func testAMinuteIsRelaysAggregateWithZeroCountsLeftOut() throws {
        let m = SessionMinute(started: 1_795_000_000 + 37, counts: [.exited: 919, .errored: 30, .crashed: 50, .abnormal: 0])
        XCTAssertEqual(m.started % 60, 0, "started is rounded down to its minute")
        let json = String(decoding: m.payload(release: "shop@1.4.2", environment: "production"), as: UTF8.self)
        XCTAssertEqual(json, #"{"aggregates":[{"started":"2026-11-18T11:07:00.000Z","exited":919,"errored":30,"crashed":50}],"#
                       + #""attrs":{"release":"shop@1.4.2","environment":"production"}}"#)
        XCTAssertEqual(m.total, 999)
    }

    func testRelaysWindowAndEmptyMinutesAreRefused() {
        let now = 1_795_000_000.0
        XCTAssertNil(SessionMinute(started: Int(now) - 120, counts: [.exited: 1]).refusal(now: now))
        XCTAssertEqual(SessionMinute(started: Int(now) - 6 * 86400, counts: [.exited: 1]).refusal(now: now), "older than 5 days")
        XCTAssertEqual(SessionMinute(started: Int(now) + 600, counts: [.exited: 1]).refusal(now: now), "in the future")
        XCTAssertEqual(SessionMinute(started: Int(now), counts: [.exited: 0]).refusal(now: now), "no sessions")
    }

    func testTheLoadersFrameDecodesAndHostileCountsAreNotNegative() throws {
        let bytes = LoaderFrame.encode([("kind", Array("sessions".utf8)), ("minute", Array("1795000050".utf8)),
                                        ("exited", Array("5".utf8)), ("crashed", Array("-3".utf8)), ("errored", Array("x".utf8))])
        let f = try LoaderFrame.decode(bytes[...])
        XCTAssertEqual(f.kind, .sessions)
        XCTAssertEqual(f.sessions, SessionMinute(started: 1_795_000_020, counts: [.exited: 5]))
    }

    func testAMinuteFromAHostileFrameNeitherTrapsNorGoes() {
        for started in [Int.min, -61, Int.max] {
            let m = SessionMinute(started: started, counts: [.exited: 1])
            XCTAssertNotNil(m.refusal(now: 1_795_000_000), "\(started)")
            XCTAssertEqual(m.started % 60, 0)
        }
    }
}
