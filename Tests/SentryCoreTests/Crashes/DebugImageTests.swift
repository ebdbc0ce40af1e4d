import XCTest
@testable import SentryCore

final class DebugImageTests: XCTestCase {
    /// Relay's own example of an ELF image (relay_event_schema::protocol::NativeDebugImage).
    func testDebugIDIsTheBuildIDsFirst16BytesAsALittleEndianUUID() {
        let id = DebugImage(codeFile: "/lib/x86_64-linux-gnu/libgcc_s.so.1", imageAddr: 0x7f5140527000, imageSize: 90112,
                            buildID: bytes("68220ae2c65d65c1b6aaa12fa6765a6ec2f5f434"))
        XCTAssertEqual(id.codeID, "68220ae2c65d65c1b6aaa12fa6765a6ec2f5f434")
        XCTAssertEqual(id.debugID, "e20a2268-5dc6-c165-b6aa-a12fa6765a6e")
    }

    func testAShortBuildIDIsPaddedWithZeros() {
        XCTAssertEqual(DebugImage.debugID(buildID: [1, 2, 3, 4, 5, 6, 7, 8]), "04030201-0605-0807-0000-000000000000")
    }

    func testNoBuildIDNoIDs() {
        let i = DebugImage(codeFile: "/x", imageAddr: 0x1000, imageSize: 0x1000, buildID: nil)
        XCTAssertNil(i.codeID)
        XCTAssertNil(i.debugID)
        XCTAssertTrue(i.contains(0x1fff))
        XCTAssertFalse(i.contains(0x2000))
    }

    private func bytes(_ hex: String) -> [UInt8] {
        let u = Array(hex.utf8)
        return stride(from: 0, to: u.count, by: 2).map { UInt8(String(decoding: u[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
