import XCTest
@testable import SentryCore

final class ByteWordsTests: XCTestCase {
    /// Each test against the byte-at-a-time rule it stands for: every byte value in
    /// every position of a word of plain letters, then random words.
    func testWordsAgreeWithBytes() {
        func word(_ b: [UInt8]) -> UInt64 { b.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        func escape(_ b: UInt8) -> Bool { b < 32 || b == 34 || b == 92 || b == 127 }
        func check(_ bytes: [UInt8]) {
            let w = word(bytes)
            XCTAssertEqual(ByteWords.needsEscape(w), bytes.contains(where: escape), "\(bytes)")
            XCTAssertEqual(ByteWords.needsLook(w), bytes.contains { escape($0) || $0 >= 128 }, "\(bytes)")
            XCTAssertEqual(ByteWords.hasControl(w), bytes.contains { $0 < 32 }, "\(bytes)")
        }
        for position in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(value)
                check(bytes)
                bytes[(position + 3) % 8] = 0x80  // a high byte beside it must not hide it, nor be taken for it
                check(bytes)
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 { check((0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
    }

    func testSkipStopsAtTheFirstWordToLookAt() {
        let bytes = Array("0123456789abcdef\"ghijklmnop".utf8)
        bytes.withUnsafeBufferPointer { b in
            XCTAssertEqual(ByteWords.skip(b, from: 0) { !ByteWords.needsEscape($0) }, 16)
            XCTAssertEqual(ByteWords.skip(b, from: 17) { !ByteWords.needsEscape($0) }, b.count, "the last bytes, padded: all plain")
            XCTAssertEqual(ByteWords.skip(b, from: 20) { !ByteWords.needsEscape($0) }, b.count)
        }
        // A byte to look at among the last ones: the skip stops at their word, never past it.
        for end in 1..<8 {
            for at in 0..<end {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: 16 + end)
                bytes[16 + at] = 34
                bytes.withUnsafeBufferPointer { b in
                    let stop = ByteWords.skip(b, from: 0) { !ByteWords.needsEscape($0) }
                    XCTAssertEqual(stop, 16, "\(end) \(at)")
                }
            }
        }
    }

    /// Quoting word by word writes what a byte-at-a-time writer writes, wherever the
    /// bytes to escape are.
    func testQuotingMatchesTheByteRule() {
        func reference(_ s: String) -> [UInt8] {
            var out: [UInt8] = [34]
            for b in s.utf8 {
                switch b {
                case 34, 92: out += [92, b]
                case 10: out += [92, 110]
                case 13: out += [92, 114]
                case 9: out += [92, 116]
                case 0..<32, 127: out += Array(String(format: "\\u%04x", Int(b)).utf8)
                default: out.append(b)
                }
            }
            return out + [34]
        }
        let specials: [Character] = ["\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "🐍"]
        for length in 0..<24 {
            for at in 0..<max(1, length) {
                for c in specials {
                    var chars = Array(repeating: Character("x"), count: length)
                    if length > 0 { chars[at] = c }
                    let s = String(chars)
                    XCTAssertEqual(Array(JSONWriter.quote(s).utf8), reference(s), s.debugDescription)
                    var w = JSONWriter(capacity: 1)  // the writer's own way (one copy when clean), growing as it goes
                    w.string(nil, s)
                    w.string(nil, s)
                    XCTAssertEqual(w.bytes, reference(s) + [44] + reference(s), s.debugDescription)
                }
            }
        }
    }
}
