// A hand-off (mode=spool) straight to the running daemon: the frame as one datagram
// on the daemon's socket in the spool, answered once the frame is safe with the
// daemon: in its journal (then the daemon makes the event), or else once the event is
// in its journal or spool (where a lane's frame is before it leaves the lane). The
// answer costs a round trip; the frame file costs an fsync, most of a hand-off's own
// work (strace: ~0.4 ms of 1.4).
//
//     "<spool>/.handoff.sock", SOCK_DGRAM. Request: "USH1" <deadline: u64 LE, ns of
//     CLOCK_MONOTONIC> <frame>. Answer: "USHA".
//
// What a sender that got the answer may rely on is what the daemon's own frames get:
// no crash of any process loses the event (the journal is in the page cache); the
// spool, journal included, is synced once a second. A frame file is synced before
// the sender exits, and the daemon, when one runs, takes it at once into the same
// journal; so the two differ only while no daemon runs, and then the socket is not
// answered and the sender writes the file (also when the daemon is stopped, its queue
// is full, or the frame is larger than a datagram). The deadline keeps the two from
// both happening: a frame the daemon reads with less than `margin` of its sender's
// wait left is not handled, because that sender is about to write the file instead
// (should one still be handled late, its event carries the frame's id both times,
// and Sentry keeps one event per id).
//
// The sender's socket is bound (an abstract name the kernel picks) and connected to
// the daemon's, so the answer can come from the daemon's socket only. The daemon's is
// a file in the spool (0700), so only its owner reaches it.
import Glibc

public final class HandOffSocket {
    public static let name = ".handoff.sock"
    static let request: [UInt8] = [85, 83, 72, 49]  // "USH1"
    static let answer: [UInt8] = [85, 83, 72, 65]  // "USHA"
    static let headerBytes = 12
    /// How long a sender waits for the answer before it writes the frame file.
    public static let wait = System.environmentSeconds("UWSGI_SENTRY_HANDOFF_WAIT") ?? 1.0
    /// A frame is handled only with this much of its sender's wait left.
    static let margin = 0.25

    public let fd: Int32
    private let path: String
    private let inode: ino_t

    /// The daemon's end, in `spool`: nil when it cannot be made (a path longer than a
    /// socket's, no sockets); hand-offs then come as frame files, as before. A socket
    /// left by a daemon before this one is replaced.
    public init?(listeningIn spool: Spool) {
        path = spool.dir.file(HandOffSocket.name)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        unlink(path)
        var st = stat()
        guard UnixAddress.with(path, { bind(fd, $0, $1) == 0 }) == true, stat(path, &st) == 0 else { Glibc.close(fd); return nil }
        self.fd = fd
        inode = st.st_ino
    }

    /// Handles every frame waiting (at most `limit`). `handle` calls `answer` once the
    /// frame is safe (it may, before it is done with it); else it is answered after.
    public func receive(into buffer: inout [UInt8], limit: Int = 64,
                        _ handle: (_ frame: ArraySlice<UInt8>, _ answer: () -> Void) -> Void) {
        for _ in 0..<limit {
            var from = sockaddr_un()
            var fromLen = socklen_t(MemoryLayout<sockaddr_un>.size)
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT | MSG_TRUNC), $0, &fromLen)
                    }
                }
            }
            if n < 0 { if errno == EINTR { continue }; return }
            // Unanswered, a frame the buffer cut short is its sender's file.
            guard n >= HandOffSocket.headerBytes, n <= buffer.count, buffer[0..<4].elementsEqual(HandOffSocket.request) else { continue }
            let deadline = buffer[4..<12].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard Double(deadline) / 1e9 - System.monotonic() >= HandOffSocket.margin else { continue }
            var answered = false
            let answer = {
                if answered { return }
                answered = true
                _ = HandOffSocket.answer.withUnsafeBytes { a in
                    withUnsafePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(self.fd, a.baseAddress, a.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, fromLen)
                        }
                    }
                }
            }
            handle(buffer[HandOffSocket.headerBytes..<n], answer)
            answer()
        }
    }

    /// Closes the socket and removes its file, unless another daemon's has replaced it.
    public func close() {
        var st = stat()
        if stat(path, &st) == 0 && st.st_ino == inode { unlink(path) }
        Glibc.close(fd)
    }

    /// The sender's end: true once the daemon in `spool` answered that it has `frame`.
    public static func handOff(_ frame: [UInt8], spool: Spool, wait: Double = wait) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var own = sockaddr()
        own.sa_family = sa_family_t(AF_UNIX)
        // Bound (autobind: the kernel picks an abstract name) so the daemon can answer;
        // connected, so only the daemon's socket can.
        guard bind(fd, &own, socklen_t(MemoryLayout<sa_family_t>.size)) == 0,
              UnixAddress.with(spool.dir.file(name), { connect(fd, $0, $1) == 0 }) == true else { return false }
        let deadline = System.monotonic() + wait
        var message = request
        message.reserveCapacity(headerBytes + frame.count)
        let ns = UInt64(deadline * 1e9)
        for i in 0..<8 { message.append(UInt8(truncatingIfNeeded: ns >> (8 * UInt64(i)))) }
        message += frame
        // Never blocks: a full queue (a stopped daemon) is a frame file, now.
        guard message.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }) == message.count
        else { return false }
        while true {
            let left = deadline - System.monotonic()
            if left <= 0 { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32((left * 1000).rounded(.up)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return false }
            var got = [UInt8](repeating: 0, count: 8)
            let n = got.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            return n == answer.count && got[0..<n].elementsEqual(answer)
        }
    }
}
