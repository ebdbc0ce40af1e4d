// The old plugin's option grammar, which is uWSGI's uwsgi_kvlist_parse:
// items split at unescaped `,`, key and value at the first unescaped `=`,
// a backslash escapes the next character.

public struct KVItem: Equatable {
    public var key: String
    /// nil for a bare word (a flag such as `debug`).
    public var value: String?
    /// The value with its backslashes kept, for options that are lists themselves
    /// (`tags=a:b\;c`): their own separators can be escaped with one backslash too.
    public var rawValue: String?

    public init(key: String, value: String?, rawValue: String? = nil) {
        self.key = key
        self.value = value
        self.rawValue = rawValue ?? value
    }
}

public enum KVList {
    /// Splits `text` at unescaped `separator`, then each part at the first unescaped
    /// `assign`. Keys are trimmed of spaces (the words of a command line are joined
    /// with spaces); values are kept as given. Empty items are skipped.
    public static func parse(_ text: String, separator: UInt8 = UInt8(ascii: ","),
                             assign: UInt8 = UInt8(ascii: "=")) -> [KVItem] {
        var items: [KVItem] = []
        var key: [UInt8] = [], value: [UInt8] = [], raw: [UInt8] = []
        var inValue = false, escaped = false

        func finish() {
            let k = String(decoding: key, as: UTF8.self).trimmingSpaces()
            if !k.isEmpty || inValue {
                items.append(KVItem(key: k,
                                    value: inValue ? String(decoding: value, as: UTF8.self) : nil,
                                    rawValue: inValue ? String(decoding: raw, as: UTF8.self) : nil))
            }
            key.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            raw.removeAll(keepingCapacity: true)
            inValue = false
        }

        for byte in text.utf8 {
            if escaped {
                escaped = false
                if inValue { value.append(byte); raw.append(byte) } else { key.append(byte) }
                continue
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                if inValue { raw.append(byte) }
                continue
            }
            if byte == separator { finish(); continue }
            if byte == assign && !inValue { inValue = true; continue }
            if inValue { value.append(byte); raw.append(byte) } else { key.append(byte) }
        }
        // A dangling backslash at the very end stands for itself.
        if escaped {
            if inValue { value.append(UInt8(ascii: "\\")) }  // raw already holds it
            else { key.append(UInt8(ascii: "\\")) }
        }
        finish()
        return items
    }

    /// `k:v;k2:v2` (tags, extra, user): pairs split at `;`, key and value at the first `:`.
    /// An item without `:` gets an empty value.
    public static func pairs(_ raw: String) -> [Field] {
        parse(raw, separator: UInt8(ascii: ";"), assign: UInt8(ascii: ":"))
            .map { Field($0.key, $0.value ?? "") }
    }

    /// `a;b;c` (fingerprint): a list split at unescaped `;`.
    public static func list(_ raw: String) -> [String] {
        var out: [String] = []
        var cur: [UInt8] = []
        var escaped = false
        for byte in raw.utf8 {
            if escaped { cur.append(byte); escaped = false; continue }
            if byte == UInt8(ascii: "\\") { escaped = true; continue }
            if byte == UInt8(ascii: ";") { out.append(String(decoding: cur, as: UTF8.self)); cur.removeAll(); continue }
            cur.append(byte)
        }
        if escaped { cur.append(UInt8(ascii: "\\")) }
        out.append(String(decoding: cur, as: UTF8.self))
        return out.filter { !$0.isEmpty }
    }

    /// `value` as an option string carries it: a backslash before each `,` and `\\`.
    public static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 44 || $0 == 92 }) else { return value }
        var out: [UInt8] = []
        for b in value.utf8 {
            if b == 44 || b == 92 { out.append(92) }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
