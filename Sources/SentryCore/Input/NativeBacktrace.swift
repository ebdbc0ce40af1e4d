// uWSGI's alarm-segfault message is its C backtrace:
//     *** backtrace of 28023 ***
//     uwsgi(uwsgi_backtrace+0x2f) [0x55eb33a8d4df]
//     /lib/x86_64-linux-gnu/libc.so.6(+0x3c050) [0x7f3c3fcae050]
//     ...
//     *** end of backtrace ***
// innermost frame first. As one line it is unreadable in Sentry; as frames it reads
// like any native crash.

public enum NativeBacktrace {
    public struct Crash: Equatable {
        public var pid: String?
        /// Oldest first, as Sentry wants them.
        public var frames: [StackFrame]
    }

    public static func parse(_ text: String) -> Crash? {
        var pid: String? = nil
        var frames: [StackFrame] = []
        for raw in text.split(separator: "\n") {
            let line = String(raw).trimmingSpaces()
            if line.hasPrefix("*** backtrace of ") {
                pid = String(line.dropFirst(17).prefix(while: { $0 != " " }))
                continue
            }
            if let frame = frame(line) { frames.append(frame) }
        }
        guard pid != nil, !frames.isEmpty else { return nil }
        return Crash(pid: pid, frames: frames.reversed())
    }

    /// `object(function+0xoff) [0xaddr]` or `object(+0xoff) [0xaddr]`.
    static func frame(_ line: String) -> StackFrame? {
        guard line.hasSuffix("]"), let open = line.lastIndex(of: "["),
              let paren = line[..<open].lastIndex(of: "("), let close = line[paren...].firstIndex(of: ")") else { return nil }
        let address = String(line[line.index(after: open)..<line.index(before: line.endIndex)])
        guard address.hasPrefix("0x"), address.utf8.dropFirst(2).allSatisfy(DSN.isHex) else { return nil }
        let object = String(line[..<paren])
        let inside = line[line.index(after: paren)..<close]
        let function = inside.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        var f = StackFrame(function: (function?.isEmpty ?? true) ? nil : function)
        f.package = object.isEmpty ? nil : object
        f.instructionAddr = address
        return f
    }
}
