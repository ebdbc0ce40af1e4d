// A Unix socket's address: a path, or "@name" in the abstract namespace.
import Glibc

enum UnixAddress {
    /// Calls `body` with the address of `path`; nil when it does not fit sun_path
    /// (108 bytes with its NUL) or holds a NUL of its own.
    static func with<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: sun.sun_path), !bytes.dropFirst().contains(0) else {
            return nil
        }
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: bytes) }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        return withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, len) } }
    }
}
