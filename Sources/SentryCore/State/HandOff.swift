// Without the loader, a `cmd:` alarm's sender (mode=spool) does not build the event:
// it hands the daemon what it was given, as the loader would have (a LoaderFrame:
// the line, the options, the time, what the stats server said of the workers), in a
// frame file in the instance's spool, written atomically:
//     <created ms, 16 digits>-<random>.frame
// The daemon (Intake) makes the event. So the storm budget and the harakiri story
// (its first line, its request line, the worker's death: one event) live once, in
// the daemon, whichever way uWSGI reached us.
import Glibc

extension Spool {
    static let frameSuffix = ".frame"

    /// Writes `frame` for the daemon; its name, or nil when the spool cannot be written.
    public func handOff(_ frame: [UInt8]) -> Result<String, SystemError> {
        let name = Spool.frameName()
        return dir.atomicPut(name, frame, durable: true).map { name }
    }

    /// A new frame file's name.
    static func frameName() -> String {
        let ms = String(Seconds.whole((StateDirectory.now() * 1000).rounded(.down)))
        return String(repeating: "0", count: max(0, 16 - ms.count)) + ms + "-" + System.randomEventID().prefix(12) + frameSuffix
    }

    /// Whether `name` is a frame file's (the journal holds frames the daemon is making
    /// events of under such names; recovered, they are frame files again).
    static func isFrameName(_ name: String) -> Bool {
        name.hasSuffix(frameSuffix) && !name.hasPrefix(".") && !name.contains("/")
    }

    /// The frames waiting for the daemon, oldest first.
    public func handedOff() -> [String] {
        dir.names().filter(Spool.isFrameName).sorted()
    }

    /// Handles frame `name` with `body` and then removes it; a daemon that dies in
    /// between leaves its claim, which the next one takes back (recoverStale).
    /// False when another daemon was faster.
    public func take(frame name: String, _ body: ([UInt8]) -> Void) -> Bool {
        let claimed = ".inflight-\(getpid())-" + name
        guard rename(dir.file(name), dir.file(claimed)) == 0 else { return false }
        if let bytes = dir.read(claimed) { body(bytes) }
        unlink(dir.file(claimed))
        return true
    }
}

/// The option text a hand-off carries: the sender's own, with what it took from its
/// environment written in (the daemon's may differ), after it (the last one wins).
enum HandOffOptions {
    static func resolved(_ text: String, _ o: Options) -> String {
        var out = text
        for (key, value) in [("dsn", o.dsn), ("release", o.release), ("environment", o.environment)] {
            if let value { out += (out.isEmpty ? "" : ",") + key + "=" + KVList.escape(value) }
        }
        return out
    }
}
