import Digest
import HTTP

/// The `Idempotency-Key` of a write and the fingerprint of the request it names.
///
/// As `draft-ietf-httpapi-idempotency-key-header` defines it the value is a Structured Field
/// string (`"8e03978e-..."`); Stripe's clients send it bare. Both are accepted: 1 to 255 printable
/// ASCII characters, without quotes or backslashes inside. Anything else is `invalid_arguments`.
public struct IdempotencyKey: Sendable, Equatable {
    /// The header that carries the key.
    public static let header = "Idempotency-Key"
    /// The header that marks a stored response given again.
    public static let replayedHeader = "Idempotent-Replayed"
    /// How long a key names its request: a retry after this runs as a new request.
    public static let lifetimeSeconds = 24 * 3600
    /// The longest key accepted.
    public static let maximumLength = 255

    /// The key as the client chose it, without Structured Field quotes.
    public let value: String
    /// Method, path, query and SHA-256 of the body: a retry must match it exactly.
    public let fingerprint: String

    /// The key of `request`; nil when it has none. Throws `invalid_arguments` when malformed.
    public init?(_ request: Request) throws {
        guard let raw = request.header(Self.header) else { return nil }
        var value = Substring(raw)
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
        guard (1...Self.maximumLength).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else {
            throw APIError.invalidArgument(
                Self.header, .constraint,
                "an Idempotency-Key is 1 to \(Self.maximumLength) printable ASCII characters, optionally in double quotes")
        }
        self.value = String(value)
        fingerprint = request.method + " " + request.path + Self.canonicalQuery(request.query) + " " + SHA256.hexDigest(request.body)
    }

    /// The query parameters in name order, so that `?force=true` and no query are two requests
    /// (a tag DELETE with and without `force` do different things) while the order they were
    /// sent in is not; as a SHA-256 of the length-prefixed items, unambiguous whatever the values
    /// hold and storable as text. Empty without parameters: fingerprints stored before the query
    /// counted stay valid.
    static func canonicalQuery(_ query: [QueryItem]) -> String {
        guard !query.isEmpty else { return "" }
        let items = query.map { item in
            "\(item.name.utf8.count):\(item.name)" + (item.value.map { "=\($0.utf8.count):\($0)" } ?? "")
        }
        return "?" + SHA256.hexDigest(Array(items.sorted().joined(separator: "&").utf8))
    }
}
