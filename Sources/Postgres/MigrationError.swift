/// Why migrations cannot be applied; each message tells the operator what to do.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case unreadableDirectory(String)
        case unreadableFile(String)
        case badFileName(String)
        case duplicateVersion(Int)
        case checksumMismatch(version: Int, name: String)
        case databaseNewer(versions: [Int], known: Int)
        case outOfOrder(versions: [String], newestApplied: Int)
        case failed(version: Int, name: String)
    }

    private let code: Code
    /// The database error underneath, when there is one (its `detail` is for the log).
    public let underlying: PostgresError?

    private init(_ code: Code, underlying: PostgresError? = nil) {
        self.code = code
        self.underlying = underlying
    }

    static func unreadableDirectory(_ path: String) -> MigrationError { MigrationError(.unreadableDirectory(path)) }
    static func unreadableFile(_ path: String) -> MigrationError { MigrationError(.unreadableFile(path)) }
    static func badFileName(_ file: String) -> MigrationError { MigrationError(.badFileName(file)) }
    static func duplicateVersion(_ version: Int) -> MigrationError { MigrationError(.duplicateVersion(version)) }
    static func checksumMismatch(version: Int, name: String) -> MigrationError {
        MigrationError(.checksumMismatch(version: version, name: name))
    }
    static func databaseNewer(versions: [Int], known: Int) -> MigrationError {
        MigrationError(.databaseNewer(versions: versions, known: known))
    }
    static func outOfOrder(versions: [String], newestApplied: Int) -> MigrationError {
        MigrationError(.outOfOrder(versions: versions, newestApplied: newestApplied))
    }
    static func failed(version: Int, name: String, _ error: PostgresError) -> MigrationError {
        MigrationError(.failed(version: version, name: name), underlying: error)
    }

    /// Whether the database has a migration applied that this build does not know (the code is
    /// older than the schema, or from another branch).
    public var isDatabaseNewer: Bool {
        if case .databaseNewer = code { return true }
        return false
    }

    /// Whether a migration of this build older than the newest applied one was never applied.
    public var isOutOfOrder: Bool {
        if case .outOfOrder = code { return true }
        return false
    }

    /// Whether an applied migration's file has changed since it was applied.
    public var isChecksumMismatch: Bool {
        if case .checksumMismatch = code { return true }
        return false
    }

    public var description: String {
        switch code {
        case .unreadableDirectory(let path):
            "cannot read the migrations directory \(path) (set MIGRATIONS_DIR)"
        case .unreadableFile(let path):
            "cannot read migration file \(path) as UTF-8"
        case .badFileName(let file):
            "migration file \(file) is not named NNNN_lowercase_name.sql"
        case .duplicateVersion(let version):
            "two migration files have version \(version)"
        case .checksumMismatch(let version, let name):
            "migration \(version) (\(name)) was edited after it was applied; restore the applied file and add a new migration instead"
        case .databaseNewer(let versions, let known):
            "the database has migration\(versions.count == 1 ? "" : "s") \(versions.map(String.init).joined(separator: ", ")) applied, "
                + "which this registryd does not know (its migrations go up to \(known)); run a newer registryd, "
                + "or the one that applied \(versions.count == 1 ? "it" : "them")"
        case .outOfOrder(let versions, let newestApplied):
            "migration\(versions.count == 1 ? "" : "s") \(versions.joined(separator: ", ")) \(versions.count == 1 ? "is" : "are") "
                + "not applied but the newer migration \(newestApplied) is: applying \(versions.count == 1 ? "it" : "them") now "
                + "would run out of order; renumber \(versions.count == 1 ? "it" : "them") after \(newestApplied)"
        case .failed(let version, let name):
            "migration \(version) (\(name)) failed and was rolled back: \(underlying?.detail ?? "unknown error")"
        }
    }
}
