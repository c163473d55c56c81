import FoundationEssentials
import JWT
import Registry

/// The data plane's environment variables (issue 11): read with the rest of `Configuration`.
enum DataPlaneEnvironment {
    static let variables: [Configuration.Variable] = [
        .init(name: "REGISTRY_TOKEN_KEY", defaultValue: nil, help: "PEM RSA private key that signs registry tokens (unset: data plane off)"),
        .init(name: "REGISTRY_TOKEN_CERT", defaultValue: nil, help: "PEM certificate of that key, the registries' rootcertbundle"),
        .init(name: "REGISTRY_NOTIFY_SECRET", defaultValue: nil, help: "secret the registries send with their notifications"),
        .init(name: "REGISTRY_NOTIFY_SECRET_FILE", defaultValue: nil, help: "file holding that secret, when REGISTRY_NOTIFY_SECRET is unset (Docker secrets)"),
        .init(name: "REGISTRY_URLS", defaultValue: "", help: "region=URL,... where registryd reaches each region's registry"),
        .init(name: "RECONCILE_INTERVAL_S", defaultValue: "300", help: "how often registries and database are compared"),
    ]

    /// The data plane's settings, nil when `REGISTRY_TOKEN_KEY` is unset.
    static func read(_ reader: EnvironmentReader) throws(ConfigurationError) -> DataPlaneSettings? {
        guard let keyPath = reader.value("REGISTRY_TOKEN_KEY") else { return nil }
        guard let certificatePath = reader.value("REGISTRY_TOKEN_CERT") else {
            throw ConfigurationError(variable: "REGISTRY_TOKEN_CERT", problem: "is required with REGISTRY_TOKEN_KEY")
        }
        try checkCertificate(certificatePath)
        let key: SigningKey
        do {
            key = try SigningKey(contentsOfFile: keyPath)
        } catch {
            throw ConfigurationError(variable: "REGISTRY_TOKEN_KEY", problem: error.description)
        }
        let urls: [String: String]
        switch DataPlaneSettings.parseRegistryURLs(reader.value("REGISTRY_URLS") ?? "") {
        case .success(let parsed): urls = parsed
        case .failure(let error):
            throw ConfigurationError(variable: "REGISTRY_URLS", problem: "has a bad entry \"\(error.entry)\" (want region=http://host:port)")
        }
        return DataPlaneSettings(
            signingKey: key, notifySecret: try notifySecret(reader), registryURLs: urls,
            reconcileInterval: .seconds(try reader.integer("RECONCILE_INTERVAL_S", in: 1...86_400)))
    }

    /// `REGISTRY_NOTIFY_SECRET` when set, else the content of `REGISTRY_NOTIFY_SECRET_FILE` (its
    /// line end dropped: a secret made by a container or mounted as a Docker secret is a file);
    /// at least 16 characters of a header-safe alphabet.
    static func notifySecret(_ reader: EnvironmentReader) throws(ConfigurationError) -> String? {
        var secret = reader.value("REGISTRY_NOTIFY_SECRET")
        if secret == nil, let path = reader.value("REGISTRY_NOTIFY_SECRET_FILE") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(variable: "REGISTRY_NOTIFY_SECRET_FILE", problem: "cannot be read: \(path)")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.last == "\n" || text.last == "\r\n" || text.last == "\r" { text.removeLast() }
            secret = text
        }
        guard let secret else { return nil }
        guard secret.utf8.count >= 16, secret.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }) else {
            throw ConfigurationError(variable: "REGISTRY_NOTIFY_SECRET", problem: "must be at least 16 printable characters, no spaces or quotes")
        }
        return secret
    }

    /// The registry refuses to start on a bundle without certificates: say so here first.
    static func checkCertificate(_ path: String) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(variable: "REGISTRY_TOKEN_CERT", problem: "cannot be read: \(path)")
        }
        guard String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            throw ConfigurationError(variable: "REGISTRY_TOKEN_CERT", problem: "holds no PEM certificate: \(path)")
        }
    }
}
