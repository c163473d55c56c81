import JSON

/// One notification of CNCF distribution, reduced to what registryd records.
///
/// Envelope: `{"events":[{"id","action","target":{"mediaType","digest","repository","tag",
/// "references":[{"mediaType","size","digest"}]}}]}`. Only manifest pushes and deletes change
/// anything; blob pushes, mounts and pulls are acknowledged and ignored.
struct RegistryEvent: Sendable, Equatable {
    /// A blob or child manifest a manifest references.
    struct Reference: Sendable, Equatable {
        var digest: String
        var mediaType: String
        var size: Int64

        /// A child manifest of an index, rather than a config or layer blob.
        var isManifest: Bool { RegistryEvent.isManifestType(mediaType) }
    }

    enum Change: Sendable, Equatable {
        /// A manifest stored under `digest`, tagged `tag` when the push named one.
        case pushManifest(digest: String, mediaType: String, tag: String?, references: [Reference])
        /// The manifest `digest` removed (and with it every tag on it).
        case deleteManifest(digest: String)
        /// The tag removed (sent after the manifest delete that untagged it).
        case deleteTag(String)
    }

    var id: String
    var repository: String
    var change: Change
    /// When the registry saw the operation, microseconds since 1970, when its RFC 3339 `timestamp` is valid.
    var timestamp: Int64?
    /// `actor.name`: the subject of the token the registry was shown, which registryd sets to the
    /// access key that asked for it (`TokenAPI`); the audit trail records it as the pusher.
    var actor: String?
    /// `request.id`: the registry's id of the HTTP request that made the change (its logs carry it).
    var requestID: String?

    /// The most references one manifest may list here; more is not a manifest a registry accepts.
    static let maximumReferences = 4096

    static let manifestTypes: Set<String> = [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ]

    static func isManifestType(_ mediaType: String) -> Bool { manifestTypes.contains(mediaType) }

    /// The events of an envelope that change what registryd records; the rest are dropped.
    /// Throws when the body is not a JSON envelope at all.
    static func parseEnvelope(_ body: [UInt8]) throws -> [RegistryEvent] {
        guard case .object(let envelope) = try JSONParser.parse(body), case .array(let events)? = envelope["events"] else {
            throw EnvelopeError()
        }
        return events.compactMap { value in
            guard case .object(let event) = value else { return nil }
            return RegistryEvent(event)
        }
    }

    struct EnvelopeError: Error {}

    init(id: String, repository: String, change: Change, timestamp: Int64? = nil, actor: String? = nil, requestID: String? = nil) {
        self.id = id
        self.repository = repository
        self.change = change
        self.timestamp = timestamp
        self.actor = actor
        self.requestID = requestID
    }

    private init?(_ event: JSONObject) {
        guard let id = Self.string(event["id"]), id.utf8.count <= 200,
              let action = Self.string(event["action"]), case .object(let target)? = event["target"],
              let repository = Self.string(target["repository"]) else { return nil }
        let digest = Self.string(target["digest"])
        let mediaType = Self.string(target["mediaType"]) ?? ""
        let tag = Self.string(target["tag"])
        switch action {
        case "push":
            guard let digest, Self.isManifestType(mediaType) else { return nil }
            var references: [Reference] = []
            if case .array(let items)? = target["references"] {
                guard items.count <= Self.maximumReferences else { return nil }
                for case .object(let item) in items {
                    guard let referenced = Self.string(item["digest"]), case .number(let size)? = item["size"],
                          let bytes = Int64(size), bytes >= 0 else { continue }
                    references.append(Reference(digest: referenced, mediaType: Self.string(item["mediaType"]) ?? "", size: bytes))
                }
            }
            // The throwaway manifest of a tag deletion (`RegistryClient.untag`) is no content.
            if references.contains(where: { $0.mediaType == RegistryClient.throwawayConfigType }) { return nil }
            change = .pushManifest(digest: digest, mediaType: mediaType, tag: tag, references: references)
        case "delete":
            if let digest { change = .deleteManifest(digest: digest) } else if let tag { change = .deleteTag(tag) } else { return nil }
        default:
            return nil
        }
        self.id = id
        self.repository = repository
        timestamp = Self.string(event["timestamp"]).flatMap(Self.microsecondsSinceEpoch)
        if case .object(let actor)? = event["actor"] { self.actor = Self.string(actor["name"]).map { String($0.prefix(200)) } }
        if case .object(let request)? = event["request"] { requestID = Self.string(request["id"]).map { String($0.prefix(200)) } }
    }

    /// A non-empty string without NUL (which neither libpq's text parameters nor jsonb carry):
    /// a field with one is treated as absent.
    private static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value, !text.isEmpty, !text.utf8.contains(0) { return text }
        return nil
    }
}
