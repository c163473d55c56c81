import Digest
import FoundationEssentials

/// An API key: a public access key and a secret, belonging to an organization and optionally
/// scoped to one of its projects.
public struct APIKey: Sendable, Equatable {
    /// `SCW` followed by 17 upper-case letters or digits: public, names the key.
    public let accessKey: String
    public let organizationID: UUID
    public let projectID: UUID?
    public let description: String
    /// Microseconds since the Unix epoch.
    public let createdAt: Int64
    /// Microseconds since the Unix epoch; nil for a key that never expires.
    public let expiresAt: Int64?
    /// Microseconds since the Unix epoch; nil while the key is valid.
    public let revokedAt: Int64?
}

/// A key just created, with its secret: the only time the secret is known.
public struct CreatedAPIKey: Sendable {
    public let key: APIKey
    /// A random (version 4) UUID, lowercase: the value of `X-Auth-Token`.
    public let secretKey: String
}

/// The shapes of credentials that the Scaleway SDKs check before they send a request.
public enum APIKeyFormat {
    private static let accessKeyAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// A new random access key: `SCW` and 17 characters of `A-Z0-9`.
    public static func newAccessKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let suffix = (0..<17).map { _ in accessKeyAlphabet[Int(generator.next(upperBound: UInt64(accessKeyAlphabet.count)))] }
        return "SCW" + String(decoding: suffix, as: UTF8.self)
    }

    /// A new random secret key: a version 4 UUID in lowercase.
    public static func newSecretKey() -> String {
        UUID().lowercasedString
    }

    /// Whether `text` has the shape of an access key.
    public static func isAccessKey(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 20 && bytes.starts(with: Array("SCW".utf8))
            && bytes.dropFirst(3).allSatisfy { accessKeyAlphabet.contains($0) }
    }

    /// Whether `text` has the shape of a secret key (a UUID; upper case is accepted and folded).
    public static func isSecretKey(_ text: String) -> Bool {
        UUID(canonical: text) != nil
    }

    /// The digest stored for a secret: SHA-256 of its lowercase text, hex. (Lower-cased byte by
    /// byte as it is hashed: a secret is ASCII, and this runs on every request.)
    public static func digest(ofSecret secret: String) -> String {
        SHA256.hexDigest(secret.utf8.lazy.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 })
    }

    /// Compares two strings in time that depends only on their length, not on where they differ.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
