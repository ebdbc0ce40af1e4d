// Reading the message from stdin, the way uWSGI hands it over:
// - an alarm writes the whole message into a NON-BLOCKING socketpair before fork,
//   then the child sees EOF;
// - a hook inherits uWSGI's own stdin: a terminal, /dev/null, or a pipe that never
//   closes. A hook that waited on it would hang uWSGI's start-up.
// So: skip terminals, wait only briefly for a first byte, bound the whole read in
// time and size, and never fail on what arrives (invalid UTF-8 is repaired).
import Glibc

public struct StdinRead: Equatable {
    public enum Source: Equatable { case terminal, empty, data }
    public var source: Source
    public var bytes: [UInt8]
    /// More than `limit` bytes were offered; the rest was left unread.
    public var truncated: Bool
}

public enum Stdin {
    public static let limit = 1 << 20
    /// How long a stdin with nothing in it may delay us (a hook's never-closing pipe).
    public static let firstByteWait: Int32 = 200
    /// How long to wait for more once data flows, and for everything.
    public static let idleWait: Int32 = 1000
    public static let totalWait = 3.0

    public static func read(fd: Int32 = 0, limit: Int = Stdin.limit) -> StdinRead {
        if isatty(fd) == 1 { return StdinRead(source: .terminal, bytes: [], truncated: false) }
        let flags = fcntl(fd, F_GETFL)
        if flags < 0 { return StdinRead(source: .empty, bytes: [], truncated: false) }  // closed fd
        if flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        // The file description may be shared with uWSGI (a hook's stdin): restore it.
        defer { if flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, flags) } }

        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = System.monotonic() + totalWait
        while out.count < limit {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = out.isEmpty ? firstByteWait : idleWait
            let remaining = Int32(max(0, (deadline - System.monotonic()) * 1000))
            let ready = poll(&p, 1, min(wait, remaining))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }  // nothing came in time: take what we have
            let want = min(chunk.count, limit - out.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }  // EOF or error
            out += chunk[0..<n]
        }
        var truncated = false
        if out.count >= limit {
            // Is there more? A brief look, only ever paid by oversized input.
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 100) > 0 && (p.revents & Int16(POLLIN)) != 0 { truncated = true }
        }
        return StdinRead(source: out.isEmpty ? .empty : .data, bytes: out, truncated: truncated)
    }

    /// Bytes -> text: invalid UTF-8 repaired to U+FFFD, trailing newlines stripped
    /// (a log alarm passes the record with its newline).
    public static func text(_ bytes: ArraySlice<UInt8>) -> String {
        var end = bytes.endIndex
        while end > bytes.startIndex && (bytes[end - 1] == 10 || bytes[end - 1] == 13) { end -= 1 }
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// No option string in argv: the first line of stdin is the option string (keeps
    /// the DSN out of `ps`), the rest is the message.
    public static func splitFirstLine(_ bytes: [UInt8]) -> (String, String?) {
        guard let nl = bytes.firstIndex(of: 10) else { return (text(bytes[...]), nil) }
        let rest = text(bytes[(nl + 1)...])
        return (text(bytes[..<nl]), rest.isEmpty ? nil : rest)
    }
}
