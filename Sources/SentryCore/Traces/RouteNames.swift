// What an operator names a transaction (`sentry-traces-route = REGEX NAME`): the
// first REGEX (POSIX extended, matched against the path) that matches gives NAME,
// with source `route`; else the path itself is the name, source `url` (Sentry's
// server groups high-cardinality paths). The regex has no space in it (write `[ ]`
// for one): the name starts after the first space.
import Glibc

public final class RouteNames {
    private var routes: [(regex: UnsafeMutablePointer<regex_t>, name: String)] = []
    /// Rules that did not compile, with why: said once by the caller.
    public private(set) var problems: [String] = []

    public init(_ rules: [String]) {
        for rule in rules {
            guard let space = rule.firstIndex(of: " ") else { problems.append("'\(Event.clip(rule, 80))' has no NAME after its REGEX"); continue }
            let pattern = String(rule[..<space]), name = String(rule[rule.index(after: space)...]).trimmingSpaces()
            guard !pattern.isEmpty, !name.isEmpty else { problems.append("'\(Event.clip(rule, 80))' needs a REGEX and a NAME"); continue }
            let re = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
            let rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)
            if rc != 0 {
                var buf = [CChar](repeating: 0, count: 128)
                regerror(rc, re, &buf, buf.count)
                problems.append("'\(Event.clip(pattern, 80))' is not a regular expression (\(String(cString: buf)))")
                re.deallocate()
                continue
            }
            routes.append((re, Event.clip(name, 200)))
        }
    }

    deinit {
        for r in routes { regfree(r.regex); r.regex.deallocate() }
    }

    /// The route's name for `path`, if a rule names it.
    public func name(of path: String) -> String? {
        routes.first { regexec($0.regex, path, 0, nil, 0) == 0 }?.name
    }
}
