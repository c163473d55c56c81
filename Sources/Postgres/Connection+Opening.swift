import CLibPQ

extension Connection {
    /// Opens a connection with libpq's non-blocking sequence (`PQconnectStartParams`, then
    /// `PQconnectPoll` with a `poll` on the socket in between), giving up at the connect deadline.
    ///
    /// `PQconnectdbParams` applies `connect_timeout` per host, on the wall clock, and nothing can
    /// cut it short for a request whose own deadline is nearer; the polling sequence ignores
    /// `connect_timeout` altogether. So the deadline is registryd's: the effective `connect_timeout`
    /// (ours, or the connection string's) from the start, for the whole sequence, on the monotonic
    /// clock. 0 means no limit, as for libpq. A caller's `deadline`, when earlier, ends it sooner.
    static func open(
        connectionString: String, connectTimeoutSeconds: Int, deadline callerDeadline: ContinuousClock.Instant?
    ) throws(PostgresError) -> OpaquePointer {
        let (keywords, values) = ConnectionParameters.keywordsAndValues(
            connectionString: connectionString, connectTimeoutSeconds: connectTimeoutSeconds)
        let started = ContinuousClock.now
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectStartParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw .connectionFailed("libpq could not allocate a connection") }
        guard PQstatus(connection) != CONNECTION_BAD else { throw fail(connection, trimmed(PQerrorMessage(connection))) }
        let seconds = ConnectionParameters.effectiveValue(of: "connect_timeout", on: connection).flatMap { Int($0) } ?? 0
        let ownDeadline = seconds > 0 ? started.advanced(by: .seconds(seconds)) : nil
        let deadline = [ownDeadline, callerDeadline].compactMap { $0 }.min()

        var polling = PGRES_POLLING_WRITING  // as the documentation says to start
        while true {
            switch polling {
            case PGRES_POLLING_OK:
                return connection
            case PGRES_POLLING_FAILED:
                throw fail(connection, trimmed(PQerrorMessage(connection)))
            default:
                let descriptor = PQsocket(connection)  // may change between calls (another address)
                guard descriptor >= 0 else { throw fail(connection, trimmed(PQerrorMessage(connection))) }
                let reading = polling == PGRES_POLLING_READING
                guard SocketWait.wait(for: descriptor, readable: reading, writable: !reading, until: deadline) != nil else {
                    let limit = deadline == ownDeadline ? "connect_timeout (\(seconds) s)" : "the request's deadline"
                    throw fail(connection, "no answer from the server within \(limit)")
                }
            }
            polling = PQconnectPoll(connection)
        }
    }

    private static func fail(_ connection: OpaquePointer, _ message: String) -> PostgresError {
        PQfinish(connection)
        return .connectionFailed(message)
    }

    static func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var storage: [UInt8] = []
        var offsets: [Int] = []
        for string in strings {
            offsets.append(storage.count)
            storage.append(contentsOf: string.utf8)
            storage.append(0)
        }
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            return body(offsets.map { base + $0 } + [nil])
        }
    }
}
