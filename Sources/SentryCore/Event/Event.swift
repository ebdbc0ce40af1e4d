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
    /// Python frames, as sentry-python fills them: the absolute path, the module,
    /// whether the code is the app's own, the lines around `lineno`, the locals.
    public var absPath, module: String?
    public var inApp: Bool?
    public var preContext: [String] = []
    public var postContext: [String] = []
    public var vars: JSONValue?
    /// `native` on a crash's native frames (a Python frame beside them says `python`):
    /// Sentry symbolicates the frames that are native and have an address.
    public var platform: String?
    public init(filename: String? = nil, function: String? = nil, lineno: Int? = nil, contextLine: String? = nil) {
        self.filename = filename; self.function = function; self.lineno = lineno; self.contextLine = contextLine
    }
}

public struct ExceptionInfo: Equatable {
    public var type: String?
    public var value: String?
    public var module: String?
    public var frames: [StackFrame] = []
    /// In a chain (`raise ... from ...`, an exception during another's handling):
    /// its place (the main exception is 0) and how it relates to its parent.
    public var chainID: Int?
    public var parentID: Int?
    public var source: String?
    /// A crash's signal (the mechanism's meta) and the crashing thread's registers.
    public var signal: CrashSignal?
    /// The thread it was raised in (`thread_id`, one of the event's `threads`).
    public var threadID: Int?
    public var registers: [Field] = []
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
    /// This breadcrumb scrubbed and written as JSON, once: the daemon's ring makes each
    /// line's so (a line rides on up to 100 events); nil for one made anywhere else.
    /// Only a breadcrumb whose message is already scrubbed carries it.
    var written: [UInt8]? = nil

    public init(timestamp: Double, level: Level, category: String, message: String) {
        self.timestamp = timestamp; self.level = level; self.category = category; self.message = message
    }

    /// The same breadcrumb, whether or not it carries its JSON.
    public static func == (a: Breadcrumb, b: Breadcrumb) -> Bool {
        a.timestamp == b.timestamp && a.level == b.level && a.category == b.category && a.message == b.message
    }
}

/// A context of our own (`contexts.NAME`): a table of strings in Sentry's UI.
public struct NamedContext: Equatable {
    public var name: String
    public var fields: [Field]
}

/// `contexts.runtime`: the interpreter, as sentry-python names it.
public struct Runtime: Equatable {
    public var name: String
    public var version: String
    public var build: String?
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
    /// The exceptions that led to `exception`, oldest first (its cause, its context...).
    public var chained: [ExceptionInfo] = []
    public var request: RequestInfo?
    /// A multi-line alarm message, one entry per line, shown as a list in `extra`.
    public var backtraceLines: [String] = []
    public var breadcrumbs: [Breadcrumb] = []
    /// Written as `contexts.NAME`; fields named in `uwsgi` join the uwsgi context.
    public var contexts: [NamedContext] = []
    /// The exception's mechanism: where uWSGI caught it (`uwsgi`, `uwsgi.harakiri`...).
    public var mechanism = "uwsgi"
    /// The trace this event belongs to: the request's (contexts.trace).
    public var trace: Trace?
    /// The interpreter that raised it (contexts.runtime), its argv (extra["sys.argv"])
    /// and its installed distributions (modules), as sentry-python sends them.
    public var runtime: Runtime?
    public var argv: [String] = []
    public var modules: [Field] = []
    /// Where the process imports from (sys.path): InstalledModules reads `modules` there.
    public var importPaths: [String] = []
    /// The thread it happened in (`threads`: a crash's with its whole native stack),
    /// and a crash's loaded objects Sentry symbolicates against (`debug_meta.images`).
    public var thread: EventThread?
    public var images: [DebugImage] = []
    public var host: HostFacts

    public init(eventID: String, timestamp: String, host: HostFacts) {
        self.eventID = eventID; self.timestamp = timestamp; self.host = host
    }

    /// Sentry's rate-limit category for this event.
    public var category: DataCategory { exception == nil ? .default : .error }
}
