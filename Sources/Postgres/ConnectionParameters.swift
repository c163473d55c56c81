import CLibPQ

/// The libpq keywords registryd sends with every connection string, and which of them the
/// string may override.
///
/// Order matters to libpq (`PQconnectStartParams` with `expand_dbname`): keywords before `dbname`
/// are overridden by the same keyword in the connection string, keywords after it are not.
///
/// The keepalive and `tcp_user_timeout` defaults make the kernel give up on a TCP peer that
/// stopped answering (a frozen VM, a partition) within seconds instead of the kernel's ~2 hours
/// (keepalive) or ~15 minutes (unacknowledged data); they apply to TCP connections only (libpq
/// ignores them on a Unix socket). They are a second line: every wait for the server is also
/// bounded by registryd itself (`Connection.responseTimeout`, the connect deadline), which also
/// covers Unix sockets and a server whose kernel still acknowledges.
enum ConnectionParameters {
    /// Defaults a connection string may override, by keyword (documented in the README).
    static let overridableDefaults: [(keyword: String, value: String)] = [
        ("application_name", "registryd"),
        // An idle connection is probed after 10 s idle, every 3 s, and dropped after 3 unanswered
        // probes: a dead peer is noticed within ~19 s even when nothing is sent.
        ("keepalives", "1"),
        ("keepalives_idle", "10"),
        ("keepalives_interval", "3"),
        ("keepalives_count", "3"),
        // Data sent and not acknowledged for 10 s closes the connection (Linux TCP_USER_TIMEOUT).
        ("tcp_user_timeout", "10000"),
    ]

    /// Keywords and values for `PQconnectStartParams`: the defaults, `connect_timeout`, the
    /// connection string as `dbname` (expanded), then what is always forced (`client_encoding`:
    /// every text is read as UTF-8).
    static func keywordsAndValues(connectionString: String, connectTimeoutSeconds: Int) -> (keywords: [String], values: [String]) {
        let keywords = overridableDefaults.map(\.keyword) + ["connect_timeout", "dbname", "client_encoding"]
        let values = overridableDefaults.map(\.value) + [String(connectTimeoutSeconds), connectionString, "UTF8"]
        return (keywords, values)
    }

    /// The value libpq settled on for `keyword` on `connection` (defaults and string merged).
    static func effectiveValue(of keyword: String, on connection: OpaquePointer) -> String? {
        guard let options = PQconninfo(connection) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }
}
