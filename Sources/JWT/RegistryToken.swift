import FoundationEssentials
import JSON

/// A bearer token for CNCF distribution's `auth.token`: what the holder may do on which resources,
/// for whom (`aud`, the registry's `service`) and until when.
public struct RegistryToken: Sendable, Equatable {
    /// One granted resource: `repository` + `team-a/app` + `["pull", "push"]`, or `registry` +
    /// `catalog` + `["*"]`. An empty `actions` is a valid, useless grant (never an error).
    public struct Access: Sendable, Equatable {
        public var type: String
        public var name: String
        public var actions: [String]

        public init(type: String, name: String, actions: [String]) {
            self.type = type
            self.name = name
            self.actions = actions
        }
    }

    public var issuer: String
    public var subject: String
    /// The registry's `service`; distribution 2.8 refuses an array here, so it is one string.
    public var audience: String
    public var issuedAt: Int64
    public var lifetime: Int64
    public var id: String
    public var access: [Access]

    public init(issuer: String, subject: String, audience: String, issuedAt: Int64, lifetime: Int64 = 300,
                id: String = UUID().uuidString.lowercased(), access: [Access]) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.issuedAt = issuedAt
        self.lifetime = lifetime
        self.id = id
        self.access = access
    }

    /// The compact JWS: `base64url(header).base64url(claims).base64url(RS256 signature)`.
    public func signed(with key: SigningKey) throws(SigningKeyError) -> String {
        var header = JSONWriter(capacity: 96)
        header.beginObject()
        header.field("typ", "JWT")
        header.field("alg", "RS256")
        header.field("kid", key.keyID)
        header.endObject()
        let signingInput = Base64URL.encode(header.bytes) + "." + Base64URL.encode(claims())
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The claims as JSON.
    func claims() -> [UInt8] {
        var json = JSONWriter(capacity: 256 + access.count * 64)
        json.beginObject()
        json.field("iss", issuer)
        json.field("sub", subject)
        json.field("aud", audience)
        json.field("exp", issuedAt + lifetime)
        // A little before now: the registry allows 60 s of clock skew, a token is never born in its future.
        json.field("nbf", issuedAt - 10)
        json.field("iat", issuedAt)
        json.field("jti", id)
        json.key("access")
        json.beginArray()
        for entry in access {
            json.beginObject()
            json.field("type", entry.type)
            json.field("name", entry.name)
            json.key("actions")
            json.beginArray()
            for action in entry.actions { json.string(action) }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }
}

/// Base64 with the URL-safe alphabet and no padding, as JWS requires (RFC 7515 §2).
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        let standard = Data(bytes).base64EncodedString()
        return String(standard.compactMap { character -> Character? in
            switch character {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: character
            }
        })
    }

    /// Decodes URL-safe base64 with or without padding; nil when it is not base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while standard.count % 4 != 0 { standard.append("=") }
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }
}
