import FoundationEssentials
import Synchronization
import Threads

/// Turns an `X-Auth-Token` into a `Caller`, or the 401 the contract describes.
///
/// A valid key is looked up in the database once and then kept in memory for `cacheLifetime`;
/// a revocation therefore takes effect within that lifetime (10 seconds by default), and an
/// expiry exactly on time, since each cached entry carries the key's expiry.
///
/// An unknown token is remembered too, for `missLifetime` only (1 second by default): a client
/// retrying a wrong token costs one database read per `missLifetime`, not one per request, and
/// a key created just after its secret was tried works within that lifetime. Both caches are
/// bounded (a flood of distinct unknown tokens replaces misses, never grows memory) and read
/// under a shared lock: the exclusive lock is taken only to insert or remove an entry.
///
/// The caches are keyed by the SHA-256 of the secret, never the secret, and the digest found in
/// the database is compared with the computed one in constant time.
public final class Authenticator: Sendable {
    private struct Entry {
        let caller: Caller
        let expiresAt: Int64?
        let freshUntil: ContinuousClock.Instant
    }

    private let repository: APIKeyRepository
    private let cacheLifetime: Duration
    private let missLifetime: Duration
    private let maximumEntries: Int
    private let maximumMisses: Int
    private let cache = ReadMostly<[String: Entry]>([:])
    private let misses = ReadMostly<[String: ContinuousClock.Instant]>([:])
    private let lookups = Atomic<Int>(0)

    /// Creates an authenticator; `cacheLifetime` of zero looks every accepted key up, and
    /// `missLifetime` of zero every unknown token.
    public init(
        repository: APIKeyRepository, cacheLifetime: Duration = .seconds(10), missLifetime: Duration = .seconds(1),
        maximumEntries: Int = 100_000, maximumMisses: Int = 10_000
    ) {
        self.repository = repository
        self.cacheLifetime = cacheLifetime
        self.missLifetime = missLifetime
        self.maximumEntries = maximumEntries
        self.maximumMisses = maximumMisses
    }

    /// Keys looked up in the database so far (`registryd_auth_lookups_total`).
    public var databaseLookups: Int { lookups.load(ordering: .relaxed) }

    /// Unknown tokens remembered now; never more than `maximumMisses`.
    public var rememberedMisses: Int { misses.read { $0.count } }

    /// The caller that `token` authenticates; throws `APIError.deniedAuthentication` when it does not,
    /// or a `PostgresError` when the database cannot be asked.
    public func authenticate(token: String?) async throws -> Caller {
        guard let token, APIKeyFormat.isSecretKey(token) else { throw APIError.deniedAuthentication(reason: "invalid_argument") }
        let digest = APIKeyFormat.digest(ofSecret: token)
        let now = ContinuousClock.now
        let wallClock = Self.wallClockMicros()

        let cached = cache.read { $0[digest] }
        if let entry = cached, entry.freshUntil > now {
            if let expiresAt = entry.expiresAt, expiresAt <= wallClock {
                throw APIError.deniedAuthentication(reason: "expired")
            }
            return entry.caller
        }
        if let missedUntil = misses.read({ $0[digest] }), missedUntil > now {
            throw APIError.deniedAuthentication(reason: "not_found")
        }

        lookups.add(1, ordering: .relaxed)
        guard let (key, storedDigest) = try await repository.find(secretDigest: digest),
              APIKeyFormat.constantTimeEquals(storedDigest, digest), key.revokedAt == nil else {
            if cached != nil { cache.write { _ = $0.removeValue(forKey: digest) } }
            rememberMiss(digest, now: now)
            throw APIError.deniedAuthentication(reason: "not_found")
        }
        if let expiresAt = key.expiresAt, expiresAt <= wallClock {
            throw APIError.deniedAuthentication(reason: "expired")
        }
        let caller = Caller(organizationID: key.organizationID, projectID: key.projectID, accessKey: key.accessKey)
        if cacheLifetime > .zero {
            let entry = Entry(caller: caller, expiresAt: key.expiresAt, freshUntil: now.advanced(by: cacheLifetime))
            cache.write { entries in
                if entries.count >= maximumEntries { entries.removeAll(keepingCapacity: true) }
                entries[digest] = entry
            }
        }
        return caller
    }

    /// Remembers an unknown digest; when full, drops the expired misses, or all of them if that
    /// would not free half the room (so that a flood of distinct tokens costs O(1) per miss).
    private func rememberMiss(_ digest: String, now: ContinuousClock.Instant) {
        guard missLifetime > .zero else { return }
        misses.write { misses in
            if misses.count >= maximumMisses {
                misses = misses.filter { $0.value > now }
                if misses.count > maximumMisses / 2 { misses.removeAll(keepingCapacity: true) }
            }
            misses[digest] = now.advanced(by: missLifetime)
        }
    }

    private static func wallClockMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
