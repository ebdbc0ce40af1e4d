// The documented exit codes (README, --help and the man page list them; a test keeps
// the three in step with this file).

public enum ExitCode: Int32 {
    case accepted = 0
    case internalError = 1   // libcurl missing, cannot start a transfer
    case usage = 2           // bad flags, options, DSN, nothing to send; --check problems
    case network = 3         // no HTTP answer: refused, DNS, timeout, TLS, reset
    case rejected = 4        // HTTP answer other than 2xx/429
    case rateLimited = 5     // HTTP 429, or a remembered rate limit still running
    case spooled = 6         // no HTTP answer; the event is in the spool for `flush`
    case overBudget = 7      // storm control: this fingerprint spent its budget (silent)
}
