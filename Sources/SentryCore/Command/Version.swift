public enum Version {
    /// Kept in step with the man page's header and the Makefile's VERSION.
    public static let current = "0.1.0"
    public static var client: String { "uwsgi-sentry/" + current }
}
