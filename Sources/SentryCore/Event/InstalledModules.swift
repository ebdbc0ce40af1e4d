// An event's `modules` (the installed distributions and their versions, as
// sentry-python sends them), read by the daemon from the worker's sys.path: each
// `*.dist-info` (METADATA) and `*.egg-info` (PKG-INFO, a directory or the file
// itself) names one. Read here and not in the worker, where importlib.metadata
// takes about 90 ms on a Debian host: the first exception of every worker would
// pay it. Hostile input: absolute directories only, at most 50 of them, 1,000
// entries each, 300 distributions, the first 8 KiB of a metadata file; cached by
// directory and its mtime (an install or removal changes it), looked at again at most
// once a second.
import Glibc

public final class InstalledModules {
    static let maxDirectories = 50
    static let maxEntries = 1000
    static let maxModules = 300

    private struct Directory { var stamp: FileStamp; var modules: [Field] }
    private var directories: [String: Directory] = [:]
    /// The last list made, for the import paths it was made of, and when: within a
    /// second the same paths get it again without a look at the directories (a burst
    /// of events from one app asked the same five directories for each).
    private var last: (paths: [String], at: Double, modules: [Field])?
    static let recheck = 1.0

    public init() {}

    /// Fills `e.modules` from the directories its exception's process imports from.
    public func fill(_ e: inout Event, now: Double = System.monotonic()) {
        guard e.modules.isEmpty, !e.importPaths.isEmpty else { return }
        if let last, last.paths == e.importPaths, now - last.at < InstalledModules.recheck {
            e.modules = last.modules
            return
        }
        var seen = Set<String>(), out: [Field] = []
        for dir in e.importPaths.prefix(InstalledModules.maxDirectories) where dir.hasPrefix("/") {
            for m in modules(in: dir) where !seen.contains(m.name) && out.count < InstalledModules.maxModules {
                seen.insert(m.name)
                out.append(m)
            }
        }
        e.modules = out.sorted { $0.name < $1.name }
        last = (e.importPaths, now, e.modules)
    }

    func modules(in dir: String) -> [Field] {
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return [] }
        if let d = directories[dir], d.stamp == FileStamp(st) { return d.modules }
        var found: [Field] = []
        if let handle = opendir(dir) {
            defer { closedir(handle) }
            var n = 0
            while let entry = readdir(handle), n < InstalledModules.maxEntries {
                n += 1
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                let file: String
                if name.hasSuffix(".dist-info") { file = dir + "/" + name + "/METADATA" }
                else if name.hasSuffix(".egg-info") { file = dir + "/" + name + (isDirectory(dir + "/" + name) ? "/PKG-INFO" : "") }
                else { continue }
                if let m = InstalledModules.metadata(file) { found.append(m) }
            }
        }
        if directories.count >= 64 { directories.removeAll() }
        directories[dir] = Directory(stamp: FileStamp(st), modules: found)
        return found
    }

    private func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// `Name:` and `Version:` of a metadata file (RFC 822 headers), the name
    /// lowercased as sentry-python reports it.
    static func metadata(_ path: String) -> Field? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return parse(String(decoding: StateDirectory.readAll(fd, limit: 8192), as: UTF8.self))
    }

    static func parse(_ text: String) -> Field? {
        var name: String?, version: String?
        // Lines as bytes, up to the first empty one: split into Characters, the whole
        // 8 KiB (the description too) cost 1.9 M instructions a file (callgrind).
        var text = text
        text.withUTF8 { b in
            eachLine(of: b) { range in
                let line = UnsafeBufferPointer(rebasing: b[range])
                if line.isEmpty { return false }  // the headers end; the description follows
                let value = { (drop: Int) in String(decoding: line.dropFirst(drop), as: UTF8.self).trimmingSpaces() }
                if name == nil, line.starts(with: "Name:".utf8) { name = value(5) }
                if version == nil, line.starts(with: "Version:".utf8) { version = value(8) }
                return true
            }
        }
        guard let name, !name.isEmpty, let version, !version.isEmpty else { return nil }
        return Field(Event.clip(name.asciiLowercased(), 100), Event.clip(version, 50))
    }
}
