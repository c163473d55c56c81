import Digest
import FoundationEssentials
import JSON

/// One numbered SQL file of `migrations/`: `0001_create_namespaces.sql` is version 1, named
/// `create_namespaces`.
public struct Migration: Sendable, Equatable {
    /// The number the file name starts with; migrations apply in increasing order.
    public let version: Int
    /// The rest of the file name, without the extension.
    public let name: String
    /// The SQL, run as one simple-protocol script inside the migration transaction.
    public let sql: String
    /// SHA-256 of the file's bytes, hex: an applied migration must never change.
    public let checksum: String
    /// False when the file's first line is `-- registryd: no-transaction`: its statements run one
    /// by one outside any transaction, as `CREATE INDEX CONCURRENTLY` requires.
    public var isTransactional: Bool {
        sql.prefix { $0 != "\n" }.trimmingSpacesAndTabs() != Self.noTransactionMarker
    }

    /// The first line that marks a migration as non-transactional.
    public static let noTransactionMarker = "-- registryd: no-transaction"

    /// The statements of a non-transactional migration: the text split after each line that ends
    /// with `;` (such a file holds plain statements, no function bodies), comment-only parts dropped.
    public var statements: [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.trimmingSpacesAndTabs().hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        statements.append(current)
        return statements.filter { statement in
            statement.split(separator: "\n").contains { line in
                let trimmed = line.trimmingSpacesAndTabs()
                return !trimmed.isEmpty && !trimmed.hasPrefix("--")
            }
        }
    }

    /// Creates a migration from its parts; the checksum is computed from `sql`.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hexDigest(sql.utf8)
    }

    /// Reads every `NNNN_name.sql` file of `directory`, sorted by version.
    ///
    /// A `.sql` file whose name does not have that shape, or two files with one version, is an
    /// error rather than something to skip: a typo must not silently leave a migration out.
    public static func load(from directory: String) throws(MigrationError) -> [Migration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .unreadableDirectory(directory)
        }
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            guard let (version, name) = parseFileName(file) else { throw .badFileName(file) }
            let path = directory.hasSuffix("/") ? directory + file : directory + "/" + file
            guard let data = FileManager.default.contents(atPath: path),
                  let sql = String(data: data, encoding: .utf8) else { throw .unreadableFile(path) }
            if migrations.contains(where: { $0.version == version }) { throw .duplicateVersion(version) }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    private static func parseFileName(_ file: String) -> (Int, String)? {
        let stem = file.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let version = Int(digits), version > 0,
              !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else { return nil }
        return (version, String(name))
    }
}
