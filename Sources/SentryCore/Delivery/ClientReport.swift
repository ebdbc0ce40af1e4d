// What the client dropped, told to Sentry: counts per (reason, category) kept in
// the state directory until the next envelope that reaches the same project
// carries them as a `client_report` item.

public struct Discard: Equatable {
    public var reason: String     // ratelimit_backoff, queue_overflow, backpressure, network_error
    public var category: String   // default, error
    public var quantity: Int
}

public enum ClientReport {
    static func fileName(_ dsn: DSN) -> String { "discarded-" + dsn.stateKey }

    public static func record(_ reason: String, category: String, quantity: Int = 1, dsn: DSN, in state: StateDirectory) {
        state.update(fileName(dsn)) { old in
            var counts = decode(old)
            if let i = counts.firstIndex(where: { $0.reason == reason && $0.category == category }) {
                counts[i].quantity += quantity
            } else {
                counts.append(Discard(reason: reason, category: category, quantity: quantity))
            }
            return encode(counts)
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

    public static func restore(_ counts: [Discard], dsn: DSN, in state: StateDirectory) {
        for c in counts { record(c.reason, category: c.category, quantity: c.quantity, dsn: dsn, in: state) }
    }

    /// The envelope item: `{"type":"client_report","length":N}\n{...}\n`.
    public static func item(_ counts: [Discard], timestamp: String = System.now()) -> [UInt8] {
        var w = JSONWriter()
        w.openObject()
        w.string("timestamp", timestamp)
        w.openArray("discarded_events")
        for c in counts {
            w.openObject(); w.string("reason", c.reason); w.string("category", c.category); w.int("quantity", c.quantity); w.closeObject()
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
            guard p.count == 3, let n = Int(p[2]), n > 0 else { return nil }
            return Discard(reason: String(p[0]), category: String(p[1]), quantity: n)
        }
    }

    static func encode(_ counts: [Discard]) -> [UInt8] {
        var text = ""
        for c in counts where c.quantity > 0 { text += "\(c.reason) \(c.category) \(c.quantity)\n" }
        return Array(text.utf8)
    }
}
