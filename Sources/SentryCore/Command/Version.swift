public enum Version {
    /// The one place the version is written: the Makefile (and so the Debian package)
    /// reads it from here; tests keep the man page and packaging/changelog in step.
    public static let current = "0.3.0"
    public static var client: String { "uwsgi-sentry/" + current }
}
