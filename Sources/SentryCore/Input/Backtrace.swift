// The `backtrace` of uWSGI's exception packet: a uwsgi array, `u16le len, item`
// repeated, 5 items per frame (filename, lineno, function, text, custom), oldest
// frame first. `custom` is the plugin's own: sentry_pyframes
// (plugin/sentry_pyframes/sentry_capture.py) puts a JSON object there:
//   {"m": module, "a": absolute path, "v": {name: bounded repr}}   a frame's extras
//   {"x": {type, module, value, id, parent, source, n}}            a chained exception
//       (a frame of its own); its `n` frames follow it
//   {"p": {runtime, paths, argv, sdk, syspath, req}}               the packet's facts (req last:
//       the rest is read once per worker, KnownFacts)
// and sentry_rbframes (plugin/sentry_rbframes/sentry_capture.rb) the same, with
//   {"a": absolute path, "i": in_app}                               a frame's extras
//   {"p": {runtime, sdk, req, root, thread, gems}}                   its facts
// Everything here is checked as hostile: a lying length is an error, JSON that does
// not parse or has the wrong shape is ignored, a frame is kept for what it has.

import Glibc

/// What sentry_pyframes said of the packet as a whole.
public struct CaptureFacts: Equatable {
    public var runtime: Runtime?
    /// The app's own Sentry SDK, when it had a client bound (`sentry.python/2.75.0`).
    public var sdk: String?
    /// The request the exception escaped from.
    public var request: Trace.Request?
    /// The interpreter's library paths: frames there are not the app's own.
    public var libraryPaths: [String] = []
    /// sys.argv, and sys.path (where the daemon finds the installed distributions).
    public var argv: [String] = []
    public var importPaths: [String] = []
    /// Ruby: the installed gems (name, version), and the thread it was raised in.
    public var modules: [Field] = []
    public var threadID: Int?
}

public struct Backtrace: Equatable {
    /// The main exception's frames, oldest first.
    public var frames: [StackFrame] = []
    /// The exceptions before it, oldest first (their frames with them).
    public var chained: [ExceptionInfo] = []
    public var facts: CaptureFacts?

    public static func decode(_ b: ArraySlice<UInt8>) throws -> Backtrace {
        var items: [ArraySlice<UInt8>] = []
        var offset = b.startIndex
        while offset < b.endIndex {
            guard b.endIndex - offset >= 2 else { throw ExceptionPacket.DecodeError(description: "backtrace: truncated length") }
            let len = Int(b[offset]) | Int(b[offset + 1]) << 8
            offset += 2
            guard b.endIndex - offset >= len else {
                throw ExceptionPacket.DecodeError(description: "backtrace: item of \(len) bytes runs past the end")
            }
            items.append(b[offset..<(offset + len)])
            offset += len
        }
        guard items.count % 5 == 0 else {
            throw ExceptionPacket.DecodeError(description: "backtrace: \(items.count) items is not 5 per frame")
        }
        var out = Backtrace()
        var pending: (info: ExceptionInfo, left: Int)?
        var i = 0
        while i < items.count {
            let at = i
            let text = { (k: Int) -> String in String(decoding: items[at + k], as: UTF8.self) }
            if let known = knownFacts.facts(items[at + 4]) { out.facts = known; i += 5; continue }
            let custom = items[at + 4].first == UInt8(ascii: "{") ? try? JSONReader.parse(Array(items[at + 4].prefix(1 << 16)), keepingRaw: "v") : nil
            i += 5
            if let x = custom?["x"] {
                if let p = pending { out.chained.append(p.info) }
                pending = (chainedException(x), max(0, whole(x["n"]) ?? 0))
                if pending?.left == 0 { out.chained.append(pending!.info); pending = nil }
                continue
            }
            if let p = custom?["p"] {
                let f = facts(p)
                out.facts = f
                knownFacts.remember(items[at + 4], f)
                continue
            }
            var frame = StackFrame(filename: nonEmpty(text(0)), function: nonEmpty(text(2)),
                                   lineno: Int(text(1)).flatMap { $0 > 0 ? $0 : nil }, contextLine: nonEmpty(text(3)))
            frame.module = custom?["m"]?.string
            frame.absPath = custom?["a"]?.string
            if case .bool(let app)? = custom?["i"] { frame.inApp = app }  // sentry_rbframes decides, as sentry-ruby does
            if case .unchecked(let locals)? = custom?["v"], locals.first == UInt8(ascii: "{") { frame.vars = .unchecked(locals) }
            // uWSGI < 2.0.27 on Python >= 3.5 sends blank frames; never send those.
            guard frame.filename != nil || frame.function != nil else { continue }
            if var p = pending {
                p.info.frames.append(frame)
                p.left -= 1
                if p.left == 0 { out.chained.append(p.info); pending = nil } else { pending = p }
            } else {
                out.frames.append(frame)
            }
        }
        if let p = pending { out.chained.append(p.info) }
        return out
    }

    static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    /// The facts of a worker's packets are the same but for the request (sentry_pyframes
    /// writes it last): read once, not for every exception (parsed into a tree, they were
    /// a third of reading a packet).
    static let knownFacts = KnownFacts()

    static func chainedException(_ x: JSONValue) -> ExceptionInfo {
        var info = ExceptionInfo(type: x["type"]?.string, value: x["value"]?.string,
                                 module: x["module"]?.string.flatMap { $0 == "builtins" ? nil : $0 })
        info.chainID = whole(x["id"])
        info.parentID = whole(x["parent"])
        info.source = x["source"]?.string
        return info
    }

    static func facts(_ p: JSONValue) -> CaptureFacts {
        var f = CaptureFacts()
        if let name = p["runtime"]?["name"]?.string, let version = p["runtime"]?["version"]?.string {
            f.runtime = Runtime(name: name, version: version, build: p["runtime"]?["build"]?.string)
        }
        f.sdk = p["sdk"]?.string
        f.request = request(p["req"])
        f.libraryPaths = p["paths"]?.array?.compactMap(\.string) ?? []
        f.argv = p["argv"]?.array?.compactMap(\.string) ?? []
        f.importPaths = p["syspath"]?.array?.prefix(InstalledModules.maxDirectories).compactMap(\.string) ?? []
        if case .object(let gems)? = p["gems"] {
            f.modules = gems.prefix(1000).compactMap { name, version in version.string.map { Field(Event.clip(name, 200), Event.clip($0, 200)) } }
        }
        f.threadID = whole(p["thread"])
        return f
    }

    /// The request a packet's facts name (`req`).
    static func request(_ r: JSONValue?) -> Trace.Request? {
        guard let r, let pid = whole(r["pid"]), let core = whole(r["core"]), let start = whole(r["start_us"]), start > 0 else { return nil }
        return Trace.Request(pid: pid, core: core, startMicros: Int64(start))
    }

    /// A whole number from JSON, within Int's range (a Double there may be anything).
    static func whole(_ v: JSONValue?) -> Int? {
        guard let n = v?.number, n.magnitude < 9e15 else { return nil }
        return Int(exactly: n.rounded())
    }
}

/// The last facts item read whole, by its bytes before `,"req":` (its last member):
/// an item with the same bytes there has the same facts, and only its request is read.
/// Kept only when those bytes hold no other `"req"` (a JSON string cannot hold that
/// sequence: its quotes would be escaped), so the request read alone is the one
/// reading it whole finds. One thread (the daemon's, a sender's) uses it.
final class KnownFacts {
    private var before: [UInt8]?
    private var facts = CaptureFacts()
    private static let start = Array(#"{"p":"#.utf8), req = Array(#","req":"#.utf8), key = Array(#""req""#.utf8)

    /// The facts of `item`, when its bytes before the request are the last ones remembered.
    func facts(_ item: ArraySlice<UInt8>) -> CaptureFacts? {
        guard let before, let (cut, request) = KnownFacts.split(item), cut - item.startIndex == before.count,
              item.withUnsafeBytes({ i in before.withUnsafeBytes { memcmp(i.baseAddress!, $0.baseAddress!, before.count) == 0 } }) else { return nil }
        var f = facts
        f.request = request
        return f
    }

    /// `item` was read whole into `facts`.
    func remember(_ item: ArraySlice<UInt8>, _ facts: CaptureFacts) {
        guard let (cut, request) = KnownFacts.split(item), request == facts.request,
              KnownFacts.last(KnownFacts.key, in: item[..<cut]) == nil else { return }
        before = Array(item[..<cut])
        self.facts = facts
    }

    func forget() { before = nil }

    /// Where `,"req":` last starts in a facts item ending `,"req":{...}}}`, and that request.
    private static func split(_ item: ArraySlice<UInt8>) -> (Int, Trace.Request?)? {
        guard item.starts(with: start), item.count >= start.count + req.count + 4, item.suffix(2).elementsEqual([125, 125]),
              let at = last(req, in: item) else { return nil }
        let object = Array(item[(at + req.count)..<(item.endIndex - 2)])
        guard let r = try? JSONReader.parse(object), case .object = r else { return nil }
        return (at, Backtrace.request(r))
    }

    /// Where `needle` last starts in `hay`.
    private static func last(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.endIndex - needle.count
        while i >= hay.startIndex {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }
}
