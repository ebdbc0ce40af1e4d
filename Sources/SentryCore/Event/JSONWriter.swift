// A streaming JSON writer: what an event needs and nothing more (JSONEncoder alone
// costs ~1.75 M instructions at start-up). Strings are valid UTF-8 by construction
// (Swift repairs invalid input to U+FFFD when a String is made from bytes); control
// characters, quotes and backslashes are escaped, everything else is written as is.

public struct JSONWriter {
    /// What was written: the first `end` bytes of `out`, which is kept longer than
    /// that (its bytes past the end never read), so that a write is a copy into place. As Array
    /// appends (a uniqueness and capacity check and a generic copy each, ~120
    /// instructions a string) they were a third of writing an exception event.
    private var out: [UInt8]
    private var end = 0
    public var bytes: [UInt8] { Array(out[..<end]) }
    /// Per open container, whether its next member needs a comma: a bit per level (an
    /// array of flags was two checked reads and writes per member), deeper levels in
    /// `deeper`.
    private var commas: UInt64 = 0
    private var level = 0
    private var deeper: [Bool] = []

    public init(capacity: Int = 2048) { out = JSONWriter.space(max(64, capacity), keeping: []) }

    /// `count` bytes, the first of them `kept`'s, the rest never read (not zeroed:
    /// Array(repeating:) filled them a byte at a time, 17,000 instructions an event).
    private static func space(_ count: Int, keeping kept: ArraySlice<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            kept.withUnsafeBufferPointer { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer($0)) }
            initialized = count
        }
    }

    private mutating func member(_ key: String?) {
        if level < 64 {
            if commas & (1 << level) != 0 { put(UInt8(ascii: ",")) }
            commas |= 1 << level
        } else {
            if deeper[level - 64] { put(UInt8(ascii: ",")) }
            deeper[level - 64] = true
        }
        if let key {
            JSONWriter.quoting(key, into: &self)
            put(UInt8(ascii: ":"))
        }
    }

    /// A container opened: its first member needs no comma.
    private mutating func enter() {
        level += 1
        if level < 64 { commas &= ~(1 << level) } else { deeper.append(false) }
    }

    private mutating func leave() {
        if level >= 64 { deeper.removeLast() }
        level -= 1
    }

    @inline(__always) private mutating func room(_ n: Int) {
        if end + n > out.count { out = JSONWriter.space(out.count + max(n, out.count), keeping: out[..<end]) }
    }

    @inline(__always) mutating func put(_ b: UInt8) {
        room(1)
        out[end] = b
        end += 1
    }

    @inline(__always) mutating func put(_ p: UnsafeBufferPointer<UInt8>) {
        guard let from = p.baseAddress, p.count > 0 else { return }
        room(p.count)
        let at = end
        out.withUnsafeMutableBytes { (to: UnsafeMutableRawBufferPointer) in (to.baseAddress! + at).copyMemory(from: from, byteCount: p.count) }
        end += p.count
    }

    mutating func put(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { put($0) } }
    mutating func put(_ text: String) { var text = text; text.withUTF8 { put($0) } }

    /// A value written once and kept (an array's element), appended as it is.
    public mutating func element(_ value: [UInt8]) {
        member(nil)
        put(value)
    }

    /// Members written once and kept (`"k":v,"k2":v2`), appended as they are.
    public mutating func members(_ fragment: [UInt8]) {
        guard !fragment.isEmpty else { return }
        member(nil)
        put(fragment)
    }

    public mutating func openObject(_ key: String? = nil) {
        member(key); put(UInt8(ascii: "{")); enter()
    }
    public mutating func closeObject() { leave(); put(UInt8(ascii: "}")) }

    public mutating func openArray(_ key: String? = nil) {
        member(key); put(UInt8(ascii: "[")); enter()
    }
    public mutating func closeArray() { leave(); put(UInt8(ascii: "]")) }

    public mutating func string(_ key: String?, _ value: String) {
        member(key); JSONWriter.quoting(value, into: &self)
    }
    /// Writes the member only when there is a value.
    public mutating func string(_ key: String, ifPresent value: String?) {
        if let value { string(key, value) }
    }
    public mutating func int(_ key: String?, _ value: Int) {
        member(key); put(String(value))
    }
    /// A number of seconds with millisecond precision (finite and >= 0 by then: a
    /// duration); written by hand, never in exponent notation.
    public mutating func number(_ key: String?, _ value: Double) {
        member(key); put(Seconds.decimal(value))
    }
    /// Seconds to the microsecond (a log record's time, a request's duration).
    public mutating func micros(_ key: String?, _ value: Double) {
        let us = Int(min(9e18, max(0, value.isFinite ? value : 0) * 1e6).rounded())  // to year 287,000
        let frac = String(us % 1_000_000)
        member(key); put("\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)")
    }
    public mutating func bool(_ key: String?, _ value: Bool) {
        member(key); put(value ? "true" : "false")
    }
    /// A value read from JSON, written back (a non-finite number cannot be: null).
    public mutating func value(_ key: String?, _ v: JSONValue) {
        switch v {
        case .null: member(key); put("null")
        case .bool(let b): bool(key, b)
        case .number(let n):
            member(key)
            put(JSONWriter.numberText(n))
        case .string(let s): string(key, s)
        case .array(let items):
            openArray(key); for item in items { value(nil, item) }; closeArray()
        case .object(let members):
            openObject(key); for (k, item) in members { value(k, item) }; closeObject()
        case .raw(let text):
            member(key); put(text)
        case .unchecked(let text):
            // Not read yet (events are scrubbed first, which reads it): read here, as JSON.
            member(key); put((try? JSONReader.canonical(text)) ?? Array("null".utf8))
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
    public static func quote(_ s: String, into out: inout [UInt8]) { quoting(s, into: &out) }

    private static func quoting<Sink: JSONSink>(_ s: String, into out: inout Sink) {
        out.put(34)
        // A native string's bytes in place (a copy of the String only for one that is not).
        if s.utf8.withContiguousStorageIfAvailable({ quoted($0, into: &out) }) == nil {
            var copy = s
            copy.withUTF8 { quoted($0, into: &out) }
        }
        out.put(34)
    }

    /// The bytes with what JSON must escape escaped. Most strings (member names, most
    /// values) have nothing to escape: one scan, one copy.
    private static func quoted<Sink: JSONSink>(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout Sink) {
        func escaped(_ b: UInt8) -> Bool { b < 32 || b == 34 || b == 92 || b == 127 }
        var start = 0
        var i = 0
        while true {
            i = ByteWords.skip(bytes, from: i) { !ByteWords.needsEscape($0) }
            guard i < bytes.count else { break }
            let b = bytes[i]
            guard escaped(b) else { i += 1; continue }
            out.put(UnsafeBufferPointer(rebasing: bytes[start..<i]))
            out.put(92)
            switch b {
            case 34, 92: out.put(b)
            case 10: out.put(110)
            case 13: out.put(114)
            case 9: out.put(116)
            default:
                out.put(117); out.put(48); out.put(48)
                out.put(hexDigit(b >> 4)); out.put(hexDigit(b & 15))
            }
            i += 1
            start = i
        }
        out.put(UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
    }

    static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 48 + n : 87 + n }

    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where quoted JSON goes: the writer's buffer, or an array (the locals' reader).
protocol JSONSink {
    mutating func put(_ b: UInt8)
    mutating func put(_ p: UnsafeBufferPointer<UInt8>)
}

extension JSONWriter: JSONSink {}

extension Array: JSONSink where Element == UInt8 {
    mutating func put(_ b: UInt8) { append(b) }
    mutating func put(_ p: UnsafeBufferPointer<UInt8>) { append(contentsOf: p) }
}
