import XCTest
@testable import SentryCore

final class SpanStatusTests: XCTestCase {
    func testHTTPStatusesMapAsSentryPythonMapsThem() {
        let expected: [(Int, SpanStatus)] = [(200, .ok), (302, .ok), (400, .invalidArgument), (401, .unauthenticated),
                                             (403, .permissionDenied), (404, .notFound), (409, .alreadyExists),
                                             (413, .failedPrecondition), (429, .resourceExhausted), (418, .invalidArgument),
                                             (500, .internalError), (501, .unimplemented), (503, .unavailable),
                                             (504, .deadlineExceeded), (599, .internalError), (600, .unknown), (-1, .ok)]
        for (code, status) in expected { XCTAssertEqual(SpanStatus(httpStatus: code), status, "\(code)") }
        XCTAssertEqual(SpanStatus.permissionDenied.rawValue, "permission_denied")
    }
}
