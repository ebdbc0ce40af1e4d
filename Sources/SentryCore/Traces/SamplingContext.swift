// The Dynamic Sampling Context a transaction's envelope carries in its `trace`
// header (Sentry's develop docs, "Dynamic Sampling Context"; Relay's
// relay-sampling/src/dsc.rs). Every value a STRING: Relay refuses a numeric
// sample_rate and then ignores the whole header, silently.
//
// A trace that came with `sentry-` baggage keeps it as it came (the head of the trace
// decided it; it is frozen); only a missing sample_rand is filled. A trace we start,
// or one that came with a sentry-trace header alone, gets ours.

public struct SamplingContext: Equatable {
    /// In order, names without the `sentry-` prefix, values decoded.
    public var entries: [Field]

    /// `baggage`: the request's header; `decided`: the incoming sentry-trace flag made
    /// the decision (so our own rand must be moved below the rate: the request was sampled).
    public static func of(baggage: String?, traceID: String, publicKey: String, sampleRate: String, sampleRand: String,
                          decidedUpstream: Bool, release: String?, environment: String, transaction: String?) -> SamplingContext {
        let incoming = sentryEntries(baggage)
        if !incoming.isEmpty {
            var e = incoming
            if e.last(named: "sample_rand") == nil {
                let rate = e.last(named: "sample_rate").flatMap(Double.init) ?? Double(sampleRate) ?? 1
                e.append(Field("sample_rand", rand(sampleRand, below: rate, moved: decidedUpstream)))
            }
            return SamplingContext(entries: e)
        }
        var e = [Field("trace_id", traceID), Field("public_key", publicKey), Field("sample_rate", sampleRate),
                 Field("sample_rand", rand(sampleRand, below: Double(sampleRate) ?? 1, moved: decidedUpstream)),
                 Field("sampled", "true"), Field("environment", environment)]
        if let release { e.append(Field("release", release)) }
        if let transaction { e.append(Field("transaction", transaction)) }
        return SamplingContext(entries: e)
    }

    /// A sampled request's rand, in [0, rate): as it is when our rate decided it; scaled
    /// into it when the upstream's flag did (Sentry's rule for a missing sample_rand).
    static func rand(_ text: String, below rate: Double, moved: Bool) -> String {
        let r = min(max(Double(text) ?? 0, 0), 0.999999)
        let v = moved ? r * min(max(rate, 0), 1) : r
        return six(v)
    }

    /// Six decimals, truncated (never rounded up onto the rate).
    static func six(_ v: Double) -> String {
        let n = v.isFinite ? Int((min(max(v, 0), 0.999999) * 1e6).rounded(.down)) : 0
        let frac = String(n % 1_000_000)
        return "\(n / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
    }

    /// The `sentry-` members of a W3C baggage header: `key=value[;props]`, comma
    /// separated, values percent-encoded. Malformed members are left out.
    public static func sentryEntries(_ baggage: String?) -> [Field] {
        guard let baggage, baggage.utf8.count <= 8192 else { return [] }
        var out: [Field] = []
        for member in baggage.split(separator: ",") {
            let kv = member.split(separator: ";", maxSplits: 1)[0]
            guard let eq = kv.firstIndex(of: "=") else { continue }
            let key = String(kv[..<eq]).trimmingSpaces()
            guard key.hasPrefix("sentry-"), key.utf8.count > 7 else { continue }
            let value = percentDecoded(String(kv[kv.index(after: eq)...]).trimmingSpaces())
            let name = String(key.dropFirst(7))
            out.removeAll { $0.name == name }  // the last one counts
            out.append(Field(name, value))
        }
        return out
    }

    static func percentDecoded(_ s: String) -> String {
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == 37, i + 2 < u.count, let h = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(h); i += 3
            } else { bytes.append(u[i]); i += 1 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The envelope header's `trace` object.
    func write(into w: inout JSONWriter) {
        w.openObject("trace")
        for f in entries { w.string(f.name, f.value) }
        w.closeObject()
    }
}
