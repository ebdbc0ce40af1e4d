// A streaming JSON writer: what an event needs and nothing more (JSONEncoder alone
// costs ~1.75 M instructions at start-up). Strings are valid UTF-8 by construction
// (Swift repairs invalid input to U+FFFD when a String is made from bytes); control
// characters, quotes and backslashes are escaped, everything else is written as is.

public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// One entry per open container: does the next member need a comma?
    private var needsComma: [Bool] = [false]

    public init(capacity: Int = 2048) { bytes.reserveCapacity(capacity) }

    private mutating func member(_ key: String?) {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
        if let key {
            JSONWriter.quote(key, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }
    }

    /// A value written once and kept (an array's element), appended as it is.
    public mutating func element(_ value: [UInt8]) {
        member(nil)
        bytes += value
    }

    /// Members written once and kept (`"k":v,"k2":v2`), appended as they are.
    public mutating func members(_ fragment: [UInt8]) {
        guard !fragment.isEmpty else { return }
        member(nil)
        bytes += fragment
    }

    public mutating func openObject(_ key: String? = nil) {
        member(key); bytes.append(UInt8(ascii: "{")); needsComma.append(false)
    }
    public mutating func closeObject() { needsComma.removeLast(); bytes.append(UInt8(ascii: "}")) }

    public mutating func openArray(_ key: String? = nil) {
        member(key); bytes.append(UInt8(ascii: "[")); needsComma.append(false)
    }
    public mutating func closeArray() { needsComma.removeLast(); bytes.append(UInt8(ascii: "]")) }

    public mutating func string(_ key: String?, _ value: String) {
        member(key); JSONWriter.quote(value, into: &bytes)
    }
    /// Writes the member only when there is a value.
    public mutating func string(_ key: String, ifPresent value: String?) {
        if let value { string(key, value) }
    }
    public mutating func int(_ key: String?, _ value: Int) {
        member(key); bytes += Array(String(value).utf8)
    }
    /// A number of seconds with millisecond precision (finite and >= 0 by then: a
    /// duration); written by hand, never in exponent notation.
    public mutating func number(_ key: String?, _ value: Double) {
        member(key); bytes += Array(Seconds.decimal(value).utf8)
    }
    /// Seconds to the microsecond (a log record's time, a request's duration).
    public mutating func micros(_ key: String?, _ value: Double) {
        let us = Int(min(9e18, max(0, value.isFinite ? value : 0) * 1e6).rounded())  // to year 287,000
        let frac = String(us % 1_000_000)
        member(key); bytes += Array("\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)".utf8)
    }
    public mutating func bool(_ key: String?, _ value: Bool) {
        member(key); bytes += Array((value ? "true" : "false").utf8)
    }
    /// A value read from JSON, written back (a non-finite number cannot be: null).
    public mutating func value(_ key: String?, _ v: JSONValue) {
        switch v {
        case .null: member(key); bytes += Array("null".utf8)
        case .bool(let b): bool(key, b)
        case .number(let n):
            member(key)
            bytes += JSONWriter.numberText(n).utf8
        case .string(let s): string(key, s)
        case .array(let items):
            openArray(key); for item in items { value(nil, item) }; closeArray()
        case .object(let members):
            openObject(key); for (k, item) in members { value(k, item) }; closeObject()
        case .raw(let text):
            member(key); bytes += text
        case .unchecked(let text):
            // Not read yet (events are scrubbed first, which reads it): read here, as JSON.
            member(key); bytes += (try? JSONReader.canonical(text)) ?? Array("null".utf8)
        }
    }

    /// A number as JSON: a whole one without a fraction, anything not finite as null.
    static func numberText(_ n: Double) -> String {
        n.isFinite ? (n == n.rounded() && n.magnitude < 1e15 ? String(Int64(n)) : "\(n)") : "null"
    }

    /// An object of string members, in the given order.
    public mutating func fields(_ key: String, _ fields: [Field]) {
        openObject(key)
        for f in fields { string(f.name, f.value) }
        closeObject()
    }

    /// Runs that need no escape are copied whole (the daemon quotes every string of
    /// every event: a byte at a time, with an array per escape and a table per call,
    /// this was 14% of its instructions per exception event).
    public static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(34)
        // A native string's bytes in place (a copy of the String only for one that is not).
        if s.utf8.withContiguousStorageIfAvailable({ quoted($0, into: &out) }) == nil {
            var copy = s
            copy.withUTF8 { quoted($0, into: &out) }
        }
        out.append(34)
    }

    /// The bytes with what JSON must escape escaped. Most strings (member names, most
    /// values) have nothing to escape: one scan, one copy.
    private static func quoted(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        func escaped(_ b: UInt8) -> Bool { b < 32 || b == 34 || b == 92 || b == 127 }
        var start = 0
        var i = 0
        while true {
            i = ByteWords.skip(bytes, from: i) { !ByteWords.needsEscape($0) }
            guard i < bytes.count else { break }
            let b = bytes[i]
            guard escaped(b) else { i += 1; continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
            out.append(92)
            switch b {
            case 34, 92: out.append(b)
            case 10: out.append(110)
            case 13: out.append(114)
            case 9: out.append(116)
            default:
                out.append(117); out.append(48); out.append(48)
                out.append(hexDigit(b >> 4)); out.append(hexDigit(b & 15))
            }
            i += 1
            start = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
    }

    static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 48 + n : 87 + n }

    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
