// The daemon's write-ahead file: an envelope it is about to send is appended here,
// not written as a spool file of its own (and so is a frame handed to it on its
// socket, while it makes the event: State/HandOffSocket.swift). A spool file per
// event cost the daemon a new inode, two renames, a read back and an unlink (perf,
// 600 events through a real uWSGI: a quarter of the daemon's CPU went to those, most
// of it ext4 finding a free inode); a journal record costs one write, and one more
// to mark it done.
//
//     ".journal-<pid>" in the spool: records of
//     "USJ" <state: P pending | D done> <name length, u32 LE> <bytes length, u32 LE> <name> <bytes>
//
// The guarantee is the spool's: what the daemon took is on disk (page cache, synced
// with the spool once a second) before it is taken off the lane, and outlives the
// daemon. A record is done once its envelope got an answer or went into the spool
// proper (a retry waits there, as before). A journal whose process is gone is
// recovered by whoever scans the spool next (the next daemon, a flush): each pending
// record becomes a spool file under its name, then the journal goes. An envelope
// sent just before a crash, before its mark was written, is sent again: the same
// event id, which Sentry keeps once. The marks are written together, at most every
// `markEvery` (a mark per answer was an open, a stat, a write and a close per event:
// a few percent of the daemon's CPU in a burst); a daemon that dies sends the
// envelopes of marks it had not written yet again, with their ids, as above. The
// file starts over once nothing in it is pending; when it reaches `maxBytes` with
// records pending, new envelopes take the spool-file path until it drains.
import Glibc

public final class Journal {
    public static let maxBytes = 16 << 20
    /// Past this size the file starts over as soon as nothing in it is pending.
    static let restartBytes = 1 << 20
    static let headerBytes = 12
    static let prefix = ".journal-"

    let dir: StateDirectory
    public let name: String
    /// Where the next record goes (writes are positioned: pwrite, no O_APPEND).
    private(set) var end = 0
    /// Records written and not yet done.
    public private(set) var pending = 0
    /// Done marks not yet written (offsets), and when marks were last written.
    private var marks: [Int] = []
    private var marksWritten = -Double.infinity
    static let markEvery = 0.5

    /// This process's journal in `dir`; nil when one left under our pid (the machine
    /// restarted since) could not be recovered first (the caller writes spool files).
    public init?(_ dir: StateDirectory) {
        self.dir = dir
        name = Journal.prefix + String(getpid())
        if access(dir.file(name), F_OK) == 0 && !Journal.recoverFile(name, in: dir).complete { return nil }
    }

    /// Appends one envelope under its spool name; the record's offset, or nil when
    /// the journal is full or the disk would not take it (nothing half-written counts:
    /// a record is only read back whole).
    public func append(name: String, _ bytes: [UInt8]) -> Int? {
        let nameBytes = Array(name.utf8)
        let size = Journal.headerBytes + nameBytes.count + bytes.count
        guard nameBytes.count <= 255 else { return nil }
        var head = [UInt8](repeating: 0, count: Journal.headerBytes)
        head[0] = 85; head[1] = 83; head[2] = 74; head[3] = 80  // "USJP"
        Journal.put(UInt32(nameBytes.count), into: &head, at: 4)
        Journal.put(UInt32(bytes.count), into: &head, at: 8)
        head += nameBytes
        return withFile(create: true) { fd -> Int? in
            let at = end
            guard at + size <= Journal.maxBytes else { return nil }
            // The head, then the envelope where it is (no copy of it into a record).
            guard Journal.writeAll(fd, head, bytes, at: at) else {
                _ = ftruncate(fd, off_t(at))  // what did get written goes
                return nil
            }
            end += size
            pending += 1
            return at
        } ?? nil
    }

    /// The record at `offset` is done: once its mark is written, it is never
    /// recovered. Marks are written with the others due (`writeMarks`), or at once when
    /// nothing is pending and the file has grown: it starts over.
    public func done(at offset: Int, now: Double = StateDirectory.now()) {
        guard pending > 0 else { return }
        pending -= 1
        marks.append(offset)
        if (pending == 0 && end >= Journal.restartBytes) || now - marksWritten >= Journal.markEvery { writeMarks(now: now) }
    }

    /// The marks waiting, written in one open; the daemon's loop calls it every turn
    /// (`due`: only once `markEvery` has passed since the last).
    public func writeMarks(now: Double = StateDirectory.now(), due: Bool = false) {
        guard !marks.isEmpty, !due || now - marksWritten >= Journal.markEvery else { return }
        withFile(create: false) { fd in
            for offset in marks { _ = Journal.writeAll(fd, [68], at: offset + 3) }  // "D"
            if pending == 0 && end >= Journal.restartBytes && ftruncate(fd, 0) == 0 { end = 0 }
        }
        marks = []
        marksWritten = now
    }

    /// Nothing pending: the file goes (a daemon that stops cleanly leaves no journal);
    /// else its marks are written.
    public func closeIfDone() {
        if pending == 0 { unlink(dir.file(name)); marks = [] } else { writeMarks() }
    }

    /// `body` with the file open at its end (its size says where the end is, whatever
    /// happened to it meanwhile). Open for one write at a time: a file held open for
    /// writing would keep an operator from remounting the spool's filesystem read-only.
    /// (Held open while records were pending, it did, whenever the remount came while
    /// an answer was on its way: e2e/test_full_disk.py under load. The closes no longer
    /// wake the daemon: the spool is watched for renames only.)
    @discardableResult
    private func withFile<T>(create: Bool, _ body: (Int32) -> T) -> T? {
        let fd = open(dir.file(name), O_RDWR | O_CLOEXEC | O_NONBLOCK | (create ? O_CREAT : 0), 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        end = Int(st.st_size)
        return body(fd)
    }

    // MARK: recovery

    /// Every journal in `dir` whose process is gone: its pending records become spool
    /// files (synced), then it is removed. A record that could not be written back (a
    /// full disk) keeps the journal for the next scan. Returns the names recovered.
    @discardableResult
    public static func recover(_ dir: StateDirectory) -> [String] {
        var recovered: [String] = []
        for file in dir.names() where file.hasPrefix(prefix) {
            guard let pid = Int32(file.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0 && errno == ESRCH else { continue }
            recovered += recoverFile(file, in: dir).names
        }
        return recovered
    }

    static func recoverFile(_ file: String, in dir: StateDirectory) -> (names: [String], complete: Bool) {
        let fd = open(dir.file(file), O_RDWR | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return ([], false) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); return ([], false) }
        let bytes = StateDirectory.readAll(fd, limit: maxBytes, chunkSize: 1 << 16)
        var names: [String] = []
        var complete = true
        for r in records(bytes) where r.pending {
            if case .success = dir.atomicPut(r.name, Array(bytes[r.body]), durable: true) {
                _ = writeAll(fd, [68], at: r.offset + 3)
                names.append(r.name)
            } else {
                complete = false
            }
        }
        close(fd)
        if complete { unlink(dir.file(file)) }
        return (names, complete)
    }

    struct Record: Equatable {
        var offset: Int
        var pending: Bool
        var name: String
        var body: Range<Int>
    }

    /// The whole records of a journal's bytes; a torn last one (the process died in
    /// the middle of its write) and anything after a damaged header are not records.
    static func records(_ bytes: [UInt8]) -> [Record] {
        var out: [Record] = []
        var at = 0
        while at + headerBytes <= bytes.count {
            guard bytes[at] == 85, bytes[at + 1] == 83, bytes[at + 2] == 74, bytes[at + 3] == 80 || bytes[at + 3] == 68 else { break }
            let nameCount = Int(get(bytes, at + 4)), bodyCount = Int(get(bytes, at + 8))
            let nameStart = at + headerBytes
            guard nameCount > 0, nameCount <= 255, bodyCount <= bytes.count - nameStart - nameCount else { break }
            let name = String(decoding: bytes[nameStart..<(nameStart + nameCount)], as: UTF8.self)
            let bodyStart = nameStart + nameCount
            // Only a name the spool would list (an envelope's, or a frame's the daemon
            // was making an event of), and no path in it.
            if (SpoolEntry(name: name) != nil || Spool.isFrameName(name)) && !name.contains("/") {
                out.append(Record(offset: at, pending: bytes[at + 3] == 80, name: name, body: bodyStart..<(bodyStart + bodyCount)))
            }
            at = bodyStart + bodyCount
        }
        return out
    }

    private static func put(_ v: UInt32, into b: inout [UInt8], at i: Int) {
        b[i] = UInt8(v & 0xff); b[i + 1] = UInt8((v >> 8) & 0xff); b[i + 2] = UInt8((v >> 16) & 0xff); b[i + 3] = UInt8(v >> 24)
    }

    private static func get(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// `head` then `body`, in one pwritev when the disk takes it whole (else the rest
    /// one part at a time).
    private static func writeAll(_ fd: Int32, _ head: [UInt8], _ body: [UInt8], at offset: Int) -> Bool {
        let n = head.withUnsafeBytes { h in
            body.withUnsafeBytes { b -> Int in
                var parts = [iovec(iov_base: UnsafeMutableRawPointer(mutating: h.baseAddress), iov_len: h.count),
                             iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress), iov_len: b.count)]
                while true {
                    let n = pwritev(fd, &parts, 2, off_t(offset))
                    if n < 0 && errno == EINTR { continue }
                    return n
                }
            }
        }
        if n < 0 { return false }
        if n >= head.count + body.count { return true }
        if n < head.count { return writeAll(fd, Array(head[n...]), at: offset + n) && writeAll(fd, body, at: offset + head.count) }
        return writeAll(fd, Array(body[(n - head.count)...]), at: offset + n)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = pwrite(fd, raw.baseAddress! + off, raw.count - off, off_t(offset + off))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
    }
}
