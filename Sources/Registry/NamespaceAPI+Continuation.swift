import FoundationEssentials

extension NamespaceAPI {
    /// The listing's `page_token` (see `NamespaceCursor`), checked against the rest of the request;
    /// nil when absent or refused, with the problem added to `query`.
    ///
    /// A token that does not parse is a `format` problem; one of another organization or region
    /// is a `constraint` problem on `page_token`. `order_by` and `page` may be omitted (the
    /// token's are used) or repeat the token's; anything else is a `constraint` problem on them,
    /// rather than a silent choice between the two.
    static func continuation(_ query: inout QueryArguments, region: String, caller: Caller) -> NamespaceCursor? {
        guard let text = query.string("page_token") else { return nil }
        guard let cursor = NamespaceCursor(token: text) else {
            query.add(ArgumentError("page_token", .format, "must be an X-Next-Page-Token this listing answered"))
            return nil
        }
        guard cursor.organizationID == caller.organizationID, cursor.region == region else {
            query.add(ArgumentError("page_token", .constraint, "was given by a listing of another organization or region"))
            return nil
        }
        var consistent = true
        let refused = Set(query.problems.map(\.name))  // already reported (repeated, malformed)
        if !refused.contains("order_by"), let order = query.string("order_by"), order != cursor.order.rawValue {
            query.add(ArgumentError("order_by", .constraint, "must be the page token's order, \(cursor.order.rawValue), or omitted"))
            consistent = false
        }
        if !refused.contains("page"), let page = query.string("page"), page != String(cursor.page) {
            query.add(ArgumentError("page", .constraint, "must be the page token's page, \(cursor.page), or omitted"))
            consistent = false
        }
        return consistent ? cursor : nil
    }
}
