import FoundationEssentials
import Registry

/// The change-event webhooks' environment variables (issue 14, part 4): read with the rest of
/// `Configuration`. Secrets are read here and never logged.
enum WebhookEnvironment {
    static let variables: [Configuration.Variable] = [
        .init(name: "WEBHOOK_URLS", defaultValue: "",
              help: "name=URL,... endpoints every change event is POSTed to, signed with WEBHOOK_SECRET_<NAME> (unset: no events stored or sent)"),
        .init(name: "WEBHOOK_SECRET_<NAME>", defaultValue: nil,
              help: "an endpoint's signing secret, at least 16 characters (or WEBHOOK_SECRET_<NAME>_FILE, a file holding it)"),
        .init(name: "WEBHOOK_TIMEOUT_MS", defaultValue: "10000", help: "longest one delivery may take before it counts as failed"),
        .init(name: "WEBHOOK_RETRY_MS", defaultValue: "1000", help: "first retry delay; doubled per failure, with jitter"),
        .init(name: "WEBHOOK_RETRY_MAX_MS", defaultValue: "300000", help: "longest retry delay"),
        .init(name: "WEBHOOK_BATCH", defaultValue: "100", help: "events one endpoint's worker claims per transaction"),
    ]

    /// The webhook settings, nil when `WEBHOOK_URLS` is unset or empty.
    static func read(_ reader: EnvironmentReader) throws(ConfigurationError) -> WebhookSettings? {
        let list: [(name: String, url: String)]
        switch WebhookSettings.parseEndpoints(reader.value("WEBHOOK_URLS") ?? "") {
        case .success(let parsed): list = parsed
        case .failure(let error): throw ConfigurationError(variable: "WEBHOOK_URLS", problem: error.description)
        }
        guard !list.isEmpty else { return nil }
        var endpoints: [WebhookSettings.Endpoint] = []
        for (name, url) in list {
            endpoints.append(.init(name: name, url: url, secret: try secret(for: name, reader)))
        }
        let retry = try reader.integer("WEBHOOK_RETRY_MS", in: 1...3_600_000)
        let retryMax = try reader.integer("WEBHOOK_RETRY_MAX_MS", in: 1...86_400_000)
        guard retryMax >= retry else {
            throw ConfigurationError(variable: "WEBHOOK_RETRY_MAX_MS", problem: "must be at least WEBHOOK_RETRY_MS (\(retry))")
        }
        return WebhookSettings(
            endpoints: endpoints,
            timeout: .milliseconds(try reader.integer("WEBHOOK_TIMEOUT_MS", in: 100...600_000)),
            retryDelay: .milliseconds(retry), maxRetryDelay: .milliseconds(retryMax),
            batchSize: try reader.integer("WEBHOOK_BATCH", in: 1...10_000))
    }

    /// `WEBHOOK_SECRET_<NAME>`, else the content of `WEBHOOK_SECRET_<NAME>_FILE` (its line end
    /// dropped); at least 16 characters, no spaces or control characters. The message names the
    /// variable, never the value.
    static func secret(for name: String, _ reader: EnvironmentReader) throws(ConfigurationError) -> String {
        let variable = WebhookSettings.secretVariable(for: name)
        var secret = reader.value(variable)
        if secret == nil, let path = reader.value(variable + "_FILE") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(variable: variable + "_FILE", problem: "cannot be read: \(path)")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.last == "\n" || text.last == "\r\n" || text.last == "\r" { text.removeLast() }
            secret = text
        }
        guard let secret else {
            throw ConfigurationError(variable: variable, problem: "is required: WEBHOOK_URLS names the endpoint \(name) (or set \(variable)_FILE)")
        }
        guard secret.utf8.count >= 16, secret.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ConfigurationError(variable: variable, problem: "must be at least 16 printable characters, no spaces")
        }
        return secret
    }
}
