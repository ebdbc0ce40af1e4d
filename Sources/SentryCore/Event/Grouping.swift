// Alarm events that group well. An alarm carries a log line: without help, Sentry
// would open a new issue for every pid, worker number, address and timestamp in it.
// So, unless the caller gave a fingerprint, the message with its volatile parts
// masked is the fingerprint; and unless the caller gave a level, uWSGI's known
// troubles get the level they deserve.

import Glibc

public enum Grouping {
    /// The level of uWSGI's own trouble lines; nil when the line is not one of them.
    public static func inferLevel(_ message: String) -> Level? {
        var m = message.asciiLowercased()
        return m.withUTF8 { inferLevel(lowered: Words($0)) }
    }

    /// `inferLevel` of a message already in lower case, its words found.
    static func inferLevel(lowered m: Words) -> Level? {
        if m.has(.segmentationFault) || m.has(.sigsegv) || m.has(.harakiriOnWorker) || m.has(.gotSignal11)
            || m.has(.sigbus) || m.starts("*** backtrace of ") {
            return .fatal
        }
        if m.has(.damnWorker) || (m.has(.worker) && m.has(.died)) { return .error }
        if m.has(.listenQueue) && m.has(.full) { return .warning }
        return nil
    }

    /// The words a line's level is read from, looked for in one pass over its lowered
    /// bytes (a search per word, even glibc's memmem, was most of what a log line's
    /// level cost: ~240 instructions a word).
    struct Words {
        enum Word: Int, CaseIterable {
            case segmentationFault, sigsegv, harakiriOnWorker, gotSignal11, sigbus, damnWorker, worker, died, listenQueue, full
            case traceback, error, exception, warn, bangs
            var text: String {
                switch self {
                case .segmentationFault: return "segmentation fault"
                case .sigsegv: return "sigsegv"
                case .harakiriOnWorker: return "harakiri on worker"
                case .gotSignal11: return "got signal 11"
                case .sigbus: return "sigbus"
                case .damnWorker: return "damn ! worker"
                case .worker: return "worker"
                case .died: return "died"
                case .listenQueue: return "listen queue"
                case .full: return "full"
                case .traceback: return "traceback"
                case .error: return "error"
                case .exception: return "exception"
                case .warn: return "warn"
                case .bangs: return "!!!"
                }
            }
        }
        private static let all = WordSet(Word.allCases.map { $0.text })  // a closure: a key path wakes the runtime's demangler (RSS)
        let bytes: UnsafeBufferPointer<UInt8>
        private let found: UInt64
        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes; found = Words.all.found(in: bytes) }

        func has(_ w: Word) -> Bool { found & (1 << w.rawValue) != 0 }

        func starts(_ w: StaticString) -> Bool {
            bytes.count >= w.utf8CodeUnitCount && memcmp(bytes.baseAddress!, w.utf8Start, w.utf8CodeUnitCount) == 0
        }
    }

    static let dayAndMonthNames: [[UInt8]] = [
        "mon", "tue", "wed", "thu", "fri", "sat", "sun",
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ].map { Array($0.utf8) }

    /// Numbers, pids, hex addresses, UUIDs, IPs, ports, dates and times become `<n>`,
    /// day and month names `<t>`: `DAMN ! worker 3 (pid: 1234) died` and the same line
    /// for worker 1 mask to the same text.
    public static func mask(_ message: String) -> String {
        let b = Array(message.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        func isHex(_ c: UInt8) -> Bool { DSN.isHex(c) }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func isWord(_ c: UInt8) -> Bool { DSN.isAlnum(c) || c == UInt8(ascii: "_") }
        while i < b.count {
            let c = b[i]
            let atWordStart = i == 0 || !isWord(b[i - 1])
            // A UUID may start with a letter: 8-4-4-4-12 hex digits.
            if atWordStart && isHex(c), let end = uuidEnd(b, i) {
                out += Array("<n>".utf8); i = end; continue
            }
            if atWordStart && isDigit(c) {
                // A run of digits, hex, dots, colons, dashes: numbers, 0x addresses,
                // IPv4:port, 2026-11-24, 21:33:52, 1.5s.
                var j = i
                while j < b.count && (isHex(b[j]) || b[j] == UInt8(ascii: "x") || b[j] == UInt8(ascii: "X")
                                      || ((b[j] == UInt8(ascii: ".") || b[j] == UInt8(ascii: ":") || b[j] == UInt8(ascii: "-"))
                                          && j + 1 < b.count && isHex(b[j + 1]))) {
                    j += 1
                }
                out += Array("<n>".utf8); i = j; continue
            }
            if atWordStart && i + 3 <= b.count && (i + 3 == b.count || !isWord(b[i + 3])) {
                let word = b[i..<(i + 3)].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
                if dayAndMonthNames.contains(word) { out += Array("<t>".utf8); i += 3; continue }
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func uuidEnd(_ b: [UInt8], _ start: Int) -> Int? {
        var i = start
        for (n, group) in [8, 4, 4, 4, 12].enumerated() {
            for _ in 0..<group {
                guard i < b.count, DSN.isHex(b[i]) else { return nil }
                i += 1
            }
            if n < 4 {
                guard i < b.count, b[i] == UInt8(ascii: "-") else { return nil }
                i += 1
            }
        }
        return i
    }

    /// The first line of a multi-line message (a segfault's C backtrace) is its title;
    /// the lines become a list in `extra`, readable one per row in Sentry's UI.
    public static func lines(_ message: String) -> [String] {
        message.split(separator: "\n", omittingEmptySubsequences: true).map { String($0).trimmingSpaces() }
            .filter { !$0.isEmpty }
    }
}
