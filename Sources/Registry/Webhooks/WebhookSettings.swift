import FoundationEssentials

/// The webhook endpoints change events are delivered to (`WEBHOOK_URLS`) and how deliveries are
/// retried; nil settings (no `WEBHOOK_URLS`) leave the dispatcher off and store nothing for it.
public struct WebhookSettings: Sendable {
    /// One receiver: a name (the key of its backlog in the database and of its metrics), a URL and
    /// the secret its deliveries are signed with.
    public struct Endpoint: Sendable, Equatable {
        public let name: String
        public let url: String
        public let secret: String

        /// Creates an endpoint; see `WebhookSettings.parseEndpoints` for what is valid.
        public init(name: String, url: String, secret: String) {
            self.name = name
            self.url = url
            self.secret = secret
        }
    }

    public var endpoints: [Endpoint]
    /// Longest one POST may take, connection included; past it the delivery counts as failed.
    public var timeout: Duration
    /// The first retry's delay; each further failure doubles it, up to `maxRetryDelay`.
    public var retryDelay: Duration
    /// The cap of the exponential backoff.
    public var maxRetryDelay: Duration
    /// Events claimed per transaction (per endpoint); bounds the memory a backlog takes.
    public var batchSize: Int
    /// How often an endpoint with nothing pending looks again.
    public var pollInterval: Duration

    /// Creates settings; see each property for what it means.
    public init(endpoints: [Endpoint], timeout: Duration = .seconds(10), retryDelay: Duration = .seconds(1),
                maxRetryDelay: Duration = .seconds(300), batchSize: Int = 100, pollInterval: Duration = .milliseconds(200)) {
        self.endpoints = endpoints
        self.timeout = timeout
        self.retryDelay = retryDelay
        self.maxRetryDelay = maxRetryDelay
        self.batchSize = batchSize
        self.pollInterval = pollInterval
    }

    /// What is wrong with a `WEBHOOK_URLS` entry, for a start-up message naming it.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let entry: String
        public let problem: String
        public var description: String { "has a bad entry \"\(entry)\": \(problem)" }
    }

    /// Parses `name=URL,name=URL`: a name is 1 to 32 lowercase letters, digits, `-` or `_`,
    /// starting with a letter or digit, used once; a URL is `http://` or `https://` with a host.
    /// Returns the (name, URL) pairs in their order; secrets are looked up by the caller.
    public static func parseEndpoints(_ text: String) -> Result<[(name: String, url: String)], ParseError> {
        var parsed: [(name: String, url: String)] = []
        for rawEntry in text.split(separator: ",") {
            let entry = String(rawEntry.filter { $0 != " " && $0 != "\t" })
            guard !entry.isEmpty else { continue }
            guard let equals = entry.firstIndex(of: "=") else {
                return .failure(ParseError(entry: entry, problem: "want name=https://host/path"))
            }
            let name = String(entry[..<equals]), url = String(entry[entry.index(after: equals)...])
            guard isValidName(name) else {
                return .failure(ParseError(entry: entry, problem: "a name is 1 to 32 lowercase letters, digits, - or _"))
            }
            guard !parsed.contains(where: { $0.name == name }) else {
                return .failure(ParseError(entry: entry, problem: "the name \(name) is used twice"))
            }
            guard isValidURL(url) else {
                return .failure(ParseError(entry: entry, problem: "the URL must start with http:// or https:// and name a host"))
            }
            parsed.append((name, url))
        }
        return .success(parsed)
    }

    /// The variable holding `name`'s secret: `WEBHOOK_SECRET_` and the name upper-cased, `-` as `_`.
    public static func secretVariable(for name: String) -> String {
        "WEBHOOK_SECRET_" + name.uppercased().replacing("-", with: "_")
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool { (97...122).contains(byte) || (48...57).contains(byte) }
        return isAlphanumeric(bytes[0]) && bytes.allSatisfy { isAlphanumeric($0) || $0 == 45 || $0 == 95 }
    }

    static func isValidURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        guard let scheme = ["http://", "https://"].first(where: { lower.hasPrefix($0) }) else { return false }
        let host = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" }
        return !host.isEmpty && !host.hasPrefix(":") && url.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
