// Envelope -> Sentry's envelope endpoint, and the answer -> what happened.
// Sentry's rule: only a failure WITHOUT an HTTP answer may be retried; any HTTP
// status is final (2xx delivered, 429 rate-limited, anything else rejected).
import CurlHTTP

public enum Delivery {
    case accepted(HTTPResponse)
    case rateLimited(HTTPResponse, retryAfter: Double)
    case rejected(HTTPResponse)
    case networkFailure(String)
    case libraryMissing

    /// The HTTP answer, when there was one.
    public var response: HTTPResponse? {
        switch self {
        case .accepted(let r), .rateLimited(let r, _), .rejected(let r): return r
        case .networkFailure, .libraryMissing: return nil
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

    /// Sends `request`, on `handle` when given (a flusher reuses one connection).
    public static func send(_ request: HTTPRequest, using handle: EasyHandle? = nil) -> Delivery {
        switch handle?.perform(request) ?? EasyHandle.perform(request) {
        case .failure(.libraryMissing): return .libraryMissing
        case .failure(.network(let text)): return .networkFailure(text)
        case .success(let raw):
            let response = HTTPResponse(raw)
            switch response.status {
            // A web page that says 200 to any POST has not stored an event.
            case 200..<300: return (response.header("content-type") ?? "").hasPrefix("text/html") ? .rejected(response) : .accepted(response)
            case 429: return .rateLimited(response, retryAfter: RateLimits.from(response).map(\.seconds).max() ?? 60)
            default: return .rejected(response)
            }
        }
    }

    /// Why the server refused, in one short line: X-Sentry-Error, a JSON `detail`, or
    /// a word on what came back when it was not Sentry at all.
    public static func reason(_ r: HTTPResponse) -> String {
        if let e = r.header("x-sentry-error"), !e.isEmpty { return Event.clip(e.replacingNewlines(), 200) }
        if let detail = jsonStringField("detail", in: r.body) { return Event.clip(detail.replacingNewlines(), 200) }
        let type = r.header("content-type") ?? ""
        if type.hasPrefix("text/html") { return "the server answered with an HTML page: is the DSN pointing at Sentry?" }
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
        for c in rest {
            if escaped { out.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { return out }
            out.append(c)
        }
        return nil
    }
}
