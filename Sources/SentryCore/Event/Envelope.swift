// Event JSON -> a Sentry envelope: a header line, an item header with the payload's
// exact byte length, the payload. One event per envelope.

public enum Envelope {
    /// A check-in: no event id in the header, one `check_in` item.
    public static func checkIn(payload: [UInt8], dsn: DSN, sentAt: String = System.now()) -> [UInt8] {
        item(type: "check_in", payload: payload, dsn: dsn, sentAt: sentAt)
    }

    /// One item that is not an event (a check-in, sessions): no event id in the header.
    public static func item(type: String, payload: [UInt8], dsn: DSN, sentAt: String = System.now()) -> [UInt8] {
        var header = JSONWriter(capacity: 160)
        header.openObject()
        header.string("sent_at", sentAt)
        header.string("dsn", dsn.publicDSN)
        header.closeObject()
        var item = JSONWriter(capacity: 64)
        item.openObject(); item.string("type", type); item.int("length", payload.count); item.closeObject()
        return header.bytes + [10] + item.bytes + [10] + payload + [10]
    }

    /// Sentry Logs: one `log` item holding `records` (each one's JSON). Version 2 with
    /// ingest settings that tell Relay not to take our host's address or agent for a user's.
    public static func logs(_ records: [[UInt8]], dsn: DSN, sentAt: String = System.now()) -> [UInt8] {
        var payload = Array(#"{"version":2,"ingest_settings":{"infer_ip":"never","infer_user_agent":"never"},"items":["#.utf8)
        for (i, r) in records.enumerated() { if i > 0 { payload.append(44) }; payload += r }
        payload += Array("]}".utf8)
        var header = JSONWriter(capacity: 160)
        header.openObject(); header.string("sent_at", sentAt); header.string("dsn", dsn.publicDSN); header.closeObject()
        var item = JSONWriter(capacity: 128)
        item.openObject(); item.string("type", "log"); item.int("length", payload.count); item.int("item_count", records.count)
        item.string("content_type", "application/vnd.sentry.items.log+json"); item.closeObject()
        return header.bytes + [10] + item.bytes + [10] + payload + [10]
    }

    /// An envelope with no item of its own: it exists to carry the client reports
    /// pending for `dsn` when no event is going to (the sender adds them; with none
    /// left by then, it is not sent at all).
    public static func reportCarrier(dsn: DSN, sentAt: String = System.now()) -> [UInt8] {
        var header = JSONWriter(capacity: 160)
        header.openObject()
        header.string("sent_at", sentAt)
        header.string("dsn", dsn.publicDSN)
        header.closeObject()
        return header.bytes + [10]
    }

    /// The project an envelope found in a spool was meant for: its header's `dsn`
    /// (which has no secret), read with the JSON reader.
    public static func dsn(of envelope: [UInt8]) -> DSN? {
        let header = Array(envelope.prefix(while: { $0 != 10 }).prefix(4096))
        guard let text = (try? JSONReader.parse(header))?["dsn"]?.string else { return nil }
        return try? DSN(parsing: text)
    }

    /// True for `reportCarrier`'s envelopes: a header line and nothing after it.
    public static func isReportCarrier(_ envelope: [UInt8]) -> Bool {
        guard let end = envelope.firstIndex(of: 10) else { return true }
        return envelope[(end + 1)...].allSatisfy { $0 == 10 || $0 == 32 }
    }

    /// `headers`: more of the envelope header (a transaction's sampling context).
    public static func make(eventID: String, payload: [UInt8], dsn: DSN?, sentAt: String = System.now(),
                            type: String = "event", headers: ((inout JSONWriter) -> Void)? = nil) -> [UInt8] {
        var header = JSONWriter(capacity: 160)
        header.openObject()
        header.string("event_id", eventID)
        header.string("sent_at", sentAt)
        if let dsn { header.string("dsn", dsn.publicDSN) }
        headers?(&header)
        header.closeObject()

        var item = JSONWriter(capacity: 64)
        item.openObject()
        item.string("type", type)
        item.int("length", payload.count)
        item.string("content_type", "application/json")
        item.closeObject()

        var out = header.bytes
        out.reserveCapacity(out.count + item.bytes.count + payload.count + 3)
        out.append(10)
        out += item.bytes
        out.append(10)
        out += payload
        out.append(10)
        return out
    }
}
