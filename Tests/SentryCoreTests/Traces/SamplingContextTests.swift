import XCTest
@testable import SentryCore

final class SamplingContextTests: XCTestCase {
    func dsc(_ baggage: String?, decided: Bool = false, rate: String = "0.25", rand: String = "0.100000") -> [String: String] {
        let c = SamplingContext.of(baggage: baggage, traceID: "t", publicKey: "k", sampleRate: rate, sampleRand: rand,
                                   decidedUpstream: decided, release: "app@1", environment: "prod", transaction: nil)
        return Dictionary(c.entries.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
    }

    func testOursWhenNoSentryBaggageCameEveryValueAString() {
        XCTAssertEqual(dsc(nil), ["trace_id": "t", "public_key": "k", "sample_rate": "0.25", "sample_rand": "0.100000",
                                  "sampled": "true", "release": "app@1", "environment": "prod"])
        XCTAssertEqual(dsc("other=1,foo=bar")["public_key"], "k", "no sentry- members: ours")
    }

    func testAnUpstreamFlagMovesOurRandBelowTheRate() {
        XCTAssertEqual(dsc(nil, decided: true, rand: "0.800000")["sample_rand"], "0.200000")
        XCTAssertEqual(dsc(nil, decided: true, rate: "0", rand: "0.8")["sample_rand"], "0.000000")
    }

    func testIncomingSentryBaggageIsFrozenOnlyAMissingRandFilled() {
        let d = dsc("sentry-trace_id=up,sentry-public_key=theirs,sentry-sample_rate=0.5,sentry-transaction=GET%20%2Fx,other=1",
                    decided: true, rand: "0.600000")
        XCTAssertEqual(d, ["trace_id": "up", "public_key": "theirs", "sample_rate": "0.5", "transaction": "GET /x",
                           "sample_rand": "0.300000"])
        XCTAssertEqual(dsc("sentry-trace_id=up,sentry-sample_rand=0.123456")["sample_rand"], "0.123456")
        XCTAssertEqual(dsc("sentry-trace_id=a,sentry-trace_id=b;prop=1")["trace_id"], "b", "the last one counts")
    }

    func testSixDecimalsTruncatedNeverOntoTheRate() {
        XCTAssertEqual(SamplingContext.six(0.2499999), "0.249999")
        XCTAssertEqual(SamplingContext.rand("x", below: 1, moved: false), "0.000000")
        XCTAssertEqual(SamplingContext.rand("5", below: 1, moved: false), "0.999999")
    }
}
