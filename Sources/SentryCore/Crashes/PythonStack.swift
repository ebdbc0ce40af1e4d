// The Python stack CPython's own dumper wrote from the crash handler
// (`_Py_DumpTraceback`, faulthandler's format, most recent call first):
//     Stack (most recent call first):
//       File "/srv/app/views.py", line 31 in level_three
//       File "/srv/app/views.py", line 27 in level_two
// as frames, oldest first. Names are ASCII with escapes; a line cut short is skipped.

public enum PythonStack {
    public static func frames(_ text: String) -> [StackFrame] {
        var frames: [StackFrame] = []
        for raw in text.split(separator: "\n").prefix(1000) {
            let line = raw.trimmingPrefix(while: { $0 == " " })
            guard line.hasPrefix("File \""), let close = line.dropFirst(6).lastIndex(of: "\"") else { continue }
            let path = String(line[line.index(line.startIndex, offsetBy: 6)..<close])
            let rest = line[line.index(after: close)...]
            guard rest.hasPrefix(", line ") else { continue }
            let after = rest.dropFirst(7)
            let number = after.prefix(while: { $0.isASCII && $0.isNumber })
            guard !number.isEmpty, after.dropFirst(number.count).hasPrefix(" in ") else { continue }
            let function = String(after.dropFirst(number.count + 4))
            var f = StackFrame(filename: String(path.split(separator: "/").last ?? Substring(path)), function: function,
                               lineno: Int(number).flatMap { $0 > 0 ? $0 : nil })
            f.absPath = path
            f.platform = "python"
            // The interpreter's own library and installed packages are not the app's.
            f.inApp = !(path.find("/site-packages/") != nil || path.find("/dist-packages/") != nil || isStandardLibrary(path))
            frames.append(f)
        }
        return frames.reversed()
    }

    /// `.../lib/python3.11/...`, not a package installed under it.
    static func isStandardLibrary(_ path: String) -> Bool {
        guard let r = path.find("/lib/python") else { return false }
        return path[r.upperBound...].first?.isNumber ?? false
    }
}
