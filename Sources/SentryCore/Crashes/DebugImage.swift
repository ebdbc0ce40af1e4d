// A loaded ELF object as Sentry's `debug_meta.images` lists it: where it was
// mapped, and the ids `sentry-cli debug-files upload` files its debug file under.

public struct DebugImage: Equatable {
    public var codeFile: String
    public var imageAddr: UInt64
    public var imageSize: UInt64
    /// The GNU build id, hex, as `readelf -n` prints it.
    public var codeID: String?
    public var debugID: String?

    public init(codeFile: String, imageAddr: UInt64, imageSize: UInt64, buildID: [UInt8]?) {
        self.codeFile = codeFile; self.imageAddr = imageAddr; self.imageSize = imageSize
        if let buildID, !buildID.isEmpty {
            codeID = System.hex(buildID)
            debugID = DebugImage.debugID(buildID: buildID)
        }
    }

    /// The first 16 bytes of the build id (zero-padded) as a UUID whose first three
    /// fields are read little-endian: sentry-native's `sentry__uuid_from_elf` and
    /// symbolic's `ElfObject::debug_id` do the same, so the ids meet.
    public static func debugID(buildID: [UInt8]) -> String {
        var b = Array(buildID.prefix(16))
        b += [UInt8](repeating: 0, count: 16 - b.count)
        b[0..<4].reverse()
        b[4..<6].reverse()
        b[6..<8].reverse()
        let hex = System.hex(b)
        let u = Array(hex.utf8)
        func part(_ r: Range<Int>) -> String { String(decoding: u[r], as: UTF8.self) }
        return [part(0..<8), part(8..<12), part(12..<16), part(16..<20), part(20..<32)].joined(separator: "-")
    }

    public func contains(_ address: UInt64) -> Bool { address >= imageAddr && address - imageAddr < imageSize }

    static func write(_ images: [DebugImage], into w: inout JSONWriter) {
        w.openObject("debug_meta")
        w.openArray("images")
        for i in images {
            w.openObject()
            w.string("type", "elf")
            w.string("code_file", i.codeFile)
            w.string("image_addr", NativeAddress.hex(i.imageAddr))
            w.int("image_size", Int(clamping: i.imageSize))
            w.string("code_id", ifPresent: i.codeID)
            w.string("debug_id", ifPresent: i.debugID)
            w.closeObject()
        }
        w.closeArray()
        w.closeObject()
    }
}

enum NativeAddress {
    static func hex(_ a: UInt64) -> String { "0x" + String(a, radix: 16) }

    /// `0x...` (or bare hex) as a number; nil for anything else.
    static func parse<S: StringProtocol>(_ text: S) -> UInt64? {
        let digits = text.hasPrefix("0x") ? text.dropFirst(2) : text[...]
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        return UInt64(digits, radix: 16)
    }
}
