// Small string helpers the stdlib lacks without Foundation or _StringProcessing
// (both cost start-up time in a process-per-event tool).
import Glibc

@_silgen_name("memmem")
private func c_memmem(_ haystack: UnsafeRawPointer, _ haystackCount: Int, _ needle: UnsafeRawPointer, _ needleCount: Int) -> UnsafeMutableRawPointer?

extension String {
    /// Diagnostics are single, plain lines: a newline would split one in uWSGI's log,
    /// and other control characters (escape sequences) have no business in a log.
    func replacingNewlines() -> String {
        var text = self
        guard text.withUTF8({ $0.contains { $0 < 32 || $0 == 127 || $0 == 0xC2 || $0 == 0xE2 } }) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            switch scalar.value {
            case 10, 13, 9: out += " "
            case 0..<32, 127, 0x85, 0x2028, 0x2029: out += "?"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    func trimmingSpaces() -> String {
        let bytes = Array(utf8)
        var lo = 0, hi = bytes.count
        while lo < hi && (bytes[lo] == 32 || bytes[lo] == 9) { lo += 1 }
        while hi > lo && (bytes[hi - 1] == 32 || bytes[hi - 1] == 9) { hi -= 1 }
        if lo == 0 && hi == bytes.count { return self }
        return String(decoding: bytes[lo..<hi], as: UTF8.self)
    }

    /// The first occurrence of `needle`, compared byte by byte (UTF-8 code units, not
    /// characters: no grapheme breaking, and a match after a combining mark is found).
    func has(_ needle: String) -> Bool { find(needle) != nil }

    func find(_ needle: String) -> Range<String.Index>? { find(needle, from: startIndex) }

    /// The last occurrence of `needle`, compared byte by byte.
    func lastRange(of needle: String) -> Range<String.Index>? {
        var found: Range<String.Index>? = nil
        var from = startIndex
        while let r = find(needle, from: from) {
            found = r
            from = utf8.index(after: r.lowerBound)
        }
        return found
    }

    /// The first occurrence of `needle` at or after `from`.
    func find(_ needle: String, from: String.Index) -> Range<String.Index>? {
        let u = utf8
        let start = u.distance(from: u.startIndex, to: from)
        guard let k = String.byteOffset(of: needle, in: self, from: start) else { return nil }
        let lo = u.index(u.startIndex, offsetBy: k)
        return lo..<u.index(lo, offsetBy: needle.utf8.count)
    }

    /// Where `needle`'s bytes first occur in `hay` at or after byte `start`: glibc's
    /// memmem over the strings' own storage (the daemon looks for words in every log
    /// line and every local's name; a search through the UTF8View's indices was a
    /// tenth of its CPU).
    static func byteOffset(of needle: String, in hay: String, from start: Int) -> Int? {
        let found = hay.utf8.withContiguousStorageIfAvailable { h -> Int? in
            needle.utf8.withContiguousStorageIfAvailable { n -> Int? in
                guard n.count > 0, start >= 0, start < h.count, let hb = h.baseAddress, let nb = n.baseAddress else { return nil }
                guard let p = c_memmem(hb + start, h.count - start, nb, n.count) else { return nil }
                return UnsafeRawPointer(p) - UnsafeRawPointer(hb)
            } ?? slowByteOffset(of: Array(needle.utf8), in: Array(h), from: start)
        }
        return found ?? slowByteOffset(of: Array(needle.utf8), in: Array(hay.utf8), from: start)
    }

    private static func slowByteOffset(of n: [UInt8], in h: [UInt8], from start: Int) -> Int? {
        guard !n.isEmpty, start >= 0, n.count <= h.count else { return nil }
        var i = start
        while i + n.count <= h.count {
            if h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) { return i }
            i += 1
        }
        return nil
    }

    /// Every occurrence of `needle` replaced by `replacement`, in one pass.
    func replacingAll(_ needle: String, with replacement: String) -> String {
        guard !needle.isEmpty, find(needle) != nil else { return self }
        let n = Array(needle.utf8), r = Array(replacement.utf8), b = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == n[0] && b[i...].starts(with: n) { out += r; i += n.count } else { out.append(b[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// ASCII-only lowercasing: keys, levels, schemes and header names are ASCII, and
    /// String.lowercased() pages in Unicode case tables (~1 MiB of RSS per process).
    func asciiLowercased() -> String {
        // Over the bytes in place, into the new string's own storage (mapped through the
        // UTF8View, a log line's was ~2,000 instructions).
        var text = self
        return text.withUTF8 { b in
            guard b.contains(where: { $0 &- 65 < 26 }) else { return self }
            return String(unsafeUninitializedCapacity: b.count) { out in
                for i in 0..<b.count { let c = b[i]; out[i] = c &- 65 < 26 ? c + 32 : c }
                return b.count
            }
        }
    }
}

/// The lines of UTF-8 `bytes` (split at "\n", a "\r" just before it dropped), each as
/// its offsets, handed to `body` in order until it says to stop. As bytes: a split into
/// Characters walks the text grapheme by grapheme (and "\r\n" is one of them).
func eachLine(of bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Bool) {
    var start = 0
    while start <= bytes.count {
        var end = ByteWords.skip(bytes, from: start) { !ByteWords.has($0, 10) }
        while end < bytes.count && bytes[end] != 10 { end += 1 }
        let next = end + 1
        if end > start && bytes[end - 1] == 13 { end -= 1 }
        if !body(start..<end) || next > bytes.count { return }
        start = next
    }
}
