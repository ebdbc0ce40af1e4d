// uWSGI's troubles, made to say why: a worker death names its signal (and hints at
// the OOM killer for a SIGKILL that no harakiri explains) and the request it was
// serving; a full listen queue lists what every worker was busy with. The cores
// come from the loader (what the master saw at that moment); without the loader
// there are none, and the line alone is explained.

public enum Troubles {
    /// Adds what uWSGI's `line` and the cores say to an alarm's event. `cores`: nil
    /// when nobody saw them (a `cmd:` alarm), not "none busy".
    public static func explain(_ e: inout Event, line: String, cores: [LoaderFrame.Core]?, now: Double,
                               harakiri: (_ pid: Int) -> Bool = { _ in false }) {
        switch UWSGILine.parse(line) {
        case .workerDeath(let wid, let pid, let signal)?:
            e.tags.append(Field("worker", String(wid)))
            var uwsgi = [Field("worker", String(wid)), Field("pid", String(pid))]
            if let signal {
                let name = UWSGILine.signalName(signal)
                e.tags.append(Field("signal", name))
                uwsgi.append(Field("signal", name))
                if let m = e.message, let at = m.find("signal \(signal)") {
                    let named = String(m[..<at.upperBound]) + " (\(name))" + String(m[at.upperBound...])
                    // Grouped per signal, unless the caller chose a fingerprint.
                    if e.fingerprint == [Event.clip(Grouping.mask(m), 1024)] { e.fingerprint = [Event.clip(Grouping.mask(named), 1024)] }
                    e.message = named
                }
                if signal == 9 && !harakiri(pid) {
                    e.extra.append(Field("hint", "a SIGKILL that no harakiri explains: the kernel's OOM killer may have sent it "
                                         + "(look for 'Killed process \(pid)' in dmesg or journalctl -k)"))
                }
            }
            if let c = cores?.first(where: { $0.wid == wid && ($0.pid == nil || $0.pid == pid) }) {
                e.request = request(c)
                e.trace = c.trace
                if let s = seconds(c, now: now) { uwsgi.append(Field("request_running_for", s)) }
            }
            e.contexts.append(NamedContext(name: "uwsgi", fields: uwsgi))
        case .listenQueueFull? where cores != nil:
            let cores = cores ?? []
            var busy: [Field] = []
            var count: [String: Int] = [:]
            for c in cores {
                let what = endpoint(c)
                busy.append(Field("worker \(c.wid ?? 0) core \(c.core ?? 0)",
                                  what + (seconds(c, now: now).map { " (running for \($0))" } ?? "")))
                count[what, default: 0] += 1
            }
            e.contexts.append(NamedContext(name: "uwsgi_workers", fields: busy.isEmpty ? [Field("busy", "none in a request")] : busy))
            if let top = count.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) {
                e.tags.append(Field("busiest_endpoint", Event.clip(top.key, 200)))
            }
        default:
            break
        }
    }

    /// `GET /items/<n>`: method and path, volatile parts masked, query dropped.
    static func endpoint(_ c: LoaderFrame.Core) -> String {
        (c.method ?? "?") + " " + Grouping.mask(path(c.uri ?? ""))
    }

    static func path(_ uri: String) -> String {
        uri.firstIndex(of: "?").map { String(uri[..<$0]) } ?? uri
    }

    static func seconds(_ c: LoaderFrame.Core, now: Double) -> String? {
        guard let start = c.startMicros, start > 0 else { return nil }
        let s = now - Double(start) / 1e6
        guard s.isFinite, s >= 0, s < 1e7 else { return nil }
        return String(Double(Int(s * 10)) / 10) + " s"
    }

    /// The request a core was serving: method, path and query, remote address.
    static func request(_ c: LoaderFrame.Core) -> RequestInfo {
        var r = RequestInfo()
        r.method = c.method.map { Event.clip($0, 32) }
        let uri = c.uri ?? ""
        r.url = Event.clip(path(uri), 2048)
        if let q = uri.firstIndex(of: "?") { r.queryString = String(uri[uri.index(after: q)...]) }
        if let remote = c.remote, !remote.isEmpty { r.env = [Field("REMOTE_ADDR", remote)] }
        return r
    }
}
