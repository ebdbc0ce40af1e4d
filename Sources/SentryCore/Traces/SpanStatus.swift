// A span's status from its HTTP status, as sentry-python maps it
// (`get_span_status_from_http_code`), and the statuses uWSGI itself knows (a
// request harakiri cut, one a worker died in).

public enum SpanStatus: String, Equatable {
    case ok, unauthenticated, permissionDenied = "permission_denied", notFound = "not_found"
    case alreadyExists = "already_exists", failedPrecondition = "failed_precondition"
    case resourceExhausted = "resource_exhausted", invalidArgument = "invalid_argument"
    case unimplemented, unavailable, deadlineExceeded = "deadline_exceeded", internalError = "internal_error"
    case aborted, unknown = "unknown_error"

    public init(httpStatus code: Int) {
        switch code {
        case ..<400: self = .ok
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404: self = .notFound
        case 409: self = .alreadyExists
        case 413: self = .failedPrecondition
        case 429: self = .resourceExhausted
        case 400..<500: self = .invalidArgument
        case 501: self = .unimplemented
        case 503: self = .unavailable
        case 504: self = .deadlineExceeded
        case 500..<600: self = .internalError
        default: self = .unknown
        }
    }
}
