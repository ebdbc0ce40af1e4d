// Eight bytes at a time: whether any of them is one JSON has to look at. Most
// strings an event holds (names, paths, source lines, locals' reprs) need no escape,
// and a byte-at-a-time scan of them was a tenth of the daemon's instructions per
// exception event. Each test is exact (no false positives) for its whole word.

enum ByteWords {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// A byte of `w` is zero.
    @inline(__always) static func hasZero(_ w: UInt64) -> Bool { (w &- ones) & ~w & highs != 0 }

    /// A byte of `w` is `b`.
    @inline(__always) static func has(_ w: UInt64, _ b: UInt8) -> Bool { hasZero(w ^ (ones &* UInt64(b))) }

    /// A byte of `w` is below 0x20 (a control character).
    @inline(__always) static func hasControl(_ w: UInt64) -> Bool { (w &- ones &* 0x20) & ~w & highs != 0 }

    /// A byte of `w` JSON escapes when writing: a control character, `"`, `\`, DEL.
    @inline(__always) static func needsEscape(_ w: UInt64) -> Bool {
        hasControl(w) || has(w, 34) || has(w, 92) || has(w, 127)
    }

    /// A byte of `w` ends a JSON string's plain run: `"` or `\`.
    @inline(__always) static func endsPlainString(_ w: UInt64) -> Bool { has(w, 34) || has(w, 92) }

    /// ... or is not ASCII either (what a reader has to look at more closely).
    @inline(__always) static func needsLook(_ w: UInt64) -> Bool { w & highs != 0 || needsEscape(w) }

    /// The first index from `i` on where a word of 8 bytes fails `plain`, or the end:
    /// the bytes before it all pass. The last 1 to 7 bytes are one word padded with
    /// spaces, which `plain` must pass (no look at them a byte at a time).
    @inline(__always) static func skip(_ b: UnsafeBufferPointer<UInt8>, from i: Int, while plain: (UInt64) -> Bool) -> Int {
        guard let base = b.baseAddress else { return i }
        var i = i
        while i + 8 <= b.count && plain(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) { i += 8 }
        if i < b.count && i + 8 > b.count {
            var w: UInt64 = 0x2020_2020_2020_2020
            withUnsafeMutableBytes(of: &w) { $0.baseAddress!.copyMemory(from: base + i, byteCount: b.count - i) }
            if plain(w) { return b.count }
        }
        return i
    }
}
