// The event model: what Sentry will be told, before it is written as JSON
// (EventJSON.swift). How options, a message and uWSGI's packets become one is
// EventBuilder.swift.

public struct StackFrame: Equatable {
    public var filename: String?
    public var function: String?
    public var lineno: Int?
    public var contextLine: String?
    /// Native frames (a segfault's backtrace): the object file and the address.
    public var package: String?
    public var instructionAddr: String?
    public init(filename: String? = nil, function: String? = nil, lineno: Int? = nil, contextLine: String? = nil) {
        self.filename = filename; self.function = function; self.lineno = lineno; self.contextLine = contextLine
    }
}

public struct ExceptionInfo: Equatable {
    public var type: String?
    public var value: String?
    public var module: String?
    public var frames: [StackFrame] = []
    public init(type: String?, value: String?, module: String? = nil, frames: [StackFrame] = []) {
        self.type = type; self.value = value; self.module = module; self.frames = frames
    }
}

/// A line of uWSGI's log that came before the event (Breadcrumbs.swift).
public struct Breadcrumb: Equatable {
    /// Seconds since the epoch.
    public var timestamp: Double
    public var level: Level
    public var category: String
    public var message: String
}

/// A context of our own (`contexts.NAME`): a table of strings in Sentry's UI.
public struct NamedContext: Equatable {
    public var name: String
    public var fields: [Field]
}

public struct RequestInfo: Equatable {
    public var method: String?
    public var url: String?
    public var queryString: String?
    public var headers: [Field] = []
    public var env: [Field] = []
    public init() {}
}

public struct Event {
    public static let sdkName = "uwsgi-sentry"
    public static let messageLimit = 8192

    public var eventID: String
    public var timestamp: String
    public var level = Level.error
    public var platform = "other"
    public var message: String?
    public var logger, culprit, transaction, serverName, release, dist, environment: String?
    public var tags: [Field] = []
    public var extra: [Field] = []
    public var fingerprint: [String] = []
    public var user: [Field] = []
    public var exception: ExceptionInfo?
    public var request: RequestInfo?
    /// A multi-line alarm message, one entry per line, shown as a list in `extra`.
    public var backtraceLines: [String] = []
    public var breadcrumbs: [Breadcrumb] = []
    /// Written as `contexts.NAME`; fields named in `uwsgi` join the uwsgi context.
    public var contexts: [NamedContext] = []
    /// The exception's mechanism: where uWSGI caught it (`uwsgi`, `uwsgi.harakiri`...).
    public var mechanism = "uwsgi"
    public var host: HostFacts

    public init(eventID: String, timestamp: String, host: HostFacts) {
        self.eventID = eventID; self.timestamp = timestamp; self.host = host
    }

    /// Sentry's rate-limit category for this event.
    public var category: DataCategory { exception == nil ? .default : .error }
}
