import FoundationEssentials
import JSON
import Log
import Postgres
import Registry

/// `registryd audit list`: the operator reads the audit trail.
enum AuditCommand {
    static func run(_ arguments: [String], configuration: Configuration) -> Int32 {
        guard arguments.first == "list" else { return CommandLineInterface.usageError("audit needs list") }
        let logger = Logger(label: "registryd", level: max(configuration.logLevel, .warning))
        let pool = Database.pool(configuration, logger: logger)
        defer { pool.close() }
        do {
            var options = try Options(Array(arguments.dropFirst()))
            var filter = AuditRepository.Filter()
            filter.organizationID = try options.uuid("--organization-id")
            filter.resourceID = options.take("--resource-id")
            if let since = options.take("--since") {
                // A duration (2h, 7d) counts back from now; anything else is a timestamp.
                if let ago = try? APIKeyCommand.parseDuration(since) {
                    let micros = Int64(Date().timeIntervalSince1970 * 1_000_000) - ago.components.seconds * 1_000_000
                    filter.since = RFC3339.format(microsecondsSinceEpoch: micros)
                } else {
                    filter.since = since
                }
            }
            if let limit = options.take("--limit") {
                guard let value = Int(limit), value > 0 else { throw UsageError("--limit must be a positive integer, not \(limit)") }
                filter.limit = value
            }
            let json = options.flag("--json")
            try options.finish()
            let records: [AuditRecord]
            do {
                records = try AuditRepository(pool: pool).list(filter)
            } catch let error as PostgresError where error.sqlState?.hasPrefix("22") == true {
                throw UsageError("--since must be a timestamp (2026-11-30T15:00:00Z) or a duration (2h, 7d), not \(filter.since ?? "")")
            }
            for record in records {
                print(json ? record.json : record.line)
            }
            return 0
        } catch let error as UsageError {
            return CommandLineInterface.usageError(error.message)
        } catch {
            return CommandLineInterface.fail(Database.describe(error))
        }
    }
}
