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
            bytes += Array((n.isFinite ? (n == n.rounded() && n.magnitude < 1e15 ? String(Int64(n)) : "\(n)") : "null").utf8)
        case .string(let s): string(key, s)
        case .array(let items):
            openArray(key); for item in items { value(nil, item) }; closeArray()
        case .object(let members):
            openObject(key); for (k, item) in members { value(k, item) }; closeObject()
        }
    }

    /// An object of string members, in the given order.
    public mutating func fields(_ key: String, _ fields: [Field]) {
        openObject(key)
        for f in fields { string(f.name, f.value) }
        closeObject()
    }

    public static func quote(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 10: out += [92, UInt8(ascii: "n")]
            case 13: out += [92, UInt8(ascii: "r")]
            case 9: out += [92, UInt8(ascii: "t")]
            case 0..<32, 127:
                out += [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
