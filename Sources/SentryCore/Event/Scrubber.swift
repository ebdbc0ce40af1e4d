// Sentry's default data scrubbing, done before anything leaves the host.
// Self-hosted servers (Bugsink among them) store what they receive, and sentry.io
// scrubs only where a project keeps its defaults; so what we send is already clean
// by Sentry's own standard: Relay's `@common:filter` rules for data fields, and
// the replace rules it applies to a message. Values are shaped as Relay shapes them
// (`[Filtered]`, `[creditcard]`, ...), so Relay finds nothing left to change; the
// tests run Relay's own scrubber (sentry_relay.pii_strip_event) as the oracle.
// Hand-written matchers over Unicode scalars: Regex would cost start-up time.

public enum Scrubber {
    public static let filtered = "[Filtered]"

    /// A value in a field Sentry scrubs by default (request query, headers and
    /// variables, extra, user, breadcrumbs, contexts). A credential-like name or
    /// value filters the whole value; card numbers, IBANs, US social security
    /// numbers, bearer tokens and PEM key bodies are filtered where they stand;
    /// a password in a URL (`//user:pw@`) too.
    public static func field(name: String?, _ value: String) -> String {
        if let name, keyIsSecret(name) { return filtered }
        if value.isEmpty || value == filtered || cannotMatch(value, asField: true) { return value }
        return scrubField(value)
    }

    /// `field` without the quick look (the tests compare the two).
    static func scrubField(_ value: String) -> String {
        let s = Array(value.unicodeScalars)
        if valueLooksSecret(s) { return filtered }
        var cuts: [(Range<Int>, String)] = []
        cuts += bearerTokens(s).map { ($0.whole, filtered) }
        cuts += creditCards(s).map { ($0, filtered) }
        cuts += ibans(s).map { ($0, filtered) }
        cuts += socialSecurityNumbers(s).map { ($0, filtered) }
        cuts += pemKeyBodies(s).map { ($0, filtered) }
        cuts += urlPasswords(s).map { ($0, filtered) }
        return apply(cuts, to: s) ?? value
    }

    /// A message (logentry): Sentry keeps it readable and only replaces emails, card
    /// numbers, IBANs, US social security numbers and bearer tokens.
    public static func message(_ text: String) -> String {
        if cannotMatch(text, asField: false) { return text }
        return scrubMessage(text)
    }

    /// `message` without the quick look.
    static func scrubMessage(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        var cuts: [(Range<Int>, String)] = []
        cuts += emails(s).map { ($0, "[email]") }
        cuts += creditCards(s).map { ($0, "[creditcard]") }
        cuts += ibans(s).map { ($0, "[iban]") }
        cuts += socialSecurityNumbers(s).map { ($0, "[us-ssn]") }
        cuts += bearerTokens(s).map { ($0.token, "[token]") }
        return apply(cuts, to: s) ?? text
    }

    /// `a=1&token=x&cc=4111...` with each pair scrubbed by name and (URL-decoded) value.
    public static func query(_ q: String) -> String {
        var out = ""
        var first = true
        for part in q.split(separator: "&", omittingEmptySubsequences: false) {
            if !first { out += "&" }
            first = false
            guard let eq = part.firstIndex(of: "=") else { out += String(part); continue }
            let name = String(part[..<eq]), value = String(part[part.index(after: eq)...])
            let decoded = percentDecoded(value)
            out += name + "=" + (field(name: percentDecoded(name), decoded) == decoded ? value : filtered)
        }
        return out
    }

    /// True when no rule can match `text`, seen in one pass over its bytes: most log
    /// lines and messages have no `@`, no 9 digits in a row (spaces or dashes between
    /// them allowed), no `XX00` (an IBAN's start) and none of the words the rules need. Non-ASCII text (Unicode digits
    /// count for cards) always takes the full path.
    static func cannotMatch(_ text: String, asField: Bool) -> Bool {
        var text = text
        return text.withUTF8 { cannotMatch(bytes: $0, asField: asField) }
    }

    /// `cannotMatch` of a string's UTF-8 bytes (a local's value read in place).
    static func cannotMatch(bytes text: UnsafeBufferPointer<UInt8>, asField: Bool) -> Bool {
        // The lowercase copy on the stack (most strings are short), not the heap.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, text.count)) { lower in
            cannotMatch(text, asField: asField, lower: lower)
        }
    }

    private static func cannotMatch(_ text: UnsafeBufferPointer<UInt8>, asField: Bool, lower: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        func isUpper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func isSeparator(_ c: UInt8) -> Bool { c == 45 || c == 32 || (c >= 9 && c <= 13) }
        // digits: the longest run of digits joined by at most one space or dash each, as
        // a card (15 or 16) or a US SSN (9) is; a date or a time breaks it with `:`.
        var digits = 0, run = 0, dashes = 0, at = false, ibanStart = false
        var p1: UInt8 = 0, p2: UInt8 = 0, p3: UInt8 = 0  // the bytes before this one
        var n = 0
        for c in text {
            if c >= 128 { return false }
            if isDigit(c) {
                run = isDigit(p1) || (isSeparator(p1) && isDigit(p2)) ? run + 1 : 1
                digits = max(digits, run)
                if isDigit(p1) && isUpper(p2) && isUpper(p3) { ibanStart = true }
            } else if !(isSeparator(c) && isDigit(p1)) {
                run = 0
            }
            if c == 64 { at = true }
            if c == 45 { dashes += 1 }
            lower[n] = isUpper(c) ? c + 32 : c
            n += 1
            p3 = p2; p2 = p1; p1 = c
        }
        let low = UnsafeBufferPointer(rebasing: lower[0..<n])
        if at || digits >= 9 || ibanStart { return false }
        let words = Scrubber.quickWords.found(in: low)  // both kinds, in one pass
        if words & 1 != 0 { return false }  // bearer
        guard asField else { return true }
        if dashes >= 5 { return false }  // a PEM armour line
        if words != 0 { return false }
        return !Scrubber.wholeFieldWords.contains { $0.elementsEqual(low) }
    }

    // The words cannotMatch looks for, made once (made per call they were most of its
    // cost): "bearer" (bit 0), for a message too, then the words of a field's secrets.
    private static let quickWords = WordSet(["bearer", "passw", "secret", "api", "auth", "credential", "mysql_pwd", "private", "token"])
    private static let wholeFieldWords = ["otp", "two-factor", "two_factor"].map { Array($0.utf8) }

    // MARK: names and values that mean a credential

    /// Relay's key rules: a name with `token` in it, or one that matches its
    /// password pattern. Ours also cover cookies, sessions and a few more.
    static func keyIsSecret(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { keyIsSecret(bytes: $0) }
    }

    /// `keyIsSecret` of a name's UTF-8 bytes (a local's name read in place). The same
    /// names come again and again (a burst's frames hold the same locals): a name's
    /// answer is remembered (`SecretNames`).
    static func keyIsSecret(bytes raw: UnsafeBufferPointer<UInt8>) -> Bool {
        secretNames.answer(raw, else: keyIsSecretWorkedOut)
    }

    private static let secretNames = SecretNames()

    static func keyIsSecretWorkedOut(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        // Every local's name and every field's comes here: lowercased on the stack, the
        // words looked for in one pass (a String and a search per word were 6,000
        // instructions a name, callgrind).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, raw.count)) { buffer in
            for i in 0..<raw.count { let c = raw[i]; buffer[i] = c >= 65 && c <= 90 ? c + 32 : c }
            let n = UnsafeBufferPointer(rebasing: buffer[0..<raw.count])
            if secretKeyWords.occurs(in: n) { return true }
            if wholeSecretKeys.contains(where: { $0.elementsEqual(n) }) { return true }
            return n.count >= 4 && (n[(n.count - 4)...].elementsEqual("_key".utf8) || n[(n.count - 4)...].elementsEqual("-key".utf8))
        }
    }

    private static let secretKeyWords = WordSet(["token", "auth", "cookie", "secret", "passw", "pwd", "session", "csrf", "credential",
                                                 "signature", "api_key", "apikey", "api-key", "private", "dsn"])
    private static let wholeSecretKeys = ["otp", "two_factor", "two-factor"].map { Array($0.utf8) }

    /// Relay's password pattern, which it applies to values as well as names:
    /// `password|secret|passwd|api[-_]key|apikey|auth|credentials|mysql_pwd|
    /// privatekey|private[-_]key|token[^\s]*[:=]|^otp$|^two[-_]factor$`, any case.
    /// The words a secret's value gives itself away by (made once).
    static let secretWords = WordSet(["password", "secret", "passwd", "api-key", "api_key", "apikey", "auth", "credentials",
                                      "mysql_pwd", "privatekey", "private-key", "private_key"])
    static let tokenWord: [UInt32] = "token".unicodeScalars.map(\.value)

    /// Compared in place: an array per candidate position was 12% of the daemon's
    /// instructions per exception event (every breadcrumb of every event goes through here).
    static func valueLooksSecret(_ s: [Unicode.Scalar]) -> Bool {
        let lower = s.map { $0.value >= 65 && $0.value <= 90 ? $0.value + 32 : $0.value }
        if secretWords.occurs(in: lower) { return true }
        if s.count <= 10 {  // the whole value one of these words
            let whole = String(String.UnicodeScalarView(s)).asciiLowercased()
            if whole == "otp" || whole == "two-factor" || whole == "two_factor" { return true }
        }
        // token, then anything but white space, then : or =
        let token = tokenWord
        var i = 0
        while i + token.count <= lower.count {
            if lower[i] == token[0] && lower[i..<(i + token.count)].elementsEqual(token) {
                var j = i + token.count
                while j < lower.count && !isSpace(lower[j]) {
                    if lower[j] == 58 || lower[j] == 61 { return true }
                    j += 1
                }
            }
            i += 1
        }
        return false
    }

    // MARK: helpers

    /// `cuts` applied (overlapping ones merged, the first wins); nil when there are none.
    static func apply(_ cuts: [(Range<Int>, String)], to s: [Unicode.Scalar]) -> String? {
        guard !cuts.isEmpty else { return nil }
        // As UTF-8 bytes, then one String: a scalar at a time into a String's scalar
        // view was a third of scrubbing a string that holds a card number.
        var out: [UInt8] = []
        out.reserveCapacity(s.count + 16)
        func add(_ scalars: ArraySlice<Unicode.Scalar>) {
            for c in scalars { if c.value < 128 { out.append(UInt8(c.value)) } else { UTF8.encode(c) { out.append($0) } } }
        }
        var at = 0
        for (range, replacement) in cuts.sorted(by: { $0.0.lowerBound < $1.0.lowerBound }) where range.lowerBound >= at {
            add(s[at..<range.lowerBound])
            out += replacement.utf8
            at = range.upperBound
        }
        add(s[at...])
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecoded(_ s: String) -> String {
        guard s.utf8.contains(UInt8(ascii: "%")) || s.utf8.contains(UInt8(ascii: "+")) else { return s }
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "+") { out.append(32); i += 1; continue }
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let hi = hexValue(b[i + 1]), let lo = hexValue(b[i + 2]) {
                out.append(hi << 4 | lo); i += 3; continue
            }
            out.append(b[i]); i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    static func lowered(_ c: Unicode.Scalar) -> UInt32 { c.value >= 65 && c.value <= 90 ? c.value + 32 : c.value }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }
    /// `\d` in Unicode's sense: any decimal digit, not only 0-9.
    static func isDecimal(_ c: Unicode.Scalar) -> Bool { c.value < 128 ? isDigit(c) : c.properties.generalCategory == .decimalNumber }
    static func isUpper(_ c: Unicode.Scalar) -> Bool { c.value >= 65 && c.value <= 90 }
    static func isASCIILetter(_ c: Unicode.Scalar) -> Bool { isUpper(c) || (c.value >= 97 && c.value <= 122) }
    static func isASCIIAlnum(_ c: Unicode.Scalar) -> Bool { isDigit(c) || isASCIILetter(c) }
    static func isLowerAlnum(_ c: Unicode.Scalar) -> Bool { isDigit(c) || (c.value >= 97 && c.value <= 122) }
    static func isSpace(_ v: UInt32) -> Bool { v == 32 || (v >= 9 && v <= 13) || v == 0x85 || v == 0xA0 || v == 0x1680 || (v >= 0x2000 && v <= 0x200A) || v == 0x2028 || v == 0x2029 || v == 0x202F || v == 0x205F || v == 0x3000 }

    /// Rust's Unicode `\w`: letters, marks, decimal digits, connector punctuation.
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c.value < 128 { return isASCIIAlnum(c) || c == "_" }
        let p = c.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// `\b` before position i, where s[i] is a word character.
    static func boundaryBefore(_ s: [Unicode.Scalar], _ i: Int) -> Bool { i == 0 || !isWord(s[i - 1]) }
    /// `\b` at position i, after a word character.
    static func boundaryAfterWord(_ s: [Unicode.Scalar], _ i: Int) -> Bool { i >= s.count || !isWord(s[i]) }
}

/// Answers for names, remembered: a slot per hash of the name (FNV-1a), the name kept
/// to check a hit, a slot's answer replaced by the next name that hashes there. Names
/// longer than `maxName` are worked out every time. One thread (the daemon's, a
/// sender's) uses it.
final class SecretNames {
    static let slots = 512
    static let maxName = 64
    private var names = [[UInt8]](repeating: [], count: SecretNames.slots)
    private var answers = [Bool?](repeating: nil, count: SecretNames.slots)

    func answer(_ name: UnsafeBufferPointer<UInt8>, else work: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        guard name.count <= SecretNames.maxName else { return work(name) }
        var h: UInt64 = 0xcbf29ce484222325
        for c in name { h = (h ^ UInt64(c)) &* 0x100000001b3 }
        let slot = Int(truncatingIfNeeded: h >> 32) & (SecretNames.slots - 1)
        if let known = answers[slot], names[slot].elementsEqual(name) { return known }
        let answer = work(name)
        names[slot] = Array(name)
        answers[slot] = answer
        return answer
    }
}
