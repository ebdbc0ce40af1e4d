// The lines around each Python frame, as sentry-python sends them (5 before, the
// line, 5 after), read by the daemon from the file the frame names: the worker only
// said which line it was (and what it read there). When the file's line is not what
// the worker read, the file changed since (a deploy): its neighbours are left out
// rather than lie. Read as hostile input: a regular file only, never blocking, at
// most 2 MiB, lines cut at 1,024 characters; files kept (by path, mtime and size) for
// the next event of a burst.
import Glibc

public final class SourceContext {
    static let around = 5
    static let maxFile = 2 << 20
    static let maxLine = 1024

    /// A file's lines as frames take them (cut once, when it is read: a burst's frames
    /// take the same eleven lines again and again).
    private struct File { var stamp: FileStamp; var lines: [String] }
    private var files: [String: File] = [:]
    /// The files already looked at for the event being filled: its frames in one
    /// file are one stat, not one each.
    private var checked: [String: [String]] = [:]

    public init() {}

    /// Fills the context of every frame of `e` that has an absolute path and a line.
    public func fill(_ e: inout Event) {
        defer { checked.removeAll(keepingCapacity: true) }
        if var x = e.exception { x.frames = x.frames.map(context); e.exception = x }
        e.chained = e.chained.map { x in var x = x; x.frames = x.frames.map(context); return x }
    }

    func fill(_ f: StackFrame) -> StackFrame {
        defer { checked.removeAll(keepingCapacity: true) }
        return context(f)
    }

    private func context(_ f: StackFrame) -> StackFrame {
        guard let path = f.absPath, path.hasPrefix("/"), let n = f.lineno, n > 0, let lines = lines(of: path), n <= lines.count else { return f }
        var f = f
        let line = { (i: Int) -> String in lines[i - 1] }
        let read = line(n)
        if let said = f.contextLine, said.trimmingSpaces() != read.trimmingSpaces() { return f }  // the file changed since
        f.contextLine = read
        f.preContext = (max(1, n - SourceContext.around)..<n).map(line)
        let last = min(lines.count, n + SourceContext.around)
        f.postContext = n < last ? ((n + 1)...last).map(line) : []
        return f
    }

    private func lines(of path: String) -> [String]? {
        if let lines = checked[path] { return lines }
        let lines = freshLines(of: path)
        if let lines { checked[path] = lines }
        return lines
    }

    private func freshLines(of path: String) -> [String]? {
        // A file read before and unchanged since: one stat, no open (three frames of an
        // event in one file were three opens).
        var known = stat()
        if let f = files[path], stat(path, &known) == 0, (known.st_mode & S_IFMT) == S_IFREG, FileStamp(known) == f.stamp {
            return f.lines
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= SourceContext.maxFile else { return nil }
        let text = String(decoding: StateDirectory.readAll(fd, limit: SourceContext.maxFile), as: UTF8.self)
        // "\r\n" is one Character in Swift: split on it too, or a CRLF file is one line.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { Event.clip(String($0), SourceContext.maxLine) }  // as sentry-python: the line ending goes, tabs stay
        if files.count >= 32 { files.removeAll() }
        files[path] = File(stamp: FileStamp(st), lines: lines)
        return lines
    }
}
