// A small JSON reader for what another program says (uWSGI's stats server): the
// whole of RFC 8259, bounded. Nesting deeper than `maxDepth` is an error, not a
// stack overflow; a number is a Double (a caller checks it is finite before it
// becomes an Int); a bad escape or a lone surrogate is U+FFFD, as a lenient
// reader makes it; invalid UTF-8 is decoded with replacement characters.

public indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// A value kept as JSON text, exactly as JSONWriter would write its tree (checked,
    /// never built): a frame's locals once scrubbed, written out as they are.
    case raw([UInt8])
    /// A value kept as the text that came, not yet read (`parse(keepingRaw:)`): only
    /// its brackets and strings were matched to find its end. Reading it as JSON is
    /// the scrubbing's one pass, which makes it `.raw` (or filtered, if it is not
    /// JSON); a writer given it unscrubbed reads it the same way. A frame's locals
    /// were read twice before: once here to check them, once more to scrub them.
    case unchecked([UInt8])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.raw(x), .raw(y)): return x == y
        case let (.unchecked(x), .unchecked(y)): return x == y
        default: return false
        }
    }

    /// The first member named `key` of an object; nil for anything else.
    public subscript(key: String) -> JSONValue? {
        switch self {
        case .raw(let text), .unchecked(let text): return (try? JSONReader.parse(text))?[key]
        case .object(let members): return members.first(where: { $0.0 == key })?.1
        default: return nil
        }
    }

    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var number: Double? { if case .number(let n) = self, n.isFinite { return n }; return nil }
}

public struct JSONReader {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static let maxDepth = 64

    private let bytes: [UInt8]
    private var at = 0
    /// A member of the top object kept as text (`.raw`), not built.
    private var rawMember: String?

    /// The one value in `bytes` (whitespace around it allowed, nothing else).
    /// `keepingRaw`: the top object's member of that name is kept `.unchecked`.
    public static func parse(_ bytes: [UInt8], keepingRaw: String? = nil) throws -> JSONValue {
        var r = JSONReader(bytes: bytes)
        r.rawMember = keepingRaw
        let v = try r.value(depth: 0)
        r.skipSpace()
        guard r.at == bytes.count else { throw r.fail("text after the value") }
        return v
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ what: String) -> ParseError { ParseError(description: "\(what) at byte \(at)") }

    private mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 32 || bytes[at] == 9 || bytes[at] == 10 || bytes[at] == 13 { at += 1 }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < JSONReader.maxDepth else { throw fail("nested deeper than \(JSONReader.maxDepth)") }
        skipSpace()
        guard at < bytes.count else { throw fail("no value") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func word(_ w: String) throws {
        let expected = Array(w.utf8)
        guard bytes[at...].starts(with: expected) else { throw fail("not a value") }
        at += expected.count
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        at += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("no member name") }
            let key = try string()
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("no ':'") }
            at += 1
            if depth == 0, let raw = rawMember, key == raw {
                members.append((key, .unchecked(try skipValue())))
            } else {
                members.append((key, try value(depth: depth + 1)))
            }
            skipSpace()
            guard at < bytes.count else { throw fail("unclosed object") }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            guard bytes[at] == UInt8(ascii: ",") else { throw fail("no ',' or '}'") }
            at += 1
        }
    }

    /// The text of the value at `at`, passed over without reading it: brackets and
    /// strings (with their escapes) are matched to find where it ends, nothing else is
    /// checked, and nothing nests on the stack. Unbalanced text ends where its
    /// brackets say; whatever it is, it is only ever read as JSON later.
    private mutating func skipValue() throws -> [UInt8] {
        skipSpace()
        let start = at
        let end = bytes.withUnsafeBufferPointer { b -> Int? in
            var i = start, depth = 0
            while i < b.count {
                switch b[i] {
                case 34:  // a string: to its closing quote, escapes included
                    i += 1
                    while i < b.count && b[i] != 34 {
                        i = ByteWords.skip(b, from: i) { !ByteWords.endsPlainString($0) }
                        guard i < b.count && b[i] != 34 else { break }
                        i += b[i] == 92 ? 2 : 1
                    }
                    guard i < b.count else { return nil }
                    i += 1
                    if depth == 0 { return i }
                    continue
                case 123, 91: depth += 1
                case 125, 93:
                    if depth == 0 { return i }  // the enclosing object's end: a scalar ended
                    depth -= 1
                    if depth == 0 { return i + 1 }
                case 44: if depth == 0 { return i }
                default: break
                }
                i += 1
            }
            return nil
        }
        guard let end else { throw fail("unclosed value") }
        at = end
        var text = Array(bytes[start..<end])
        while let last = text.last, last == 32 || last == 9 || last == 10 || last == 13 { text.removeLast() }
        guard !text.isEmpty else { throw fail("no value") }
        return text
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        at += 1
        var items: [JSONValue] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard at < bytes.count else { throw fail("unclosed array") }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            guard bytes[at] == UInt8(ascii: ",") else { throw fail("no ',' or ']'") }
            at += 1
        }
    }

    private mutating func number() throws -> Double {
        let start = at
        while at < bytes.count, JSONReader.isNumberByte(bytes[at]) { at += 1 }
        guard at > start, let d = Double(String(decoding: bytes[start..<at], as: UTF8.self)) else { throw fail("not a value") }
        return d
    }

    private static func isNumberByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || b == 45 || b == 43 || b == 46 || b == 101 || b == 69
    }

    private mutating func string() throws -> String {
        at += 1
        // Most strings have no escape: their bytes, copied once.
        var end = bytes.withUnsafeBufferPointer { b in ByteWords.skip(b, from: at) { !ByteWords.endsPlainString($0) } }
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            defer { at = end + 1 }
            return String(decoding: bytes[at..<end], as: UTF8.self)
        }
        var out: [UInt8] = []
        var scalars = String.UnicodeScalarView()
        func flush() {
            if !out.isEmpty { scalars.append(contentsOf: String(decoding: out, as: UTF8.self).unicodeScalars); out.removeAll() }
        }
        while at < bytes.count {
            let b = bytes[at]
            at += 1
            if b == UInt8(ascii: "\"") { flush(); return String(scalars) }
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard at < bytes.count else { break }
            let e = bytes[at]
            at += 1
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "u"):
                flush()
                scalars.append(unicodeEscape())
            default: out.append(e)  // \" \\ \/, and leniently any other
            }
        }
        throw fail("unclosed string")
    }

    /// After `\u`: one scalar, a surrogate pair joined; U+FFFD for anything broken.
    private mutating func unicodeEscape() -> Unicode.Scalar {
        guard let hi = hex4() else { return "\u{FFFD}" }
        if hi >= 0xD800 && hi < 0xDC00 {
            let save = at
            if at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") {
                at += 2
                if let lo = hex4(), lo >= 0xDC00 && lo < 0xE000 {
                    return Unicode.Scalar(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)) ?? "\u{FFFD}"
                }
                at = save
            }
            return "\u{FFFD}"
        }
        return Unicode.Scalar(hi) ?? "\u{FFFD}"
    }

    private mutating func hex4() -> UInt32? {
        guard at + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for b in bytes[at..<at + 4] {
            let d: UInt32
            switch b {
            case 48...57: d = UInt32(b - 48)
            case 65...70: d = UInt32(b - 55)
            case 97...102: d = UInt32(b - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        at += 4
        return v
    }
}

// MARK: JSON text to JSON text, without a tree

extension JSONReader {
    // A class: it is handed down every level of the text, and a struct of five
    // closures was five retains and releases for each value read.
    /// How strings change on the way through `canonical` (a scrubber's rules).
    public final class Rewrite {
        /// The new text of a string, nil to keep it.
        public let string: (String) -> String?
        /// A member (by its name's UTF-8 bytes) whose whole value becomes `filtered`.
        public let filters: (UnsafeBufferPointer<UInt8>) -> Bool
        public let filtered: String
        /// A quick look at a string's bytes (ASCII, no escape): true when `string` would
        /// keep it, so that it is copied without being made a String at all.
        public let keeps: (UnsafeBufferPointer<UInt8>) -> Bool

        public init(string: @escaping (String) -> String?, filters: @escaping (UnsafeBufferPointer<UInt8>) -> Bool,
                    filtered: String, keeps: @escaping (UnsafeBufferPointer<UInt8>) -> Bool = { _ in false }) {
            self.string = string; self.filters = filters; self.filtered = filtered; self.keeps = keeps
        }
    }

    /// `bytes` (one value) exactly as JSONWriter writes what `parse` builds of it (and
    /// with `rewrite`, what it writes of that tree rewritten), in one pass and without
    /// the tree: every string, member and number of a frame's locals was an allocation
    /// and a release (a tenth of the daemon's CPU per event). Throws where `parse` throws.
    public static func canonical(_ bytes: [UInt8], rewrite: Rewrite? = nil) throws -> [UInt8] {
        var r = JSONReader(bytes: bytes)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        try r.canonical(depth: 0, into: &out, rewrite)
        r.skipSpace()
        guard r.at == bytes.count else { throw r.fail("text after the value") }
        return out
    }

    private mutating func canonical(depth: Int, into out: inout [UInt8], _ rw: Rewrite?) throws {
        guard depth < JSONReader.maxDepth else { throw fail("nested deeper than \(JSONReader.maxDepth)") }
        skipSpace()
        guard at < bytes.count else { throw fail("no value") }
        switch bytes[at] {
        case UInt8(ascii: "{"):
            at += 1
            out.append(UInt8(ascii: "{"))
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; out.append(UInt8(ascii: "}")); return }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("no member name") }
                let filtered = try canonicalString(into: &out, rw, member: true)
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail("no ':'") }
                at += 1
                out.append(UInt8(ascii: ":"))
                if let rw, filtered {
                    var gone: [UInt8] = []
                    try canonical(depth: depth + 1, into: &gone, nil)  // read (and checked) all the same
                    JSONWriter.quote(rw.filtered, into: &out)
                } else {
                    try canonical(depth: depth + 1, into: &out, rw)
                }
                skipSpace()
                guard at < bytes.count else { throw fail("unclosed object") }
                if bytes[at] == UInt8(ascii: "}") { at += 1; out.append(UInt8(ascii: "}")); return }
                guard bytes[at] == UInt8(ascii: ",") else { throw fail("no ',' or '}'") }
                at += 1
                out.append(UInt8(ascii: ","))
            }
        case UInt8(ascii: "["):
            at += 1
            out.append(UInt8(ascii: "["))
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; out.append(UInt8(ascii: "]")); return }
            while true {
                try canonical(depth: depth + 1, into: &out, rw)
                skipSpace()
                guard at < bytes.count else { throw fail("unclosed array") }
                if bytes[at] == UInt8(ascii: "]") { at += 1; out.append(UInt8(ascii: "]")); return }
                guard bytes[at] == UInt8(ascii: ",") else { throw fail("no ',' or ']'") }
                at += 1
                out.append(UInt8(ascii: ","))
            }
        case UInt8(ascii: "\""): _ = try canonicalString(into: &out, rw)
        case UInt8(ascii: "t"): try word("true"); out += [116, 114, 117, 101]
        case UInt8(ascii: "f"): try word("false"); out += [102, 97, 108, 115, 101]
        case UInt8(ascii: "n"): try word("null"); out += [110, 117, 108, 108]
        default: out += JSONWriter.numberText(try number()).utf8
        }
    }

    /// A string, written as JSONWriter quotes it, and rewritten if it is a value the
    /// rewrite changes. `member`: it is a member's name (never rewritten), and the
    /// answer is whether the rewrite filters that member's value.
    private mutating func canonicalString(into out: inout [UInt8], _ rw: Rewrite?, member: Bool = false) throws -> Bool {
        let start = at
        // One scan of the bytes in place, and a copy: most strings, names included, end
        // here (a name made a String to be looked at was a tenth of scrubbing locals).
        let copied = bytes.withUnsafeBufferPointer { b -> Bool? in
            var end = ByteWords.skip(b, from: start + 1) { !ByteWords.needsLook($0) }
            var plain = true
            while end < b.count {
                let c = b[end]
                if c == 34 || c == 92 { break }
                if c < 32 || c >= 127 { plain = false }
                end += 1
            }
            guard plain, end < b.count, b[end] == 34 else { return nil }
            let text = UnsafeBufferPointer(rebasing: b[(start + 1)..<end])
            var filtered = false
            if let rw {
                if member { filtered = rw.filters(text) } else if !rw.keeps(text) { return nil }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start...end]))
            at = end + 1
            return filtered
        }
        if let copied { return copied }
        // Escapes, control characters, non-ASCII, or a value the rewrite changes: made a
        // String and quoted as JSONWriter quotes it.
        var s = try string()
        if member {
            JSONWriter.quote(s, into: &out)
            return rw.map { rw in s.withUTF8 { rw.filters($0) } } ?? false
        }
        JSONWriter.quote(rw?.string(s) ?? s, into: &out)
        return false
    }
}
