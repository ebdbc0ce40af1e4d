// {SCHEME}://{PUBLIC_KEY}[:{SECRET_KEY}]@{HOST}[:{PORT}]{PATH}/{PROJECT_ID}
// The secret is optional (deprecated by Sentry; the old plugin required it and so
// failed on every modern DSN). Every part is checked against a narrow alphabet so
// nothing from a DSN can smuggle a CR/LF into a request header.

public struct DSN: Equatable {
    public let scheme: String      // "http" or "https"
    public let publicKey: String
    public let secretKey: String?
    public let host: String        // IPv6 keeps its brackets: "[::1]"
    public let port: Int?
    public let pathPrefix: String  // "" or "/some/prefix"
    public let projectID: String
    /// The project and key it names (what rate limits and client reports belong to),
    /// made once: the daemon asks for it several times per event.
    public let identity: String

    public struct ParseError: Error, CustomStringConvertible {
        public var reason: String
        public var masked: String
        public var description: String { "invalid DSN \(masked): \(reason)" }
    }

    /// scheme://host[:port]: who answers, for messages.
    public var origin: String { scheme + "://" + host + (port.map { ":\($0)" } ?? "") }

    public var envelopeURL: String { origin + pathPrefix + "/api/" + projectID + "/envelope/" }

    /// The DSN without its secret: what the envelope header carries.
    public var publicDSN: String { scheme + "://" + publicKey + "@" + host + (port.map { ":\($0)" } ?? "") + pathPrefix + "/" + projectID }

    /// The DSN as it may appear in output: key and secret masked.
    public var masked: String { scheme + "://" + DSN.maskKey(publicKey) + (secretKey == nil ? "" : ":****") + "@" + host + (port.map { ":\($0)" } ?? "") + pathPrefix + "/" + projectID }

    public func authHeader(client: String) -> String {
        var h = "X-Sentry-Auth: Sentry sentry_version=7, sentry_client=\(client), sentry_key=\(publicKey)"
        if let secretKey { h += ", sentry_secret=\(secretKey)" }
        return h
    }

    static func maskKey(_ key: String) -> String {
        key.count <= 4 ? "****" : String(key.prefix(4)) + "****"
    }

    /// Masks whatever sits between "://" and the last "@" of a string that failed to
    /// parse, so an error message never shows a key or secret.
    public static func mask(_ text: String) -> String {
        var s = Array(text.replacingNewlines().utf8)
        if s.count > 200 { s = Array(s[0..<200]) + Array("...".utf8) }
        let str = String(decoding: s, as: UTF8.self)
        let start = str.find("://")?.upperBound ?? str.startIndex
        guard let at = str[start...].lastIndex(of: "@") else { return str }
        let userinfo = String(str[start..<at])
        return String(str[..<start]) + maskKey(userinfo) + String(str[at...])
    }

    public init(scheme: String, publicKey: String, secretKey: String? = nil, host: String,
                port: Int? = nil, pathPrefix: String = "", projectID: String) {
        self.scheme = scheme; self.publicKey = publicKey; self.secretKey = secretKey
        self.host = host; self.port = port; self.pathPrefix = pathPrefix; self.projectID = projectID
        identity = publicKey + "@" + host + (port.map { ":\($0)" } ?? "") + pathPrefix + "/" + projectID
    }

    public init(parsing text: String) throws {
        func fail(_ reason: String) -> ParseError { ParseError(reason: reason, masked: DSN.mask(text)) }
        let bytes = Array(text.utf8)
        guard let sep = text.find("://") else { throw fail("expected scheme://key@host/project") }
        let scheme = String(text[..<sep.lowerBound]).asciiLowercased()
        guard scheme == "http" || scheme == "https" else { throw fail("scheme must be http or https") }
        if bytes.contains(where: { $0 <= 32 || $0 >= 127 }) { throw fail("contains spaces, control or non-ASCII characters") }
        let rest = String(text[sep.upperBound...])
        if rest.contains("?") || rest.contains("#") { throw fail("a query or fragment is not allowed") }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = String(rest[authorityEnd...])
        guard let at = authority.lastIndex(of: "@") else { throw fail("missing public key (expected key@host)") }
        let userinfo = authority[..<at]
        let hostPort = String(authority[authority.index(after: at)...])

        let colon = userinfo.firstIndex(of: ":")
        let key = String(userinfo[..<(colon ?? userinfo.endIndex)])
        guard !key.isEmpty else { throw fail("missing public key") }
        guard DSN.isToken(key) else { throw fail("public key has characters outside [A-Za-z0-9._~-]") }
        guard key.utf8.count <= 128 else { throw fail("public key is longer than 128 characters") }
        var secret: String? = nil
        if let colon {
            let s = String(userinfo[userinfo.index(after: colon)...])
            guard DSN.isToken(s) else { throw fail("secret key has characters outside [A-Za-z0-9._~-]") }
            if !s.isEmpty { secret = s }
        }

        var host = hostPort
        var port: Int? = nil
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("unterminated IPv6 address") }
            host = String(hostPort[...close])
            let inner = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            guard !inner.isEmpty, inner.utf8.allSatisfy({ DSN.isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { throw fail("bad IPv6 address") }
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after IPv6 address") }
                port = try DSN.port(String(after.dropFirst()), fail)
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try DSN.port(String(hostPort[hostPort.index(after: colon)...]), fail)
        }
        guard !host.isEmpty else { throw fail("missing host") }
        if !host.hasPrefix("[") {
            guard host.utf8.allSatisfy({ DSN.isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
            else { throw fail("bad host name") }
        }

        var trimmed = path
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { throw fail("missing project id (expected .../PROJECT_ID)") }
        let project = String(trimmed[trimmed.index(after: slash)...])
        let prefix = String(trimmed[..<slash])
        guard !project.isEmpty, project.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw fail("project id must be a number")
        }
        guard prefix.utf8.allSatisfy({ DSN.isAlnum($0) || "/._~-%".utf8.contains($0) }) else {
            throw fail("bad path prefix")
        }
        self.init(scheme: scheme, publicKey: key, secretKey: secret, host: host, port: port,
                  pathPrefix: prefix, projectID: project)
    }

    private static func port(_ text: String, _ fail: (String) -> ParseError) throws -> Int {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let p = Int(text), p >= 1, p <= 65535 else { throw fail("bad port '\(text)'") }
        return p
    }

    static func isAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
    static func isHex(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102) }
    static func isToken(_ s: String) -> Bool { s.utf8.allSatisfy { isAlnum($0) || "._~-".utf8.contains($0) } }
}
