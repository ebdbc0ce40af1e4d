// A crash's signal, as Sentry's mechanism meta carries it: its number, name and
// si_code, with what they mean in words for the event's value.

public struct CrashSignal: Equatable {
    public var number: Int
    /// The kernel's si_code: why the signal came (SEGV_MAPERR, FPE_INTDIV, SI_TKILL...).
    public var code: Int?

    public init(number: Int, code: Int?) { self.number = number; self.code = code }

    public var name: String { UWSGILine.signalName(number) }

    /// The si_code's name, where Linux gives one.
    public var codeName: String? {
        guard let code else { return nil }
        let perSignal: [Int: [String]] = [
            11: ["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"],
            7: ["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"],
            8: ["FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"],
            4: ["ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK"],
        ]
        switch code {
        case 0: return "SI_USER"
        case 0x80: return "SI_KERNEL"
        case -1: return "SI_QUEUE"
        case -6: return "SI_TKILL"
        default:
            guard let names = perSignal[number], code >= 1, code <= names.count else { return nil }
            return names[code - 1]
        }
    }

    /// What happened, in words.
    public var description: String {
        switch (number, codeName) {
        case (8, "FPE_INTDIV"?): return "Integer division by zero"
        case (11, _): return "Segmentation fault"
        case (7, _): return "Bus error"
        case (8, _): return "Floating-point exception"
        case (4, _): return "Illegal instruction"
        case (6, _): return "Aborted"
        default: return name
        }
    }

    /// The signals a worker dies of when its code crashes.
    public static func isCrash(_ number: Int) -> Bool { [4, 6, 7, 8, 11].contains(number) }

    /// `"meta": {"signal": {...}}` inside the mechanism. Not `synthetic` (as
    /// sentry-native's "SIGSEGV: Segfault" is): our value says where it crashed, so
    /// the title keeps the signal and the place rather than a bare function name.
    func write(into w: inout JSONWriter) {
        w.openObject("meta")
        w.openObject("signal")
        w.int("number", number)
        if let code { w.int("code", code) }
        w.string("name", name)
        w.string("code_name", ifPresent: codeName)
        w.closeObject()
        w.closeObject()
    }
}
