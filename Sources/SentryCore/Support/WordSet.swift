/// Words looked for in lowercase ASCII text, all in one pass: a search per word cost
/// more in setting up than in searching, for the short texts most names, values and
/// log lines are.
///
/// A position is compared only with the words that start with its byte, found as the
/// bits of one table entry: the letters the words start with (s, e, t, a, p, d, w...)
/// are most of any text's letters, and a walk over every word at each of them was
/// most of what a breadcrumb's level and a value's quick look cost (callgrind:
/// ~5,600 instructions a log line).
struct WordSet {
    /// Per byte, the words that start with it (bit i: the i-th word).
    private let startingWith: [UInt64]
    /// The words' bytes one after another; word i is bytes[offsets[i]..<offsets[i + 1]].
    private let bytes: [UInt8]
    private let offsets: [Int]

    /// At most 64 words, none empty.
    init(_ words: [String]) {
        precondition(words.count <= 64 && words.allSatisfy { !$0.isEmpty }, "a WordSet holds 1 to 64 non-empty words")
        var startingWith = [UInt64](repeating: 0, count: 256)
        var bytes: [UInt8] = [], offsets = [0]
        for (i, w) in words.enumerated() {
            startingWith[Int(w.utf8.first!)] |= 1 << UInt64(i)
            bytes += w.utf8
            offsets.append(bytes.count)
        }
        self.startingWith = startingWith
        self.bytes = bytes
        self.offsets = offsets
    }

    /// Which words occur in `text` (bit i: the i-th word).
    func found(in text: UnsafeBufferPointer<UInt8>) -> UInt64 {
        scan(text, firstOnly: false)
    }

    /// Whether a word occurs in `text`: bytes, or Unicode scalar values (a word is ASCII,
    /// so a value past 255 starts none).
    func occurs<Text: RandomAccessCollection>(in text: Text) -> Bool where Text.Element: FixedWidthInteger, Text.Index == Int {
        scan(text, firstOnly: true) != 0
    }

    private func scan<Text: RandomAccessCollection>(_ text: Text, firstOnly: Bool) -> UInt64
    where Text.Element: FixedWidthInteger, Text.Index == Int {
        startingWith.withUnsafeBufferPointer { startingWith in
            bytes.withUnsafeBufferPointer { bytes in
                offsets.withUnsafeBufferPointer { offsets in
                    var mask: UInt64 = 0
                    let first = text.startIndex, count = text.count
                    for i in 0..<count {
                        let c = text[first + i]
                        guard c >= 0 && c < 256 else { continue }
                        var candidates = startingWith[Int(c)] & ~mask
                        while candidates != 0 {
                            let n = candidates.trailingZeroBitCount
                            candidates &= candidates - 1
                            let from = offsets[n], length = offsets[n + 1] - from
                            guard length <= count - i else { continue }
                            var k = 1
                            while k < length && text[first + i + k] == Text.Element(bytes[from + k]) { k += 1 }
                            if k == length {
                                mask |= 1 << UInt64(n)
                                if firstOnly { return mask }
                            }
                        }
                    }
                    return mask
                }
            }
        }
    }
}
