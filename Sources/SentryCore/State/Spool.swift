// Envelopes that could not be delivered (no HTTP answer), kept on disk until a
// flush delivers them. One file per envelope, written atomically, named
//     <created ms, 16 digits>-<event id>-<category>-<attempt>[-<order key>].envelope
// (nothing secret in a name), mode 0600 in a 0700 directory. Names sort by creation;
// envelopes that share an order key (a monitor's check-ins: Sentry must see a run's
// in_progress before its ok) are written with strictly increasing times and
// delivered one after another, oldest first. A flusher claims a
// file by renaming it to `.inflight-<pid>-<name>`: rename is atomic, so two
// flushers never send the same envelope. The file's mtime is when it is next due.
import Glibc

public struct SpoolEntry: Equatable {
    public var name: String
    public var createdMillis: Int
    public var eventID: String
    public var category: DataCategory
    public var attempt: Int
    /// The order key in the name, if any.
    public var orderKey: String?
    /// What this envelope must not overtake: the older envelopes of the same sequence
    /// (its order key; 0.3.0 wrote check-ins without one: they keep their order among
    /// themselves).
    public var sequence: String? { orderKey ?? (category == .monitor ? "monitor" : nil) }

    init?(name: String) {
        guard name.hasSuffix(".envelope"), !name.hasPrefix(".") else { return nil }
        // Split as bytes: split as Characters it was 23,000 instructions an envelope.
        let parts = name.utf8.dropLast(9).split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 4 || parts.count == 5, let ms = Int(parts[0]), let attempt = Int(parts[3]) else { return nil }
        self.name = name
        createdMillis = ms
        eventID = parts[1]
        category = DataCategory(rawValue: parts[2])
        self.attempt = attempt
        orderKey = parts.count == 5 ? parts[4] : nil
    }

    /// The same envelope after `attempt` failed deliveries.
    func renamed(attempt: Int) -> SpoolEntry {
        SpoolEntry(name: SpoolEntry.name(createdMillis: createdMillis, eventID: eventID, category: category,
                                         attempt: attempt, orderKey: orderKey))!
    }

    static func name(createdMillis: Int, eventID: String, category: DataCategory, attempt: Int, orderKey: String? = nil) -> String {
        let ms = String(createdMillis)
        return String(repeating: "0", count: max(0, 16 - ms.count)) + ms + "-\(eventID)-\(category.rawValue)-\(attempt)"
            + (orderKey.map { "-" + $0 } ?? "") + ".envelope"
    }

    /// An order key from any text (a monitor's slug): short, and safe in a file name.
    public static func orderKey(_ text: String) -> String { String(StateDirectory.hash(text).prefix(12)) }
}

public struct Spool {
    public let dir: StateDirectory

    /// The private spool of one uWSGI instance when no spool is named: under
    /// /var/tmp (kept across reboots; /tmp when /var/tmp will not do), per user,
    /// per instance (UWSGI_SENTRY_INSTANCE: the loader passes uWSGI's first socket,
    /// sentry.ini the top config's name and hash).
    public static func instancePath(_ instance: String? = System.environment("UWSGI_SENTRY_INSTANCE"),
                                    base: String? = nil) -> String {
        let id = instance.flatMap { $0.isEmpty ? nil : $0 } ?? "uwsgi"
        var name = String(decoding: id.utf8.prefix(40).map { DSN.isAlnum($0) || $0 == 46 || $0 == 45 ? $0 : 95 }, as: UTF8.self)
        name += "-" + String(StateDirectory.hash(id).prefix(8))
        if let base { return base + "/" + name }
        let varTmp = "/var/tmp/uwsgi-sentry-\(getuid())"
        if StateDirectory(varTmp) != nil { return varTmp + "/" + name }
        return "/tmp/uwsgi-sentry-\(getuid())/" + name
    }

    public init?(_ path: String) {
        guard let dir = StateDirectory(path) else { return nil }
        self.dir = dir
    }

    public var path: String { dir.path }

    /// The first back-off after no answer (tests shorten it).
    static let backoffBase = System.environmentSeconds("UWSGI_SENTRY_BACKOFF") ?? 5

    /// Back-off after `attempt` failed deliveries: 5 s, 10 s, 20 s ... at most an hour.
    public static func backoff(_ attempt: Int) -> Double { min(3600, backoffBase * Double(1 << min(attempt, 20))) }

    /// Writes a new envelope. `durable`: fsync it before it is renamed in (a sender
    /// that exits next); the daemon syncs the whole spool once a second instead.
    /// `at`: when the event happened (its age counts from then, and the spool keeps
    /// envelopes in that order); default now. `orderKey`: see above.
    @discardableResult
    public func write(_ envelope: [UInt8], eventID: String, category: DataCategory, orderKey: String? = nil,
                      durable: Bool = true, at: Double = StateDirectory.now()) -> String? {
        try? put(envelope, eventID: eventID, category: category, orderKey: orderKey, durable: durable, at: at).get()
    }

    /// `write`, saying why it failed (a full disk, a read-only or vanished directory).
    public func put(_ envelope: [UInt8], eventID: String, category: DataCategory, orderKey: String? = nil,
                    durable: Bool = true, at: Double = StateDirectory.now()) -> Result<String, SystemError> {
        var ms = Seconds.whole((at * 1000).rounded(.down))
        // After every envelope of its key still here (even one being sent): two check-ins
        // of one run may come in one millisecond, and the clock may step back.
        if let orderKey, let last = lastMillis(orderKey: orderKey) { ms = max(ms, last + 1) }
        let name = SpoolEntry.name(createdMillis: ms, eventID: eventID, category: category, attempt: 0, orderKey: orderKey)
        return dir.atomicPut(name, envelope, durable: durable).map { name }
    }

    /// The latest creation time among the envelopes of `orderKey`, claimed ones included.
    func lastMillis(orderKey: String) -> Int? {
        names().compactMap { name -> Int? in
            let plain = name.hasPrefix(".inflight-") ? String(name.drop { $0 != "-" }.dropFirst().drop { $0 != "-" }.dropFirst()) : name
            guard let e = SpoolEntry(name: plain), e.orderKey == orderKey else { return nil }
            return e.createdMillis
        }.max()
    }

    /// Makes the directory again when it was removed under us; false when it cannot.
    public func recreate() -> Bool { StateDirectory(path) != nil }

    /// When `e` is next due (its file's time).
    public func due(_ e: SpoolEntry) -> Double? {
        var st = stat()
        guard stat(dir.file(e.name), &st) == 0 else { return nil }
        return Double(st.st_mtim.tv_sec)
    }

    /// Every envelope in the spool, oldest first.
    public func entries() -> [SpoolEntry] {
        names().compactMap(SpoolEntry.init(name:)).sorted { $0.name < $1.name }
    }

    func names() -> [String] { dir.names() }

    /// Takes `e` for sending; nil when another flusher has it.
    public func claim(_ e: SpoolEntry) -> String? {
        let claimed = ".inflight-\(getpid())-" + e.name
        return rename(dir.file(e.name), dir.file(claimed)) == 0 ? claimed : nil
    }

    public func read(claimed: String) -> [UInt8]? { dir.read(claimed) }

    public func remove(claimed: String) { unlink(dir.file(claimed)) }

    /// Puts `e` back, due again at `due`; `failed` counts a delivery attempt.
    public func release(claimed: String, _ e: SpoolEntry, failed: Bool, due: Double) {
        let next = e.renamed(attempt: e.attempt + (failed ? 1 : 0)).name
        let when = Seconds.whole(due.rounded(.down))
        var times = [timespec(tv_sec: when, tv_nsec: 0), timespec(tv_sec: when, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, dir.file(claimed), &times, 0)
        // Should the rename fail, the file stays claimed: recoverStale() gives it back
        // once this process is gone. An envelope is never deleted for a local error.
        if rename(dir.file(claimed), dir.file(next)) != 0 {
            _ = rename(dir.file(claimed), dir.file(e.name))
        }
    }

    /// An envelope that waited in memory, into the spool under `name`, due at `due`.
    public func keep(_ name: String, _ bytes: [UInt8], due: Double) -> Bool {
        guard dir.atomicWrite(name, bytes, durable: false) else { return false }
        let when = Seconds.whole(due.rounded(.down))
        var times = [timespec(tv_sec: when, tv_nsec: 0), timespec(tv_sec: when, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, dir.file(name), &times, 0)
        return true
    }

    /// Claims left by a flusher that died mid-send go back to the spool, and so does
    /// what a daemon that died left in its journal.
    public func recoverStale() {
        Journal.recover(dir)
        for name in names() where name.hasPrefix(".inflight-") {
            let rest = name.dropFirst(10)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                _ = rename(dir.file(name), dir.file(String(rest[rest.index(after: dash)...])))
            }
        }
        // Temporary files of a writer that died before its rename.
        for name in names() where name.hasPrefix(".tmp-") {
            var st = stat()
            if stat(dir.file(name), &st) == 0 && Double(st.st_mtim.tv_sec) < StateDirectory.now() - 3600 {
                unlink(dir.file(name))
            }
        }
    }

    /// What the bounds say must go, oldest first: older than `maxAge`, or beyond
    /// the newest `maxCount`.
    public func overBounds(maxCount: Int, maxAge: Double, now: Double = StateDirectory.now()) -> [SpoolEntry] {
        let all = entries()
        let excess = max(0, all.count - maxCount)
        return all.enumerated().filter { i, e in i < excess || Double(e.createdMillis) / 1000 < now - maxAge }.map(\.1)
    }

    public func read(_ e: SpoolEntry) -> [UInt8]? { dir.read(e.name) }

    @discardableResult
    public func delete(_ e: SpoolEntry) -> Bool { unlink(dir.file(e.name)) == 0 }
}
