import FoundationEssentials
import Registry

/// `registryd registry-config --region R --listen HOST:PORT --storage DIR --registryd-url URL [--realm-url URL]`:
/// prints the `config.yml` of region R's `docker-registry`, wired to this registryd (`--realm-url`:
/// where clients ask for tokens, when they reach registryd elsewhere than the registry does).
///
/// Reads `REGIONS`, `ENDPOINT_TEMPLATE` (the token audience is the region's registry host),
/// `REGISTRY_TOKEN_CERT` and `REGISTRY_NOTIFY_SECRET`; needs no database.
enum RegistryConfigCommand {
    static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
        let reader = EnvironmentReader(environment: environment)
        do {
            var options = try Options(arguments)
            guard let region = options.take("--region"), let listen = options.take("--listen"),
                  let storage = options.take("--storage"), let registrydURL = options.take("--registryd-url") else {
                return CommandLineInterface.usageError("registry-config needs --region, --listen, --storage and --registryd-url")
            }
            let realmURL = options.take("--realm-url")
            try options.finish()
            let regions = try reader.regions("REGIONS")
            guard regions.contains(region) else {
                return CommandLineInterface.usageError("--region must be one of \(regions.joined(separator: ", "))")
            }
            guard registrydURL.hasPrefix("http://") || registrydURL.hasPrefix("https://") else {
                return CommandLineInterface.usageError("--registryd-url must be an http:// or https:// URL")
            }
            if let realmURL, !(realmURL.hasPrefix("http://") || realmURL.hasPrefix("https://")) {
                return CommandLineInterface.usageError("--realm-url must be an http:// or https:// URL")
            }
            guard let certificate = reader.value("REGISTRY_TOKEN_CERT") else {
                throw ConfigurationError(variable: "REGISTRY_TOKEN_CERT", problem: "is required (the registry verifies tokens with it)")
            }
            try DataPlaneEnvironment.checkCertificate(certificate)
            guard let secret = try DataPlaneEnvironment.notifySecret(reader) else {
                throw ConfigurationError(variable: "REGISTRY_NOTIFY_SECRET", problem: "(or REGISTRY_NOTIFY_SECRET_FILE) is required (the registry sends it with its events)")
            }
            let template = try reader.string("ENDPOINT_TEMPLATE")
            let file = RegistryConfigFile(
                region: region, listen: listen, storageDirectory: absolute(storage), registrydURL: registrydURL,
                service: template.replacing("{region}", with: region),
                certificatePath: absolute(certificate), notifySecret: secret, realmURL: realmURL)
            print(file.yaml, terminator: "")
            return 0
        } catch let error as ConfigurationError {
            return CommandLineInterface.fail("configuration error: \(error.description)")
        } catch let error as UsageError {
            return CommandLineInterface.usageError(error.message)
        } catch {
            return CommandLineInterface.usageError("\(error)")
        }
    }

    /// The registry may run from another directory: paths in its config are absolute.
    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
