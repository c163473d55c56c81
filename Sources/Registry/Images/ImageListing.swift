import FoundationEssentials

/// The orders an image or tag listing accepts (`order_by`), and the SQL each one sorts by.
///
/// Every order ends with `id` so that rows that tie keep one order from page to page. `region`
/// (accepted as the namespace listing accepts it) is the order of creation: every image of a
/// listing is in the one region of its path. Each order has an index that leads with the parent
/// (`namespace_id` or `image_id`), see migration 0007.
public enum ContentOrder: String, Sendable, CaseIterable {
    case createdAtAsc = "created_at_asc"
    case createdAtDesc = "created_at_desc"
    case nameAsc = "name_asc"
    case nameDesc = "name_desc"
    case region = "region"
    case statusAsc = "status_asc"
    case statusDesc = "status_desc"

    /// The order when the client names none.
    public static let `default` = ContentOrder.createdAtAsc

    /// The `ORDER BY` list, for the columns of `images` or `tags` qualified by `table`.
    func orderBy(_ table: String) -> String {
        switch self {
        case .createdAtAsc, .region: "\(table).created_at ASC, \(table).id ASC"
        case .createdAtDesc: "\(table).created_at DESC, \(table).id DESC"
        case .nameAsc: "\(table).name ASC, \(table).id ASC"
        case .nameDesc: "\(table).name DESC, \(table).id DESC"
        case .statusAsc: "\(table).status ASC, \(table).id ASC"
        case .statusDesc: "\(table).status DESC, \(table).id DESC"
        }
    }
}

/// Which images a listing returns: always one region of the caller's organization (and project,
/// for a project-scoped key), and what the client filtered on.
public struct ImageFilter: Sendable, Equatable {
    public var region: String
    public var organizationID: UUID
    public var projectID: UUID?
    public var namespaceID: UUID?
    /// Exact image name.
    public var name: String?

    /// A filter of the caller's images in `region`, narrowed by what the client gave.
    public init(region: String, organizationID: UUID, projectID: UUID? = nil, namespaceID: UUID? = nil, name: String? = nil) {
        self.region = region
        self.organizationID = organizationID
        self.projectID = projectID
        self.namespaceID = namespaceID
        self.name = name
    }
}

/// One page of images and how many match in all.
public struct ImagePage: Sendable, Equatable {
    public let images: [Image]
    public let totalCount: Int64
}

/// One page of an image's tags and how many match in all.
public struct TagPage: Sendable, Equatable {
    public let tags: [Tag]
    public let totalCount: Int64
}
