/// Replaces the DSN's key and secret wherever they would be printed.
public struct Redactor {
    let secrets: [(String, String)]
    public init(dsn: DSN) {
        var s = [(dsn.publicKey, DSN.maskKey(dsn.publicKey))]
        if let secret = dsn.secretKey { s.append((secret, "****")) }
        secrets = s
    }
    public func callAsFunction(_ text: String) -> String {
        var out = text
        for (secret, mask) in secrets { out = out.replacingAll(secret, with: mask) }
        return out
    }
}
