// Envelope -> Sentry's envelope endpoint, and what came back -> an Outcome.
// Sentry's rule: only a failure WITHOUT an HTTP answer may be retried; any HTTP
// status is final (2xx delivered, 429 rate-limited, anything else rejected).
import CurlHTTP

/// What became of one envelope.
public enum Outcome {
    case accepted(HTTPResponse)
    case rateLimited(HTTPResponse, retryAfter: Double)
    case rejected(HTTPResponse)
    /// No HTTP answer (refused, DNS, timeout, TLS, reset): worth keeping and retrying.
    case noAnswer(String)
    /// Our side could not send at all (libcurl missing, an option it refused).
    case localFailure(String)

    /// The HTTP answer, when there was one.
    public var response: HTTPResponse? {
        switch self {
        case .accepted(let r), .rateLimited(let r, _), .rejected(let r): return r
        case .noAnswer, .localFailure: return nil
        }
    }

    /// Our side failed, not the network.
    public var isLocal: Bool {
        if case .localFailure = self { return true }
        return false
    }

    /// Keep the envelope for a later try: nothing final happened to it.
    public var isRetryable: Bool {
        switch self {
        case .noAnswer, .localFailure: return true
        default: return false
        }
    }
}

public enum Transport {
    public static func request(envelope: [UInt8], dsn: DSN, options: Options) -> HTTPRequest {
        HTTPRequest(
            url: dsn.envelopeURL,
            headers: [
                dsn.authHeader(client: Version.client),
                "Content-Type: application/x-sentry-envelope",
                "User-Agent: " + Version.client,
                "Expect:",  // no 100-continue round trip
            ],
            body: envelope, timeout: options.timeout, verifyTLS: !options.noVerify, caFile: options.caFile)
    }

    /// What a transfer's result means. Pure: the response fuzz target drives it.
    public static func classify(_ result: Result<RawResponse, TransferError>, now: Double = StateDirectory.now()) -> Outcome {
        switch result {
        case .failure(.libraryMissing): return .localFailure("cannot load libcurl.so.4 (install libcurl4)")
        case .failure(.setup(let text)): return .localFailure(text)
        case .failure(.network(let text)): return .noAnswer(text)
        case .success(let raw):
            let response = HTTPResponse(raw)
            switch response.status {
            // A web page that says 200 to any POST has not stored an event.
            case 200..<300: return response.isHTML ? .rejected(response) : .accepted(response)
            case 429: return .rateLimited(response, retryAfter: RateLimits.from(response, now: now).map(\.seconds).max() ?? RateLimits.defaultSeconds)
            default: return .rejected(response)
            }
        }
    }

    /// Why the server refused, in one short printable line: X-Sentry-Error, a JSON
    /// `detail`, or a word on what came back when it was not Sentry at all.
    public static func reason(_ r: HTTPResponse) -> String {
        if let e = r.header("x-sentry-error"), !e.isEmpty { return Event.clip(e.replacingNewlines(), 200) }
        if let detail = jsonStringField("detail", in: r.body), !detail.isEmpty { return Event.clip(detail.replacingNewlines(), 200) }
        if r.isHTML { return "the server answered with an HTML page: is the DSN pointing at Sentry?" }
        if r.bodyCut { return "the server's answer went on past 1 MiB: is the DSN pointing at Sentry?" }
        let body = r.body.trimmingSpaces()
        return body.isEmpty ? "no details given" : Event.clip(body.replacingNewlines(), 200)
    }

    /// The string value of `"name": "..."` in a small JSON body (no full parser needed).
    static func jsonStringField(_ name: String, in body: String) -> String? {
        guard let key = body.find("\"\(name)\"") else { return nil }
        var rest = body[key.upperBound...].drop(while: { $0 == " " || $0 == ":" })
        guard rest.first == "\"" else { return nil }
        rest = rest.dropFirst()
        var out = ""
        var escaped = false
        for c in rest.prefix(4096) {
            if escaped { out.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { return out }
            out.append(c)
        }
        return nil
    }
}
