import Foundation
import Threads

/// Turns an `X-Auth-Token` into a `Caller`, or the 401 the contract describes.
///
/// A valid key is looked up in the database once and then kept in memory for `cacheLifetime`;
/// a revocation therefore takes effect within that lifetime (10 seconds by default), and an
/// expiry exactly on time, since each cached entry carries the key's expiry. Only accepted keys
/// are cached: a key created a moment ago is never refused for having been tried before.
///
/// The cache is keyed by the SHA-256 of the secret, never the secret, and the digest found in the
/// database is compared with the computed one in constant time.
public final class Authenticator: Sendable {
    private struct Entry {
        let caller: Caller
        let expiresAt: Int64?
        let freshUntil: ContinuousClock.Instant
    }

    private let repository: APIKeyRepository
    private let cacheLifetime: Duration
    private let maximumEntries: Int
    private let cache = ReadMostly<[String: Entry]>([:])

    /// Creates an authenticator; `cacheLifetime` of zero looks every request up.
    public init(repository: APIKeyRepository, cacheLifetime: Duration = .seconds(10), maximumEntries: Int = 100_000) {
        self.repository = repository
        self.cacheLifetime = cacheLifetime
        self.maximumEntries = maximumEntries
    }

    /// The caller that `token` authenticates; throws `APIError.deniedAuthentication` when it does not,
    /// or a `PostgresError` when the database cannot be asked.
    public func authenticate(token: String?) async throws -> Caller {
        guard let token, APIKeyFormat.isSecretKey(token) else { throw APIError.deniedAuthentication(reason: "invalid_argument") }
        let digest = APIKeyFormat.digest(ofSecret: token)
        let now = ContinuousClock.now
        let wallClock = Self.wallClockMicros()

        if let entry = cache.read({ $0[digest] }), entry.freshUntil > now {
            if let expiresAt = entry.expiresAt, expiresAt <= wallClock {
                throw APIError.deniedAuthentication(reason: "expired")
            }
            return entry.caller
        }

        guard let (key, storedDigest) = try await repository.find(secretDigest: digest),
              APIKeyFormat.constantTimeEquals(storedDigest, digest), key.revokedAt == nil else {
            cache.write { _ = $0.removeValue(forKey: digest) }
            throw APIError.deniedAuthentication(reason: "not_found")
        }
        if let expiresAt = key.expiresAt, expiresAt <= wallClock {
            throw APIError.deniedAuthentication(reason: "expired")
        }
        let caller = Caller(organizationID: key.organizationID, projectID: key.projectID)
        if cacheLifetime > .zero {
            let entry = Entry(caller: caller, expiresAt: key.expiresAt, freshUntil: now.advanced(by: cacheLifetime))
            cache.write { entries in
                if entries.count >= maximumEntries { entries.removeAll(keepingCapacity: true) }
                entries[digest] = entry
            }
        }
        return caller
    }

    private static func wallClockMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
