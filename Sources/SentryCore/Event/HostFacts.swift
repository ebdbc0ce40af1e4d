// Facts about the machine and the caller, gathered once per process.
import Glibc

public struct HostFacts {
    public var hostName: String
    public var os: System.Uname
    /// Set when uWSGI started us (its environment carries UWSGI_RELOADS).
    public var uwsgi: UWSGIFacts?

    public struct UWSGIFacts {
        public var reloads: String
        public var parentPID: Int
        public var procName: String?
    }

    public init(hostName: String, os: System.Uname, uwsgi: UWSGIFacts? = nil) {
        self.hostName = hostName; self.os = os; self.uwsgi = uwsgi
    }

    public static func current() -> HostFacts {
        var facts = HostFacts(hostName: System.hostName(), os: System.uname())
        if let reloads = System.environment("UWSGI_RELOADS") {
            facts.uwsgi = UWSGIFacts(reloads: reloads, parentPID: Int(getppid()),
                                     procName: System.environment("UWSGI_ORIGINAL_PROC_NAME"))
        }
        return facts
    }
}
