// The loader's log lines through shared memory (plugin/sentry/ring.h says why, and
// how it is laid out): the daemon maps the ring it was handed (UWSGI_SENTRY_RING
// names the fd) and reads what the master wrote since it last looked; it asks for a
// wake (a record "USR1" on the lines lane) only when it is about to wait for one.
import Glibc
import SentryRing

public final class LineRing {
    private let ring: UnsafeMutablePointer<sentry_ring>
    private let size: UInt32
    private let mapped: Int
    /// Where the next record is: what a daemon before this one left unread is read now.
    private var position: UInt64

    /// The ring on `fd`; nil when it is not one (wrong size or magic) or cannot be mapped.
    public init?(fd: Int32) {
        var st = stat()
        let header = sentry_ring_header()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > header + 64, st.st_size <= 1 << 30 else { return nil }
        let mapped = Int(st.st_size)
        guard let p = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else { return nil }
        let r = p.assumingMemoryBound(to: sentry_ring.self)
        guard r.pointee.magic == SENTRY_RING_MAGIC, Int(r.pointee.size) == mapped - header else {
            munmap(p, mapped)
            return nil
        }
        ring = r
        size = r.pointee.size
        self.mapped = mapped
        position = sentry_ring_tail(r)
    }

    deinit { munmap(ring, mapped) }

    /// The ring named by UWSGI_SENTRY_RING, if any.
    public static func fromEnvironment() -> LineRing? {
        guard let text = System.environment("UWSGI_SENTRY_RING"), let fd = Int32(text), fd >= 0 else { return nil }
        return LineRing(fd: fd)
    }

    /// Every record written since the last look (at most a ring's worth), in order;
    /// then the writer may reuse their room. False when what was there made no sense:
    /// it is passed over (the next record is the writer's next).
    @discardableResult
    public func drain(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var bytes: UnsafePointer<UInt8>? = nil
        var n: UInt32 = 0
        var sane = true
        let start = position
        while position &- start < UInt64(size) {
            let got = sentry_ring_next(ring, size, &position, &bytes, &n)
            if got == 0 { break }
            if got < 0 {
                position = sentry_ring_head(ring)
                sane = false
                break
            }
            body(UnsafeRawBufferPointer(start: bytes, count: Int(n)))
        }
        sentry_ring_release(ring, position)
        return sane
    }

    /// About to wait for a wake: true when records are there already (no need).
    public func arm() -> Bool { sentry_ring_arm(ring, position) != 0 }

    /// Awake: no wake needed until the next arm.
    public func disarm() { sentry_ring_disarm(ring) }

    /// Whether a lane record is a wake, not a frame.
    static func isWake(_ record: ArraySlice<UInt8>) -> Bool { record.elementsEqual([85, 83, 82, 49]) }  // "USR1"
}
