import XCTest
@testable import SentryCore

final class SamplingTests: XCTestCase {
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    func testTheUpstreamFlagFirstThenTheRateAgainstTheTracesRand() {
        let yes = Sampling.decide(vars: [Field("HTTP_SENTRY_TRACE", "\(trace)-00f067aa0ba902b7-1")], rate: 0)
        XCTAssertTrue(yes.sampled)
        let no = Sampling.decide(vars: [Field("HTTP_SENTRY_TRACE", "\(trace)-00f067aa0ba902b7-0")], rate: 1)
        XCTAssertFalse(no.sampled)
        // No flag: the incoming trace id's first 13 hex digits, as the worker does (0x4bf92f3577b34 / 16^13).
        let undecided = Sampling.decide(vars: [Field("HTTP_SENTRY_TRACE", "\(trace)-00f067aa0ba902b7")], rate: 0.3)
        XCTAssertEqual(undecided, Sampling.Decision(sampled: true, rand: "0.296771", from: "trace"))
        XCTAssertFalse(Sampling.decide(vars: [Field("HTTP_TRACEPARENT", "00-\(trace)-00f067aa0ba902b7-01")], rate: 0.29).sampled)
        let baggage = Sampling.decide(vars: [Field("HTTP_SENTRY_TRACE", "\(trace)-00f067aa0ba902b7"),
                                             Field("HTTP_BAGGAGE", "sentry-sample_rand=0.9,other=1")], rate: 0.5)
        XCTAssertEqual(baggage, Sampling.Decision(sampled: false, rand: "0.900000", from: "baggage"))
    }

    func testHostileHeadersStillDecideWithinTheUnitInterval() {
        for v in ["", "zz", "-\(trace)", String(repeating: "f", count: 60), "\(trace)-x-1"] {
            let d = Sampling.decide(vars: [Field("HTTP_SENTRY_TRACE", v), Field("HTTP_BAGGAGE", "sentry-sample_rand=7")], rate: 0.5)
            let r = Double(d.rand) ?? -1
            XCTAssertTrue(r >= 0 && r < 1, "\(v): \(d.rand)")
        }
    }
}
