import FoundationEssentials
import Log
import Registry

/// `registryd [serve | migrate [--status | --dry-run] | api-key ... | audit list ... | --help | --version]`.
enum CommandLineInterface {
    static let version = RegistryApplication.version

    static func run(arguments: [String], environment: [String: String]) -> Int32 {
        let command = arguments.first ?? "serve"
        let rest = Array(arguments.dropFirst())
        switch command {
        case "-h", "--help", "help":
            print(helpText)
            return 0
        case "--version", "version":
            print("registryd \(version)")
            return 0
        case "serve":
            return withConfiguration(environment) { ServeCommand.run($0) }
        case "migrate":
            guard rest.isEmpty || rest == ["--status"] || rest == ["--dry-run"] else {
                return usageError("migrate takes no argument but --status or --dry-run")
            }
            return withConfiguration(environment) {
                MigrateCommand.run($0, statusOnly: rest == ["--status"], dryRun: rest == ["--dry-run"])
            }
        case "api-key":
            return withConfiguration(environment) { APIKeyCommand.run(rest, configuration: $0) }
        case "audit":
            return withConfiguration(environment) { AuditCommand.run(rest, configuration: $0) }
        case "registry-config":
            return RegistryConfigCommand.run(rest, environment: environment)
        default:
            return usageError("unknown command \"\(command)\"")
        }
    }

    static func usageError(_ message: String) -> Int32 {
        writeToStandardError("registryd: \(message)\nRun registryd --help for usage.\n")
        return 64
    }

    static func fail(_ message: String) -> Int32 {
        writeToStandardError("registryd: \(message)\n")
        return 1
    }

    private static func withConfiguration(_ environment: [String: String], _ body: (Configuration) -> Int32) -> Int32 {
        do {
            return body(try Configuration.fromEnvironment(environment))
        } catch {
            return fail("configuration error: \(error.description)")
        }
    }

    static var helpText: String {
        let variables = Configuration.variables.map { variable in
            let name = padded(variable.name, to: 26)
            let defaultText = variable.defaultValue.map { " (default: \($0))" } ?? ""
            return "  \(name)\(variable.help)\(defaultText)"
        }.joined(separator: "\n")
        return """
            registryd \(version): the Scaleway Container Registry namespace API on PostgreSQL.

            Usage:
              registryd [serve]              apply pending migrations, then serve HTTP until SIGTERM/SIGINT/SIGQUIT
              registryd migrate              apply pending migrations and exit
              registryd migrate --status     list migrations and whether each is applied; change nothing
              registryd migrate --dry-run    print the migrations (and SQL) migrate would apply; change nothing
              registryd api-key create --organization-id ORG [--project-id PROJECT]
                                       [--description TEXT] [--expires-in DURATION]
                                             create an API key; prints the secret key, shown only this once
                                             (DURATION: 90s, 30m, 12h, 7d, or combined: 1d12h)
              registryd api-key list [--organization-id ORG]
              registryd api-key revoke ACCESS_KEY
              registryd audit list [--organization-id ORG] [--since TIME|DURATION] [--resource-id ID]
                                   [--limit N] [--json]
                                             the audit trail, oldest first: one line per change (time, access
                                             key, action, resource id, request id), or one JSON object per line
              registryd registry-config --region R --listen HOST:PORT --storage DIR --registryd-url URL [--realm-url URL]
                                             print the config.yml of region R's docker-registry (token auth
                                             and notifications wired to registryd; needs REGISTRY_TOKEN_CERT
                                             and REGISTRY_NOTIFY_SECRET[_FILE], no database; --realm-url:
                                             where clients get tokens, if not at --registryd-url)
              registryd --help | --version

            Environment:
            \(variables)
            """
    }
}
