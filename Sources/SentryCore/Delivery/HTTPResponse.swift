// The server's answer, parsed. Everything here comes from the network (or from a
// proxy in front of Sentry) and is treated as hostile: bounded, repaired, never
// trusted to be well-formed.
import CurlHTTP

public struct HTTPResponse {
    public var status: Int
    /// Header names lower-cased, in arrival order, of the final response only.
    public var headers: [Field]
    /// The first 8 KiB of the body, UTF-8 repaired.
    public var body: String
    /// The body went on past 1 MiB and was cut there.
    public var bodyCut = false

    public init(status: Int, headers: [Field], body: String) {
        self.status = status; self.headers = headers; self.body = body
    }

    public init(_ raw: RawResponse) {
        self.init(status: raw.status, headers: HTTPResponse.parseHeaders(raw.headerBytes),
                  body: String(decoding: raw.bodyBytes, as: UTF8.self))
        bodyCut = raw.bodyCut
    }

    /// The last header named `name` (any case).
    public func header(_ name: String) -> String? {
        let n = name.asciiLowercased()
        return headers.last(where: { $0.name == n })?.value
    }

    /// Every header named `name` (any case), in arrival order: a header may repeat.
    public func headers(named name: String) -> [String] {
        let n = name.asciiLowercased()
        return headers.filter { $0.name == n }.map(\.value)
    }

    /// An HTML page (a web server that is not Sentry): the content type says so AND
    /// there is a page. Bugsink answers an envelope without an event (client reports
    /// alone) with an empty text/html 200, and that is an acceptance.
    var isHTML: Bool {
        (header("content-type") ?? "").asciiLowercased().hasPrefix("text/html")
            && body.drop(while: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).hasPrefix("<")
    }

    /// Header lines of the LAST response in `raw` (a proxy's CONNECT answer or a
    /// 1xx may come first), names lower-cased, values trimmed.
    static func parseHeaders(_ raw: [UInt8]) -> [Field] {
        var headers: [Field] = []
        var start = 0
        while start < raw.count {
            var end = raw[start...].firstIndex(of: 10) ?? raw.count
            let next = end + 1
            if end > start && raw[end - 1] == 13 { end -= 1 }
            let l = raw[start..<end]
            start = next
            if l.starts(with: "HTTP/".utf8) { headers.removeAll(); continue }
            guard let colon = l.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: l[..<colon], as: UTF8.self).asciiLowercased().trimmingSpaces()
            let value = String(decoding: l[(colon + 1)...], as: UTF8.self).trimmingSpaces()
            headers.append(Field(name, value))
        }
        return headers
    }
}
