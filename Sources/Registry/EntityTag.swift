import HTTP
/// Entity tags and the conditional request headers that carry them (RFC 9110, section 13).
///
/// A namespace's, image's or tag's entity tag is its row version in quotes (`"7"`): strong, since the version changes with
/// every change of the row, and opaque to clients. `If-Match` (writes) uses the strong comparison,
/// so a weak tag (`W/"7"`) never matches; `If-None-Match` (reads) uses the weak one.
public enum EntityTag {
    /// The strong tag of a resource at `version`.
    public static func strong(version: Int64) -> String {
        "\"\(version)\""
    }

    /// What an `If-Match` header asks of a write.
    public enum Condition: Sendable, Equatable {
        /// No header, or `*`: the write applies to whatever version exists.
        case none
        /// The write applies only while the resource is at one of these versions; empty when no
        /// listed tag can ever match (weak or foreign tags), so the write is refused with 412.
        case versions([Int64])

        /// The versions as a PostgreSQL `bigint[]` literal, or nil for no condition: the
        /// repositories compare them in the statement that writes (`version = ANY($n)`), so no
        /// other writer can slip in between check and write.
        var sqlArray: String? {
            guard case .versions(let versions) = self else { return nil }
            return "{" + versions.map(String.init).joined(separator: ",") + "}"
        }

        /// Whether a resource at `version` satisfies the condition: for checks on a row the
        /// transaction has locked (or that the write's own statement compared and refused).
        func allows(_ version: Int64) -> Bool {
            guard case .versions(let versions) = self else { return true }
            return versions.contains(version)
        }
    }

    /// The condition of an `If-Match` header value (nil: no header).
    public static func ifMatch(_ header: String?) -> Condition {
        guard let header else { return .none }
        let tags = list(header)
        if tags.contains("*") { return .none }
        return .versions(tags.compactMap { tag in
            guard tag.hasPrefix("\""), tag.hasSuffix("\""), tag.count >= 3 else { return nil }
            let digits = tag.dropFirst().dropLast()
            guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int64(digits)
        })
    }

    /// Whether an `If-None-Match` header value matches `etag` (weak comparison; `*` matches any).
    public static func noneMatchMatches(_ header: String?, etag: String) -> Bool {
        guard let header else { return false }
        return list(header).contains { $0 == "*" || weakened($0) == weakened(etag) }
    }

    /// A GET of one resource (namespace, image, tag): `render()` (its JSON, `tagged`), or, when
    /// `request`'s `If-None-Match` matches `etag`, 304 with the `ETag` alone and no body.
    static func answer(_ request: Request, etag: String, render: () -> Response) -> Response {
        if noneMatchMatches(request.header("If-None-Match"), etag: etag) {
            return Response(status: 304, headers: [(name: "ETag", value: etag)], body: [])
        }
        return render()
    }

    /// `response` carrying `etag` as its `ETag`.
    static func tagged(_ response: Response, etag: String) -> Response {
        var response = response
        response.headers.append((name: "ETag", value: etag))
        return response
    }

    // MARK: - Private

    /// The entity tags of a comma-separated list; commas inside quotes belong to the tag.
    static func list(_ header: String) -> [String] {
        var tags: [String] = []
        var current = ""
        var quoted = false
        for character in header {
            if character == "\"" { quoted.toggle() }
            if character == "," && !quoted {
                tags.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        tags.append(current)
        return tags.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    private static func weakened(_ tag: String) -> Substring {
        tag.hasPrefix("W/") ? tag.dropFirst(2) : Substring(tag)
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
