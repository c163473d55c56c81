import HTTP
import Postgres

/// One API write and everything that must commit with it, in one transaction.
///
/// The change itself (the repository's statement), the response stored under the request's
/// `Idempotency-Key` when it has one, and (through triggers) its audit record commit together or
/// not at all: a crash anywhere before COMMIT leaves none of them, so a retry either finds the
/// stored response or runs the change for the first time. Only a successful change is stored:
/// `write` throws its `APIError` for a refusal, which rolls everything back, so a request that
/// failed (404, 409, 412, quota) leaves nothing behind and may be retried with the same key.
struct ChangeTransaction: Sendable {
    let database: DatabaseAccess

    /// Runs `write` for `caller` as `request` asks, or answers the response stored under its key.
    func run(
        _ request: Request, caller: Caller, _ write: @escaping @Sendable (Connection) throws -> Response
    ) async throws -> Response {
        let key = try IdempotencyKey(request)
        // Noted as the caller's organization's write, so its next reads see it (read replicas).
        return try await database.write(organization: caller.organizationID) { connection in
            try connection.withTransaction { connection in
                // One round trip: the settings the audit triggers read (migration 0010), local to
                // this transaction, and the Idempotency-Key's lock.
                let prologue = try connection.query(
                    """
                    SELECT set_config('registryd.access_key', $1, true), set_config('registryd.request_id', $2, true),
                           \(IdempotencyStore.tryLock)
                    """,
                    [caller.accessKey ?? "", request.id, IdempotencyStore.lockClass, key?.value,
                     caller.organizationID.lowercasedString])
                if let key {
                    guard try prologue.first?.bool(2) == true else { throw APIError.idempotencyKeyInUse }
                    if let stored = try IdempotencyStore.lookup(key, organization: caller.organizationID, on: connection) {
                        return stored
                    }
                }
                let response = try write(connection)
                if let key {
                    try IdempotencyStore.save(key, organization: caller.organizationID, response: response, on: connection)
                }
                return response
            }
        }
    }
}
