import XCTest
@testable import SentryCore

final class WordSetTests: XCTestCase {
    /// Against a search for each word on its own: random texts of the words, pieces of
    /// them, words inside words (api in apikey), the same word twice, text ends,
    /// non-ASCII; as bytes and as Unicode scalar values (past 255 too).
    func testWhatOnePassFindsIsWhatASearchPerWordFinds() {
        let words = ["bearer", "passw", "secret", "api", "apikey", "auth", "e", "ee", "token", "!!!", "worker", "died"]
        let set = WordSet(words)
        let pieces = words + ["pass", "secre", "ap", "to", "ken", "!!", "x", " ", "é", "中", "wor", "d"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...7, using: &rng) { text += pieces.randomElement(using: &rng)! }
            let expected = words.enumerated().reduce(UInt64(0)) { $0 | (text.contains($1.element) ? 1 << UInt64($1.offset) : 0) }
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { XCTAssertEqual(set.found(in: $0), expected, text.debugDescription) }
            XCTAssertEqual(set.occurs(in: bytes), expected != 0, text.debugDescription)
            XCTAssertEqual(set.occurs(in: text.unicodeScalars.map(\.value)), expected != 0, text.debugDescription)
        }
    }

    func testSixtyFourWordsEachHaveTheirBit() {
        let words = (0..<64).map { "w\($0)." }
        let set = WordSet(words)
        for (i, w) in words.enumerated() {
            Array("x \(w) y".utf8).withUnsafeBufferPointer { XCTAssertEqual(set.found(in: $0), 1 << UInt64(i), w) }
        }
        XCTAssertFalse(set.occurs(in: Array("w64 w1 w".utf8)))
    }
}
