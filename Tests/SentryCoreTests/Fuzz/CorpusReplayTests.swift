// Every input the fuzzers kept (Fuzz/corpus/TARGET: crashes found and fixed, and
// inputs that reached new code) replayed through the same target code on every
// `make test`, so what was fixed stays fixed. `make fuzz` runs the long campaigns
// under AddressSanitizer.
import XCTest

final class CorpusReplayTests: XCTestCase {
    func testEveryKeptInputOfEveryTarget() throws {
        let root = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(4).joined(separator: "/"))
        var replayed: [String: Int] = [:]
        for (name, run) in FuzzTargets.all {
            let dir = root + "/Fuzz/corpus/" + name
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            for file in files {
                let data = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/" + file), file)
                run(Array(data))
            }
            replayed[name] = files.count
        }
        // A corpus that went missing would make this test pass while testing nothing.
        for (name, _) in FuzzTargets.all { XCTAssertGreaterThan(replayed[name] ?? 0, 100, "Fuzz/corpus/\(name)") }
    }
}
