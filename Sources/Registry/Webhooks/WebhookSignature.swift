import Digest

/// The signature of one delivery, as Stripe signs its webhooks: `t=<unix seconds>,v1=<hex
/// HMAC-SHA256 of "<t>.<body>">`. The timestamp inside the MAC lets a receiver refuse a replay of
/// an old delivery (README, "Change events (webhooks)", shows how to verify).
public enum WebhookSignature {
    /// The header carrying the signature.
    public static let headerName = "Registryd-Signature"
    /// The header carrying the event id, the same on every retry, for receivers to deduplicate.
    public static let eventHeaderName = "Registryd-Event-Id"

    /// The header's value for `body` signed with `secret` at `timestamp` (seconds since 1970).
    public static func value(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        let signed = Array("\(timestamp).".utf8) + body
        return "t=\(timestamp),v1=" + HMACSHA256.hexAuthenticationCode(key: Array(secret.utf8), message: signed)
    }
}
