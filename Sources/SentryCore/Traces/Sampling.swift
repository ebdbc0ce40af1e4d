// The sampling decision for a request the worker never finished (harakiri cut it,
// or the worker died in it): the same rule the worker applies to the requests it
// finishes (plugin/sentry/traces.c), here in the daemon, from what the master read
// of the request. The incoming sentry-trace flag first, else the rate against the
// trace's sample_rand: the baggage's, else the incoming trace id's first 13 hex
// digits as a fraction, else a random one.
public enum Sampling {
    public struct Decision: Equatable {
        public var sampled: Bool
        /// Six decimals, as the sampling context carries it.
        public var rand: String
        /// `baggage`, `trace` (from the incoming trace id) or `ours`.
        public var from: String
    }

    public static func decide(vars: [Field], rate: Double) -> Decision {
        let st = vars.last(named: "HTTP_SENTRY_TRACE"), tp = vars.last(named: "HTTP_TRACEPARENT")
        var flag: Bool? = nil
        if let st, st.utf8.count == 51, let last = st.utf8.last, Array(st.utf8)[49] == 45 {
            flag = last == 49 ? true : last == 48 ? false : nil
        }
        var rand: Double, from: String
        if let r = SamplingContext.sentryEntries(vars.last(named: "HTTP_BAGGAGE")).last(named: "sample_rand").flatMap(Double.init),
           r >= 0, r < 1 {
            (rand, from) = (r, "baggage")
        } else if let r = st.flatMap(ofTrace) ?? tp.flatMap({ $0.utf8.count >= 35 ? ofTrace(String($0.dropFirst(3))) : nil }) {
            (rand, from) = (r, "trace")
        } else {
            (rand, from) = (ofTrace(System.randomEventID()) ?? 0, "ours")
        }
        rand = (rand * 1e6).rounded(.down) / 1e6
        return Decision(sampled: flag ?? (rand < rate), rand: SamplingContext.six(rand), from: from)
    }

    /// The first 13 hex digits of a trace id as a fraction of 16^13.
    static func ofTrace(_ id: String) -> Double? {
        guard id.utf8.count >= 32, let n = UInt64(String(id.prefix(13)), radix: 16) else { return nil }
        return Double(n) / 4_503_599_627_370_496
    }
}
