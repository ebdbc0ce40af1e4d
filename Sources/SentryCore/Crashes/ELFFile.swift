// An ELF object on disk, read as far as a crash needs: its GNU build id (the note
// `readelf -n` prints), where its first segment wants to be loaded (to turn an
// address into the file's own), and its function symbols (.symtab when the file
// has one, else .dynsym: the names `backtrace_symbols` would give, and more).
// Files are hostile like everything else: every offset and size is checked, and
// nothing over `maxSection` bytes is read.

import Glibc

public struct ELFFile {
    public var buildID: [UInt8]?
    /// The lowest PT_LOAD's virtual address, page-aligned: the image's start in the file's terms.
    public var baseVaddr: UInt64 = 0
    /// Function symbols, by address.
    var symbols: [(start: UInt64, size: UInt64, name: String)] = []

    static let maxSection = 64 << 20

    /// The file at `path`, when it is a 64-bit little-endian ELF object.
    public static func read(_ path: String, symbols wantSymbols: Bool) -> ELFFile? {
        // Non-blocking, and regular files only: a FIFO or a device named in the maps
        // must not hold the daemon.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        func bytes(_ offset: UInt64, _ count: UInt64) -> [UInt8]? {
            guard count <= UInt64(maxSection), offset <= UInt64(Int64.max) - count else { return nil }
            var out = [UInt8](repeating: 0, count: Int(count))
            var done = 0
            while done < out.count {
                let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
                if n <= 0 { return nil }
                done += n
            }
            return out
        }
        guard let h = bytes(0, 64), h.starts(with: [0x7f, 0x45, 0x4c, 0x46]), h[4] == 2, h[5] == 1 else { return nil }
        var elf = ELFFile()
        let phoff = le(h, 0x20, 8), phentsize = le(h, 0x36, 2), phnum = le(h, 0x38, 2)
        if phentsize >= 56, phnum <= 4096, let ph = bytes(phoff, phentsize * phnum) {
            var lowest = UInt64.max
            for i in 0..<Int(phnum) {
                let p = i * Int(phentsize)
                let type = le(ph, p, 4), offset = le(ph, p + 8, 8), vaddr = le(ph, p + 16, 8), filesz = le(ph, p + 32, 8)
                if type == 1 { lowest = min(lowest, vaddr & ~0xfff) }
                if type == 4, elf.buildID == nil, filesz <= 1 << 16, let notes = bytes(offset, filesz) { elf.buildID = buildID(notes) }
            }
            if lowest != .max { elf.baseVaddr = lowest }
        }
        if wantSymbols { elf.symbols = functionSymbols(h, bytes) }
        return elf
    }

    /// The function that holds file address `address`: the nearest symbol below it, within its size.
    public func function(at address: UInt64) -> String? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let s = symbols[lo - 1]
        return address - s.start < max(s.size, 1) ? s.name : nil
    }

    /// NT_GNU_BUILD_ID ("GNU", type 3) among a PT_NOTE segment's notes.
    static func buildID(_ notes: [UInt8]) -> [UInt8]? {
        var p = 0
        while p + 12 <= notes.count {
            let namesz = Int(le(notes, p, 4)), descsz = Int(le(notes, p + 4, 4)), type = le(notes, p + 8, 4)
            let name = p + 12, desc = name + (namesz + 3) & ~3
            guard namesz <= notes.count, descsz <= notes.count, desc + descsz <= notes.count else { return nil }
            if type == 3, namesz == 4, notes[name..<name + 4].elementsEqual([0x47, 0x4e, 0x55, 0]), descsz > 0 {
                return Array(notes[desc..<desc + descsz])
            }
            p = desc + (descsz + 3) & ~3
        }
        return nil
    }

    static func functionSymbols(_ h: [UInt8], _ bytes: (UInt64, UInt64) -> [UInt8]?) -> [(start: UInt64, size: UInt64, name: String)] {
        let shoff = le(h, 0x28, 8), shentsize = le(h, 0x3a, 2), shnum = le(h, 0x3c, 2)
        guard shentsize >= 64, shnum <= 65_535, let sh = bytes(shoff, shentsize * shnum) else { return [] }
        func section(_ i: Int) -> (type: UInt64, offset: UInt64, size: UInt64, link: Int, entsize: UInt64) {
            let p = i * Int(shentsize)
            return (le(sh, p + 4, 4), le(sh, p + 24, 8), le(sh, p + 32, 8), Int(le(sh, p + 40, 4)), le(sh, p + 56, 8))
        }
        let all = (0..<Int(shnum)).map(section)
        guard let table = all.first(where: { $0.type == 2 }) ?? all.first(where: { $0.type == 11 }),
              table.link < all.count, table.entsize >= 24, table.entsize <= 1024,
              let syms = bytes(table.offset, table.size), let names = bytes(all[table.link].offset, all[table.link].size)
        else { return [] }
        var out: [(start: UInt64, size: UInt64, name: String)] = []
        for i in 0..<syms.count / Int(table.entsize) {
            let p = i * Int(table.entsize)
            let type = syms[p + 4] & 0xf, value = le(syms, p + 8, 8)
            guard type == 2 || type == 10, value != 0 else { continue }  // STT_FUNC, STT_GNU_IFUNC
            let at = Int(le(syms, p, 4))
            guard at < names.count else { continue }
            let end = names[at...].firstIndex(of: 0) ?? names.count
            guard end > at else { continue }
            out.append((value, le(syms, p + 16, 8), String(decoding: names[at..<min(end, at + 512)], as: UTF8.self)))
        }
        return out.sorted { $0.start < $1.start }
    }

    /// A little-endian number of `count` bytes at `at`; 0 where the bytes run out.
    static func le(_ b: [UInt8], _ at: Int, _ count: Int) -> UInt64 {
        guard at >= 0, at + count <= b.count else { return 0 }
        var v: UInt64 = 0
        for i in (0..<count).reversed() { v = v << 8 | UInt64(b[at + i]) }
        return v
    }
}

/// The ELF files a daemon has read, by path and inode: a worker that crashes on every
/// request does not make the daemon read libpython's symbols at every crash (a file
/// replaced since, a new inode, is read again).
public final class ELFFiles {
    private var read: [String: (inode: UInt64, symbols: Bool, file: ELFFile?)] = [:]
    public init() {}

    func file(_ path: String, inode: UInt64, symbols: Bool) -> ELFFile? {
        if let r = read[path], r.inode == inode, r.symbols || !symbols { return r.file }
        let file = ELFFile.read(path, symbols: symbols)
        if read.count >= 512 { read.removeAll() }
        read[path] = (inode, symbols, file)
        return file
    }
}
