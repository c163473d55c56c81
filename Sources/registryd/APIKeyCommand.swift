import FoundationEssentials
import JSON
import Log
import Postgres
import Registry

/// `registryd api-key create | list | revoke`: the operator's side of authentication.
enum APIKeyCommand {
    static func run(_ arguments: [String], configuration: Configuration) -> Int32 {
        guard let subcommand = arguments.first else { return CommandLineInterface.usageError("api-key needs create, list or revoke") }
        let logger = Logger(label: "registryd", level: max(configuration.logLevel, .warning))
        let pool = Database.pool(configuration, logger: logger)
        defer { pool.close() }
        let repository = APIKeyRepository(pool: pool)
        do {
            var options = try Options(Array(arguments.dropFirst()))
            switch subcommand {
            case "create":
                guard let organization = try options.uuid("--organization-id") else {
                    return CommandLineInterface.usageError("api-key create needs --organization-id")
                }
                let project = try options.uuid("--project-id")
                let description = options.take("--description") ?? ""
                let expiresIn = try options.take("--expires-in").map(parseDuration)
                try options.finish()
                let created = try repository.create(
                    organizationID: organization, projectID: project, description: description, expiresIn: expiresIn)
                print("access_key:      \(created.key.accessKey)")
                print("secret_key:      \(created.secretKey)")
                print("organization_id: \(created.key.organizationID.lowercasedString)")
                print("project_id:      \(created.key.projectID?.lowercasedString ?? "(any project of the organization)")")
                print("expires_at:      \(created.key.expiresAt.map { RFC3339.format(microsecondsSinceEpoch: $0) } ?? "never")")
                print("The secret key is shown only now; send it as the X-Auth-Token header.")
            case "list":
                let organization = try options.uuid("--organization-id")
                try options.finish()
                for key in try repository.list(organizationID: organization) {
                    let state = key.revokedAt != nil ? "revoked" : key.expiresAt.map { $0 <= nowMicros() ? "expired" : "active" } ?? "active"
                    print([key.accessKey, state, key.organizationID.lowercasedString, key.projectID?.lowercasedString ?? "-",
                           RFC3339.format(microsecondsSinceEpoch: key.createdAt),
                           key.expiresAt.map { RFC3339.format(microsecondsSinceEpoch: $0) } ?? "never", key.description]
                        .joined(separator: "  "))
                }
            case "revoke":
                guard let accessKey = options.positional(), APIKeyFormat.isAccessKey(accessKey) else {
                    return CommandLineInterface.usageError("api-key revoke needs an access key (SCW followed by 17 characters)")
                }
                try options.finish()
                guard let key = try repository.revoke(accessKey: accessKey) else {
                    return CommandLineInterface.fail("no API key \(accessKey)")
                }
                print("revoked \(key.accessKey); running services stop accepting it within AUTH_CACHE_TTL_MS")
            default:
                return CommandLineInterface.usageError("unknown api-key command \"\(subcommand)\"")
            }
            return 0
        } catch let error as UsageError {
            return CommandLineInterface.usageError(error.message)
        } catch {
            return CommandLineInterface.fail(Database.describe(error))
        }
    }

    /// Parses `90s`, `30m`, `12h`, `7d` and sums like `1d12h`.
    static func parseDuration(_ text: String) throws -> Duration {
        var total: Int64 = 0
        var number: Int64 = 0
        var sawDigit = false
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                number = number * 10 + Int64(digit)
                sawDigit = true
                guard number < 100_000_000 else { throw UsageError("--expires-in \(text) is too long") }
                continue
            }
            let unit: Int64
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default: throw UsageError("--expires-in takes durations like 90s, 30m, 12h, 7d or 1d12h, not \(text)")
            }
            guard sawDigit else { throw UsageError("--expires-in takes durations like 90s, 30m, 12h, 7d or 1d12h, not \(text)") }
            total += number * unit
            number = 0
            sawDigit = false
        }
        guard !sawDigit, total > 0 else { throw UsageError("--expires-in takes durations like 90s, 30m, 12h, 7d or 1d12h, not \(text)") }
        return .seconds(total)
    }

    private static func nowMicros() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}

/// A command-line mistake, answered with exit status 64 and a hint.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// `--name value` options and positional arguments of a subcommand.
struct Options {
    private var arguments: [String]

    init(_ arguments: [String]) throws {
        self.arguments = arguments
    }

    /// Removes `--name value` (or `--name=value`) and returns the value.
    mutating func take(_ name: String) -> String? {
        if let index = arguments.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            return String(arguments.remove(at: index).dropFirst(name.count + 1))
        }
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        let value = arguments[index + 1]
        arguments.removeSubrange(index...index + 1)
        return value
    }

    mutating func uuid(_ name: String) throws -> UUID? {
        guard let text = take(name) else { return nil }
        guard let value = UUID(canonical: text) else { throw UsageError("\(name) must be a UUID, not \(text)") }
        return value
    }

    /// Removes `--name` given without a value; returns whether it was there.
    mutating func flag(_ name: String) -> Bool {
        guard let index = arguments.firstIndex(of: name) else { return false }
        arguments.remove(at: index)
        return true
    }

    mutating func positional() -> String? {
        guard let index = arguments.firstIndex(where: { !$0.hasPrefix("--") }) else { return nil }
        return arguments.remove(at: index)
    }

    /// Throws when anything is left unread: a mistyped option must not be silently ignored.
    func finish() throws {
        if let extra = arguments.first { throw UsageError("unexpected argument \"\(extra)\"") }
    }
}
