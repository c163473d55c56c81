import FoundationEssentials
import JSON
import Log
import Postgres

/// `registryd migrate [--status | --dry-run]`: apply pending migrations, list their state, or
/// print what would be applied.
enum MigrateCommand {
    static func run(_ configuration: Configuration, statusOnly: Bool, dryRun: Bool = false) -> Int32 {
        let logger = Logger(label: "registryd", level: configuration.logLevel)
        let pool = Database.pool(configuration, logger: logger)
        defer { pool.close() }
        do {
            let migrator = try Database.migrator(configuration, logger: logger)
            if statusOnly {
                let statuses = try migrator.status(on: pool)
                for status in statuses {
                    let applied = status.appliedAt.map { RFC3339.format(microsecondsSinceEpoch: $0) } ?? "-"
                    print("\(padded(String(status.version), to: 4, with: "0", leading: true))  \(padded(status.state.rawValue, to: 12))  \(applied)  \(status.name)")
                }
                let current = statuses.allSatisfy { $0.state == .applied }
                print(current ? "schema is current" : "schema is NOT current")
                if let refusal = Migrator.refusal(statuses) { print("cannot migrate: \(refusal)") }
                return current ? 0 : 3
            }
            if dryRun {
                let pending = try migrator.pending(on: pool)
                for migration in pending {
                    let mode = migration.isTransactional ? "in the migration transaction" : "without a transaction, statement by statement"
                    print("-- would apply \(padded(String(migration.version), to: 4, with: "0", leading: true)) \(migration.name) (\(mode))")
                    print(migration.sql)
                }
                print(pending.isEmpty ? "nothing to apply; schema is current" : "dry run: nothing was applied")
                return 0
            }
            try Database.waitUntilReachable(pool, timeout: .seconds(configuration.startupTimeoutSeconds), logger: logger)
            let applied = try migrator.migrate(on: pool, timeout: .seconds(configuration.startupTimeoutSeconds))
            print(applied.isEmpty ? "nothing to apply; schema is current"
                                  : "applied: " + applied.map { "\($0.version) \($0.name)" }.joined(separator: ", "))
            return 0
        } catch {
            return CommandLineInterface.fail(Database.describe(error))
        }
    }
}

