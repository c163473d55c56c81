/// One resource scope a registry client asks a token for: `repository:team-a/app:pull,push`.
///
/// Clients send `scope` several times, and one value may hold several scopes separated by
/// spaces. A repository name may carry a registry host with a port (`localhost:5000/x`), so the
/// type ends at the first `:` and the actions start after the last one.
struct TokenScope: Sendable, Equatable {
    var type: String
    var name: String
    var actions: [String]

    /// The most scopes one token request may ask for; more is a 400 (docker asks for a handful).
    static let maximumCount = 100
    /// Longest repository name distribution accepts.
    static let maximumNameLength = 255

    /// Every well-formed scope in the `scope` query values, in order; malformed ones are dropped
    /// (they are granted nothing, which is never an error). Nil when there are too many.
    static func parse(_ values: [String]) -> [TokenScope]? {
        var scopes: [TokenScope] = []
        for value in values {
            for item in value.split(separator: " ", omittingEmptySubsequences: true) {
                guard scopes.count < maximumCount else { return nil }
                if let scope = TokenScope(String(item)) { scopes.append(scope) }
            }
        }
        return scopes
    }

    init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// Parses `type:name:actions`; nil when malformed.
    init?(_ text: String) {
        guard let firstColon = text.firstIndex(of: ":"), let lastColon = text.lastIndex(of: ":"),
              firstColon < lastColon else { return nil }
        let type = String(text[..<firstColon])
        let name = String(text[text.index(after: firstColon)..<lastColon])
        let actions = text[text.index(after: lastColon)...].split(separator: ",").map(String.init)
        guard !type.isEmpty, Self.isValidName(name) else { return nil }
        self.init(type: type, name: name, actions: actions)
    }

    /// Names as distribution allows them, roughly: lower-case letters, digits, `._-/`, and `:` for a port.
    private static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumNameLength else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ":")
        }
    }

    /// Whether the scope asks for `action`, `*` asking for every action.
    func asks(_ action: String) -> Bool {
        actions.contains(action) || actions.contains("*")
    }

    /// The namespace and the image path below it of a repository name, nil when it has no image part.
    var repositoryPath: (namespace: String, image: String)? { RepositoryName.split(name) }
}

/// Repository names as the registry sees them: `<namespace>/<image path>`.
enum RepositoryName {
    /// The namespace and the image path below it (which may hold further slashes); nil without an image part.
    static func split(_ name: String) -> (namespace: String, image: String)? {
        guard let slash = name.firstIndex(of: "/") else { return nil }
        let image = String(name[name.index(after: slash)...])
        guard !image.isEmpty, slash > name.startIndex else { return nil }
        return (String(name[..<slash]), image)
    }
}
