// What the client dropped, told to Sentry: counts per (reason, category) kept in
// the state directory (where a Ledger puts them) until the next envelope that
// reaches the same project carries them as a `client_report` item.

public struct Discard: Equatable {
    public var reason: DiscardReason
    public var category: DataCategory
    public var quantity: Int
}

public enum ClientReport {
    static func fileName(_ dsn: DSN) -> String { "discarded-" + dsn.stateKey }

    public static func record(_ reason: DiscardReason, category: DataCategory, quantity: Int = 1, dsn: DSN, in state: StateDirectory) {
        state.update(fileName(dsn)) { old in
            encode(Discard.merged(decode(old), [Discard(reason: reason, category: category, quantity: quantity)]))
        }
    }

    /// Takes every pending count (the file is emptied); give them back with
    /// `restore` when the envelope carrying them did not get through.
    public static func take(dsn: DSN, in state: StateDirectory) -> [Discard] {
        var taken: [Discard] = []
        state.update(fileName(dsn), create: false) { old in
            taken = decode(old)
            return taken.isEmpty ? nil : []
        }
        return taken
    }

    /// Adds `counts` to what waits on disk, all or nothing; false when the state
    /// directory would not take them (a full disk: the caller keeps them).
    @discardableResult
    public static func restore(_ counts: [Discard], dsn: DSN, in state: StateDirectory) -> Bool {
        state.update(fileName(dsn)) { old in encode(Discard.merged(decode(old), counts)) }
    }

    /// The envelope item: `{"type":"client_report","length":N}\n{...}\n`.
    public static func item(_ counts: [Discard], timestamp: String = System.now()) -> [UInt8] {
        var w = JSONWriter()
        w.openObject()
        w.string("timestamp", timestamp)
        w.openArray("discarded_events")
        for c in counts {
            w.openObject(); w.string("reason", c.reason.rawValue); w.string("category", c.category.rawValue); w.int("quantity", c.quantity); w.closeObject()
        }
        w.closeArray()
        w.closeObject()
        var header = JSONWriter()
        header.openObject(); header.string("type", "client_report"); header.int("length", w.bytes.count); header.closeObject()
        return header.bytes + [10] + w.bytes + [10]
    }

    static func decode(_ bytes: [UInt8]) -> [Discard] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ")
            guard p.count == 3, let reason = DiscardReason(rawValue: String(p[0])), let n = Int(p[2]), n > 0 else { return nil }
            let category = DataCategory(rawValue: String(p[1]))
            return category.isWellFormed ? Discard(reason: reason, category: category, quantity: n) : nil
        }
    }

    static func encode(_ counts: [Discard]) -> [UInt8] {
        var text = ""
        for c in counts where c.quantity > 0 { text += "\(c.reason.rawValue) \(c.category.rawValue) \(c.quantity)\n" }
        return Array(text.utf8)
    }
}
