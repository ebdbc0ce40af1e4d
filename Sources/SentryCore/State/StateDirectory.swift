// What outlives one process: the spool, rate limits, storm budgets and the counts
// of dropped events for client reports. One private directory (0700, ours), small
// files written atomically or under flock. File names carry hashes, never a DSN key.
import Glibc

public struct StateDirectory {
    public let path: String

    /// Opens (creating it 0700 when missing) a directory that must be ours and
    /// private; nil when it is not (a shared /tmp must not let others feed us state).
    public init?(_ path: String) {
        var st = stat()
        if lstat(path, &st) != 0 {
            guard errno == ENOENT, StateDirectory.makeDirectories(path) else { return nil }
            guard lstat(path, &st) == 0 else { return nil }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid() else { return nil }
        if st.st_mode & 0o077 != 0 { _ = chmod(path, 0o700) }
        self.path = path
    }

    /// mkdir -p with mode 0700 for every directory it makes.
    private static func makeDirectories(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return false }
        for i in 1...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "/") {
            if mkdir(String(decoding: bytes[0..<i], as: UTF8.self), 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    /// Where state lives: `state_dir=`, else UWSGI_SENTRY_STATE, else `state/` inside
    /// the spool (so the spool itself holds envelopes only), else a per-user
    /// directory under /tmp.
    public static func forOptions(_ o: Options) -> StateDirectory? {
        if let dir = o.stateDir { return StateDirectory(dir) }
        if let dir = System.environment("UWSGI_SENTRY_STATE"), !dir.isEmpty { return StateDirectory(dir) }
        if let dir = o.spool { return StateDirectory(dir + "/state") }
        return StateDirectory("/tmp/uwsgi-sentry-\(getuid())")
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// The names in the directory (not . and ..).
    public func names() -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        // d_name is read in place, up to its NUL: a record is only as long as its name,
        // so copying the whole 256-byte field reads past the last record in the buffer
        // (AddressSanitizer caught it in the daemon, e2e/test_sanitizers.py).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while let ent = readdir(d) {
            let name = String(cString: (UnsafeRawPointer(ent) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Writes `bytes` to `name` atomically: a temporary file, fsync, rename; mode 0600.
    @discardableResult
    public func atomicWrite(_ name: String, _ bytes: [UInt8], durable: Bool = true) -> Bool {
        (try? atomicPut(name, bytes, durable: durable).get()) != nil
    }

    /// `atomicWrite`, saying why it failed.
    public func atomicPut(_ name: String, _ bytes: [UInt8], durable: Bool = true) -> Result<Void, SystemError> {
        let tmp = file(".tmp-\(getpid())-\(System.randomEventID().prefix(8))")
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(SystemError(errno)) }
        var failure: SystemError? = StateDirectory.writeAll(fd, bytes) ? nil : SystemError(errno == 0 ? ENOSPC : errno)
        if failure == nil && durable && fsync(fd) != 0 { failure = SystemError(errno) }
        close(fd)
        if failure == nil && rename(tmp, file(name)) != 0 { failure = SystemError(errno) }
        if let failure { unlink(tmp); return .failure(failure) }
        return .success(())
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { if n == 0 { errno = 0 }; return false }
                off += n
            }
            return true
        }
    }

    public static func readAll(_ fd: Int32, limit: Int = 100 << 20, chunkSize: Int = 4096) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    public func read(_ name: String) -> [UInt8]? {
        let fd = open(file(name), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return StateDirectory.readAll(fd)
    }

    /// Runs `body` with the contents of `name` under an exclusive flock, and writes
    /// back what it returns (nil: leave the file as it is). Cross-process safe.
    /// `create: false` leaves a missing file missing (body is not called).
    @discardableResult
    public func update(_ name: String, create: Bool = true, _ body: ([UInt8]) -> [UInt8]?) -> Bool {
        let fd = open(file(name), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o600)
        guard fd >= 0 else { return !create && errno == ENOENT }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 { if errno != EINTR { return false } }
        let old = StateDirectory.readAll(fd, limit: 1 << 20)
        guard let new = body(old) else { return true }
        guard lseek(fd, 0, SEEK_SET) == 0, ftruncate(fd, 0) == 0 else { return false }
        return StateDirectory.writeAll(fd, new)
    }

    /// FNV-1a, 64 bits, hex: names files after a DSN or fingerprint without showing it.
    public static func hash(_ text: String) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return String(h, radix: 16)
    }

    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension DSN {
    /// Rate limits and client reports belong to a project and key; this names their files.
    public var stateKey: String { StateDirectory.hash(identity) }
}
