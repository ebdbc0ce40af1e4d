import XCTest
@testable import SentryCore

final class CrashSignalTests: XCTestCase {
    func testNamesAndCodes() {
        XCTAssertEqual(CrashSignal(number: 11, code: 1).codeName, "SEGV_MAPERR")
        XCTAssertEqual(CrashSignal(number: 11, code: 1).description, "Segmentation fault")
        XCTAssertEqual(CrashSignal(number: 8, code: 1).description, "Integer division by zero")
        XCTAssertEqual(CrashSignal(number: 6, code: -6).codeName, "SI_TKILL")
        XCTAssertEqual(CrashSignal(number: 6, code: -6).description, "Aborted")
        XCTAssertNil(CrashSignal(number: 11, code: 99).codeName)
        XCTAssertEqual(CrashSignal(number: 99, code: nil).description, "signal 99")
        XCTAssertEqual([4, 6, 7, 8, 11, 9, 15].map(CrashSignal.isCrash), [true, true, true, true, true, false, false])
    }
}
