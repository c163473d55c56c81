import FoundationEssentials

/// The orders a namespace listing accepts (`order_by`), and the SQL each one sorts by.
///
/// Every order ends with `id`, so that rows that tie on the sort key keep one order from page to
/// page. `region` sorts by region then id; within one region's listing that is the order of id.
public enum NamespaceOrder: String, Sendable, CaseIterable {
    case createdAtAsc = "created_at_asc"
    case createdAtDesc = "created_at_desc"
    case nameAsc = "name_asc"
    case nameDesc = "name_desc"
    case descriptionAsc = "description_asc"
    case descriptionDesc = "description_desc"
    case region = "region"
    case statusAsc = "status_asc"
    case statusDesc = "status_desc"

    /// The order when the client names none.
    public static let `default` = NamespaceOrder.createdAtAsc

    /// Whether the order runs from the largest key down.
    var isDescending: Bool {
        [.createdAtDesc, .nameDesc, .descriptionDesc, .statusDesc].contains(self)
    }

    /// The column the order sorts by before `id`.
    var keyColumn: String {
        switch self {
        case .createdAtAsc, .createdAtDesc: "created_at"
        case .nameAsc, .nameDesc: "name"
        case .descriptionAsc, .descriptionDesc: "description"
        case .region: "region"
        case .statusAsc, .statusDesc: "status"
        }
    }

    /// The `ORDER BY` list, for the columns of `namespaces` qualified by `table`.
    func orderBy(_ table: String) -> String {
        switch self {
        case .createdAtAsc: "\(table).created_at ASC, \(table).id ASC"
        case .createdAtDesc: "\(table).created_at DESC, \(table).id DESC"
        case .nameAsc: "\(table).name ASC, \(table).id ASC"
        case .nameDesc: "\(table).name DESC, \(table).id DESC"
        case .descriptionAsc: "\(table).description ASC, \(table).id ASC"
        case .descriptionDesc: "\(table).description DESC, \(table).id DESC"
        case .region: "\(table).region ASC, \(table).id ASC"
        case .statusAsc: "\(table).status ASC, \(table).id ASC"
        case .statusDesc: "\(table).status DESC, \(table).id DESC"
        }
    }
}

/// Which namespaces a listing returns: always one region of one organization, and what the
/// client filtered on.
public struct NamespaceFilter: Sendable, Equatable {
    public var region: String
    /// The caller's organization: required, since a listing never crosses organizations (and
    /// every listing index leads with it).
    public var organizationID: UUID
    public var projectID: UUID?
    /// Exact name.
    public var name: String?

    public init(region: String, organizationID: UUID, projectID: UUID? = nil, name: String? = nil) {
        self.region = region
        self.organizationID = organizationID
        self.projectID = projectID
        self.name = name
    }
}

/// A page of a listing: `page` counts from 1.
public struct PageRequest: Sendable, Equatable {
    public static let defaultSize = 20
    public static let maximumSize = 100
    /// The largest page number accepted (Scaleway's `page` is an int32).
    public static let maximumPage = Int(Int32.max)

    public var page: Int
    public var size: Int

    public init(page: Int = 1, size: Int = PageRequest.defaultSize) {
        self.page = page
        self.size = size
    }

    /// Rows to skip.
    var offset: Int64 { Int64(page - 1) * Int64(size) }
}

/// One page of namespaces and how many match in all.
public struct NamespacePage: Sendable, Equatable {
    public let namespaces: [Namespace]
    /// Every match, not just this page.
    public let totalCount: Int64
}
