// What the loader's crash handler captured in the crashing thread
// (plugin/sentry/crash/crash.c): the signal, the registers, the raw stack of return
// addresses (newest first, starting in the handler itself), CPython's own dump of
// the thread's Python stack, and /proc/self/maps. Everything here came from a
// process that was crashing: read with suspicion, never trusted to be whole.

public struct CrashCapture: Equatable {
    public var code: Int?
    public var faultAddress: UInt64?
    public var tid: Int?
    /// The core (thread slot) of the worker that crashed, if it was serving one.
    public var core: Int?
    public var registers: [Field] = []
    public var stack: [UInt64] = []
    public var python: String?
    public var maps = ""

    public init() {}

    /// Takes a crash frame's item; false for a key that is not a crash's.
    mutating func take(_ key: String, _ text: String) -> Bool {
        switch key {
        case "code": code = Int(text)
        case "addr": faultAddress = NativeAddress.parse(text)
        case "tid": tid = Int(text)
        case "crash_core": core = Int(text)
        case "registers":
            registers = text.split(separator: " ").prefix(64).compactMap { item in
                let parts = item.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].count <= 8, let v = NativeAddress.parse(parts[1]) else { return nil }
                return Field(String(parts[0]), NativeAddress.hex(v))
            }
        case "stack": stack = text.split(separator: " ").prefix(256).compactMap { NativeAddress.parse($0) }
        case "python": python = text
        case "maps": maps = text
        default: return false
        }
        return true
    }

    /// The crashing instruction: the program counter of the crash's own context.
    public var pc: UInt64? {
        registers.first(where: { $0.name == "rip" || $0.name == "pc" }).flatMap { NativeAddress.parse($0.value) }
    }

    /// The crashed thread's native stack, newest first, from the crashing instruction
    /// on: the handler's own frames and the kernel's signal trampoline are not the app's.
    public var crashStack: [UInt64] {
        guard let pc else { return stack }
        if let i = stack.firstIndex(of: pc) { return Array(stack[i...]) }
        return [pc]  // the unwinder did not get through the signal frame: the crash site is what we know
    }
}
