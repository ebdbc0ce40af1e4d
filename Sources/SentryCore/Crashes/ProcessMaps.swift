// /proc/PID/maps, as the crashing worker read it, turned into its loaded objects:
// one per file mapped from offset 0, from that mapping's start to the end of the
// file's last mapping after it. Files that are not ELF objects (locale archives,
// caches) fall out later, when ELFFile cannot read them.

public struct MappedObject: Equatable {
    public var path: String
    public var start: UInt64
    public var end: UInt64
    public var inode: UInt64
}

public enum ProcessMaps {
    /// A truncated last line (the frame had no more room) is left out.
    public static func objects(_ text: String) -> [MappedObject] {
        var out: [MappedObject] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let whole = text.hasSuffix("\n") ? lines[...] : lines.dropLast()
        for line in whole.prefix(65_536) {
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count == 6 else { continue }
            let range = f[0].split(separator: "-")
            let path = f[5].trimmingPrefix(while: { $0 == " " })
            guard range.count == 2, let start = NativeAddress.parse(range[0]), let end = NativeAddress.parse(range[1]), end > start,
                  let offset = NativeAddress.parse(f[2]), let inode = UInt64(f[4]), path.hasPrefix("/"),
                  !path.hasSuffix(" (deleted)") else { continue }
            if let last = out.last, last.path == path, offset > 0, start >= last.end {
                out[out.count - 1].end = end
            } else if offset == 0 {
                out.append(MappedObject(path: String(path), start: start, end: end, inode: inode))
            }
        }
        return out
    }
}

extension Substring {
    func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var s = self
        while let c = s.first, predicate(c) { s = s.dropFirst() }
        return s
    }
}
