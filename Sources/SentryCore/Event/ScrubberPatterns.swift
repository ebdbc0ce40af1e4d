// The patterns Sentry's scrubber finds where they stand in a text: bearer tokens,
// card numbers, IBANs, US social security numbers, e-mail addresses, PEM key bodies
// and passwords in URLs. Hand-written over Unicode scalars, each the regex it names,
// as Relay's regex engine takes it (leftmost-first, greedy, `\d` and `\s` in
// Unicode's sense); Scrubber decides what replaces them.

extension Scrubber {
    /// `\b(Bearer\s+)([^\s]+)`, any case: the whole match, and the token alone.
    static func bearerTokens(_ s: [Unicode.Scalar]) -> [(whole: Range<Int>, token: Range<Int>)] {
        var out: [(Range<Int>, Range<Int>)] = []
        let word = "bearer".unicodeScalars.map(\.value)
        var i = 0
        while i + word.count < s.count {
            if boundaryBefore(s, i) && (0..<word.count).allSatisfy({ lowered(s[i + $0]) == word[$0] }) {
                var j = i + word.count
                guard boundaryAfterWord(s, j), j < s.count, isSpace(s[j].value) else { i += 1; continue }
                while j < s.count && isSpace(s[j].value) { j += 1 }
                let start = j
                while j < s.count && !isSpace(s[j].value) { j += 1 }
                if j > start { out.append((i..<j, start..<j)); i = j; continue }
            }
            i += 1
        }
        return out
    }

    /// Relay's card pattern: `\b((?:3[47]\d|4\d{3}|5[1-5]\d\d|65\d\d|6011)([-\s]?\d){12})\b`
    /// (`\d` and `\s` in Unicode's sense, as Rust's regex takes them).
    static func creditCards(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        let prefixes = cardPrefixes
        var out: [Range<Int>] = []
        var i = 0
        while i < s.count {
            guard boundaryBefore(s, i), isWord(s[i]) else { i += 1; continue }
            var matched: Int? = nil
            for prefix in prefixes where i + prefix.count <= s.count && prefix.indices.allSatisfy({ prefix[$0](s[i + $0]) }) {
                var j = i + prefix.count, digits = 0
                while digits < 12 && j < s.count {
                    if isDecimal(s[j]) { j += 1; digits += 1; continue }
                    if (s[j] == "-" || isSpace(s[j].value)) && j + 1 < s.count && isDecimal(s[j + 1]) { j += 2; digits += 1; continue }
                    break
                }
                if digits == 12 && boundaryAfterWord(s, j) { matched = j; break }
            }
            if let end = matched { out.append(i..<end); i = end } else { i += 1 }
        }
        return out
    }

    private typealias ScalarClass = (Unicode.Scalar) -> Bool
    /// The five prefixes of the card pattern, made once (made per string, they were a
    /// third of scrubbing a string that holds a card number).
    private static let cardPrefixes: [[ScalarClass]] = {
        func one(_ chars: String) -> ScalarClass { let set = Array(chars.unicodeScalars); return { set.contains($0) } }
        let d: ScalarClass = isDecimal
        return [[one("3"), one("47"), d], [one("4"), d, d, d], [one("5"), one("12345"), d, d],
                [one("6"), one("5"), d, d], [one("6"), one("0"), one("1"), one("1")]]
    }()

    static let ibanCountries: Set<String> = [
        "AT", "AD", "AE", "AL", "AZ", "BA", "BE", "BG", "BH", "BR", "BY", "CH", "CR", "CY", "CZ", "DE", "DK", "DO", "EE",
        "EG", "ES", "FI", "FO", "FR", "GB", "GE", "GI", "GL", "GR", "GT", "HR", "HU", "IE", "IL", "IQ", "IS", "IT", "JO",
        "KW", "KZ", "LB", "LC", "LI", "LT", "LU", "LV", "LY", "MC", "MD", "ME", "MK", "MR", "MT", "MU", "NL", "NO", "PK",
        "PL", "PS", "PT", "QA", "RO", "RU", "RS", "SA", "SC", "SE", "SI", "SK", "SM", "ST", "SV", "TL", "TN", "TR", "UA",
        "VA", "VG", "XK", "DZ", "AO", "BJ", "BF", "BI", "CV", "CM", "CF", "TD", "KM", "CG", "CI", "DJ", "GQ", "GA", "GW",
        "HN", "IR", "MG", "ML", "MA", "MZ", "NI", "NE", "SN", "TG",
    ]

    /// `\b(COUNTRY)\d{2}[a-zA-Z0-9]{11,29}\b`.
    static func ibans(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i + 15 <= s.count {
            guard boundaryBefore(s, i), isUpper(s[i]), isUpper(s[i + 1]), isDecimal(s[i + 2]), isDecimal(s[i + 3]),
                  ibanCountries.contains(String(String.UnicodeScalarView(s[i..<(i + 2)]))) else { i += 1; continue }
            var j = i + 4
            while j < s.count && isASCIIAlnum(s[j]) { j += 1 }
            let run = j - (i + 4)
            if run >= 11 && run <= 29 && boundaryAfterWord(s, j) { out.append(i..<j); i = j; continue }
            i += 1
        }
        return out
    }

    /// `\b\d{3}-\d{2}-\d{4}\b`.
    static func socialSecurityNumbers(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let shape = Array("ddd-dd-dddd".unicodeScalars)
        var i = 0
        while i + shape.count <= s.count {
            if boundaryBefore(s, i),
               (0..<shape.count).allSatisfy({ shape[$0] == "d" ? isDigit(s[i + $0]) : s[i + $0] == "-" }),
               boundaryAfterWord(s, i + shape.count) {
                out.append(i..<(i + shape.count)); i += shape.count; continue
            }
            i += 1
        }
        return out
    }

    /// `\b[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}\b`,
    /// leftmost-first and greedy, as the regex engine takes it.
    static func emails(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let localPunctuation = Set(".!#$%&'*+/=?^_`{|}~-".unicodeScalars)
        func localChar(_ c: Unicode.Scalar) -> Bool { isASCIIAlnum(c) || localPunctuation.contains(c) }
        func isWordAt(_ i: Int) -> Bool { i >= 0 && i < s.count && isWord(s[i]) }
        var searchFrom = 0
        var at = 0
        while at < s.count {
            guard s[at] == "@" else { at += 1; continue }
            // The earliest start, within the local run, where \b holds.
            var runStart = at
            while runStart > searchFrom && localChar(s[runStart - 1]) { runStart -= 1 }
            var start: Int? = nil
            for p in runStart..<at where isWordAt(p - 1) != isWordAt(p) { start = p; break }
            // The longest domain that is labels, a final label of >= 2 letters, then \b.
            var runEnd = at + 1
            while runEnd < s.count && (isASCIIAlnum(s[runEnd]) || s[runEnd] == "-" || s[runEnd] == ".") { runEnd += 1 }
            var end: Int? = nil
            var e = runEnd
            while e > at + 1 {
                if isASCIILetter(s[e - 1]) && !isWordAt(e) && domainIsValid(s[(at + 1)..<e]) { end = e; break }
                e -= 1
            }
            if let start, let end {
                out.append(start..<end)
                searchFrom = end
                at = end
                continue
            }
            at += 1
        }
        return out
    }

    /// `[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}`.
    static func domainIsValid(_ d: ArraySlice<Unicode.Scalar>) -> Bool {
        let labels = d.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { isASCIIAlnum($0) || $0 == "-" } }),
              let last = labels.last, last.count >= 2, last.allSatisfy(isASCIILetter) else { return false }
        return true
    }

    /// The body between `-----BEGIN ... (PRIVATE|PUBLIC) KEY-----` and its END line.
    static func pemKeyBodies(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        // Most values have no armour: looked for in the scalars, no String made of them.
        let begin = Array("-----BEGIN".unicodeScalars)
        guard s.count >= begin.count, (0...(s.count - begin.count)).contains(where: { s[$0] == "-" && s[$0..<($0 + begin.count)].elementsEqual(begin) }) else {
            return []
        }
        var out: [Range<Int>] = []
        var i = 0
        let dashes = Array("-----".unicodeScalars)
        func starts(_ at: Int, _ what: [Unicode.Scalar]) -> Bool { at + what.count <= s.count && Array(s[at..<(at + what.count)]) == what }
        func keyLine(_ at: Int, _ keyword: String) -> Int? {  // end of `-----KEYWORD[A-Z ]+(PRIVATE|PUBLIC) KEY-----`
            guard starts(at, dashes + Array(keyword.unicodeScalars)) else { return nil }
            var j = at + 5 + keyword.unicodeScalars.count
            let from = j
            while j < s.count && (isUpper(s[j]) || s[j] == " ") { j += 1 }
            let words = String(String.UnicodeScalarView(s[from..<j]))
            guard j > from, words.hasSuffix("PRIVATE KEY") || words.hasSuffix("PUBLIC KEY"), words.count > 11, starts(j, dashes) else { return nil }
            return j + 5
        }
        while i < s.count {
            guard let headEnd = keyLine(i, "BEGIN") else { i += 1; continue }
            var body = headEnd
            while body < s.count && (s[body] == " " || s[body] == "\t") { body += 1 }
            if body < s.count && s[body] == "\r" { body += 1 }
            if body < s.count && s[body] == "\n" { body += 1 }
            var j = body + 1
            var found: Range<Int>? = nil
            while j < s.count {
                if s[j] == "-", keyLine(j, "END") != nil {
                    var bodyEnd = j
                    if bodyEnd > body && s[bodyEnd - 1] == "\n" { bodyEnd -= 1 }
                    if bodyEnd > body && s[bodyEnd - 1] == "\r" { bodyEnd -= 1 }
                    if bodyEnd > body { found = body..<bodyEnd }
                    break
                }
                j += 1
            }
            guard let found else { break }
            out.append(found)
            i = found.upperBound
        }
        return out
    }

    /// The password of `scheme://user:password@`: `\b((?:[a-z0-9]+:)?//[a-zA-Z0-9%_.-]+:)([a-zA-Z0-9%_.-]+)@`.
    static func urlPasswords(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        func userChar(_ c: Unicode.Scalar) -> Bool { isASCIIAlnum(c) || c == "%" || c == "_" || c == "." || c == "-" }
        var i = 0
        while i + 2 < s.count {
            guard s[i] == "/", s[i + 1] == "/" else { i += 1; continue }
            // \b: either a scheme `[a-z0-9]+:` ends here, or `//` itself follows a word character.
            var schemeStart = i
            if i > 0 && s[i - 1] == ":" {
                var k = i - 1
                while k > 0 && (isLowerAlnum(s[k - 1])) { k -= 1 }
                if k < i - 1 && boundaryBefore(s, k) { schemeStart = k }
            }
            let hasBoundary = schemeStart < i || (i > 0 && isWord(s[i - 1]))
            var j = i + 2
            let userStart = j
            while j < s.count && userChar(s[j]) { j += 1 }
            guard hasBoundary, j > userStart, j < s.count, s[j] == ":" else { i += 1; continue }
            let pwStart = j + 1
            var k = pwStart
            while k < s.count && userChar(s[k]) { k += 1 }
            if k > pwStart && k < s.count && s[k] == "@" { out.append(pwStart..<k); i = k; continue }
            i += 1
        }
        return out
    }
}
