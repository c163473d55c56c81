import FoundationEssentials
import JSON

/// Where a keyset continuation of a namespace listing resumes: just after the last namespace of
/// the previous page, in the listing's order.
///
/// Why: `page=N` skips `(N - 1) * page_size` index entries (`OFFSET`), so deep pages cost more the
/// deeper they are; a continuation seeks straight to its place in the order's index. It is an
/// addition Scaleway clients need not know about: the listing answers `X-Next-Page-Token` when
/// its page is full, and `page_token` asks for the page after it; `page`, `page_size` and
/// `total_count` keep their meaning. A walk by tokens returns every namespace that exists
/// throughout it exactly once, whatever is created or deleted meanwhile (an `OFFSET` walk skips or
/// repeats rows then), in the orders on immutable columns (`created_at`, `name`, `region`); in
/// `description` or `status` order a namespace whose key changes during the walk may be skipped
/// or repeated.
///
/// The token is opaque to clients but not secret: base64url of the organization, region, order,
/// page number, and the last row's sort key and id. It is not signed: a tampered key only moves
/// the caller's position within its own organization's rows, and a token of another
/// organization or region is refused.
public struct NamespaceCursor: Sendable, Equatable {
    /// The sort key of the last row of the previous page, for the listing's order.
    public enum Key: Sendable, Equatable {
        /// `created_at`, microseconds since the Unix epoch.
        case timestamp(Int64)
        /// `name`, `description` or `status`.
        case text(String)
        /// `region` order: within one region's listing the order is `id` alone.
        case none
    }

    public let organizationID: UUID
    public let region: String
    public let order: NamespaceOrder
    /// The page number this continuation answers, so that `page` keeps counting.
    public let page: Int
    public let id: UUID
    public let key: Key

    public init(organizationID: UUID, region: String, order: NamespaceOrder, page: Int, id: UUID, key: Key) {
        self.organizationID = organizationID
        self.region = region
        self.order = order
        self.page = page
        self.id = id
        self.key = key
    }

    /// The continuation just after `namespace`, for page `page` of a listing in `order`.
    public init(after namespace: Namespace, order: NamespaceOrder, page: Int) {
        let key: Key = switch order {
        case .createdAtAsc, .createdAtDesc: .timestamp(namespace.createdAt)
        case .nameAsc, .nameDesc: .text(namespace.name)
        case .descriptionAsc, .descriptionDesc: .text(namespace.description)
        case .statusAsc, .statusDesc: .text(namespace.status.rawValue)
        case .region: .none
        }
        self.init(organizationID: namespace.organizationID, region: namespace.region, order: order, page: page,
                  id: namespace.id, key: key)
    }

    // MARK: - Token

    /// Version tag of the token's layout: a token of another layout is malformed, not misread.
    private static let version = "n1"

    /// The opaque token: base64url, without padding, of newline-separated fields, the key last
    /// (a description may hold a newline).
    public var token: String {
        let keyText: String = switch key {
        case .timestamp(let micros): "t" + String(micros)
        case .text(let text): "s" + text
        case .none: "-"
        }
        let fields = [Self.version, organizationID.lowercasedString, region, order.rawValue, String(page),
                      id.lowercasedString, keyText]
        return Data(fields.joined(separator: "\n").utf8).base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
    }

    /// Parses a token this type made; nil for anything else (the caller answers `invalid_arguments`).
    public init?(token: String) {
        guard token.utf8.count <= 2048,
              token.utf8.allSatisfy({ Self.base64URLAlphabet.contains($0) }) else { return nil }
        var standard = token.replacing("-", with: "+").replacing("_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: standard), let text = String(validating: data, as: UTF8.self) else {
            return nil
        }
        let fields = text.split(separator: "\n", maxSplits: 6, omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 7, fields[0] == Self.version,
              let organizationID = UUID(canonical: fields[1]),
              !fields[2].isEmpty,
              let order = NamespaceOrder(rawValue: fields[3]),
              let page = Int(fields[4]), (2...PageRequest.maximumPage).contains(page),
              let id = UUID(canonical: fields[5]),
              let key = Self.key(fields[6], for: order) else { return nil }
        self.init(organizationID: organizationID, region: fields[2], order: order, page: page, id: id, key: key)
    }

    private static let base64URLAlphabet = Set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The key field, checked against what `order` sorts by.
    private static func key(_ field: String, for order: NamespaceOrder) -> Key? {
        switch order {
        case .createdAtAsc, .createdAtDesc:
            guard field.hasPrefix("t"), let micros = Int64(field.dropFirst()),
                  RFC3339.representable.contains(micros) else { return nil }
            return .timestamp(micros)
        case .nameAsc, .nameDesc, .descriptionAsc, .descriptionDesc, .statusAsc, .statusDesc:
            guard field.hasPrefix("s"), !field.utf8.contains(0) else { return nil }
            return .text(String(field.dropFirst()))
        case .region:
            return field == "-" ? Key.none : nil
        }
    }
}
