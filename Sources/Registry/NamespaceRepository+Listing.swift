import JSON
import Postgres

extension NamespaceRepository {
    /// One page of the namespaces matching `filter`, in `order`, and the number of all matches.
    ///
    /// One statement does both, so the page and `total_count` come from one snapshot: the count
    /// is an uncorrelated sub-query, and the page is left-joined to it so that a page past the
    /// end still returns the count (with no namespace). The page is a "deferred join": the ids of
    /// the page are found in the order's index alone (an index-only scan that skips `OFFSET` rows
    /// without reading the table), then only those rows are read. The SQL text differs per order
    /// and per set of filters present, so each combination is its own prepared statement with a
    /// plan that uses the index of its order. It runs in the listing lane (see `DatabaseAccess`).
    ///
    /// With `after` (a keyset continuation, `page_token`), the page's ids are the next `page.size`
    /// entries of the order's index after the cursor's key and id, found by seeking rather than by
    /// skipping `OFFSET` entries; `total_count` is still the count of every match.
    public func list(
        filter: NamespaceFilter, page: PageRequest, order: NamespaceOrder, after: NamespaceCursor? = nil
    ) async throws -> NamespacePage {
        let (sql, parameters) = Self.listingStatement(filter: filter, page: page, order: order, after: after)
        let result = try await database.readListing(sql, parameters, organization: filter.organizationID)
        guard let first = result.first else { throw PostgresError.unexpectedResult("listing returned no row") }
        let totalCount = try first.int64(0)
        var namespaces: [Namespace] = []
        namespaces.reserveCapacity(result.rowCount)
        for row in result.rows where !row.isNull(1) {
            namespaces.append(try Namespace(row: row, offset: 1))
        }
        return NamespacePage(namespaces: namespaces, totalCount: totalCount)
    }

    /// `columns`, each qualified by the alias `n`.
    static let qualifiedColumns = columns.split(separator: ", ").map { "n." + $0 }.joined(separator: ", ")

    static func listingStatement(
        filter: NamespaceFilter, page: PageRequest, order: NamespaceOrder, after: NamespaceCursor? = nil
    ) -> (String, [(any PostgresParameter)?]) {
        var parameters: [(any PostgresParameter)?] = [filter.organizationID, filter.region]
        var conditions = ["organization_id = $1", "region = $2"]
        if let projectID = filter.projectID {
            parameters.append(projectID)
            conditions.append("project_id = $\(parameters.count)")
        }
        if let name = filter.name {
            parameters.append(name)
            conditions.append("name = $\(parameters.count)")
        }
        let whereClause = conditions.joined(separator: " AND ")
        var pageClause = whereClause
        if let after {
            pageClause += " AND " + Self.keysetCondition(after, order: order, parameters: &parameters)
        }
        parameters.append(page.size)
        var limit = "$\(parameters.count)"
        if after == nil {
            parameters.append(page.offset)
            limit += " OFFSET $\(parameters.count)::bigint"
        }
        let sql = """
            SELECT total.count, page.* FROM
              (SELECT count(*) AS count FROM namespaces WHERE \(whereClause)) AS total
              LEFT JOIN (
                SELECT \(qualifiedColumns) FROM (
                  SELECT id FROM namespaces WHERE \(pageClause)
                   ORDER BY \(order.orderBy("namespaces")) LIMIT \(limit)
                ) AS keys JOIN namespaces n ON n.id = keys.id
              ) AS page ON true
             ORDER BY \(order.orderBy("page"))
            """
        return (sql, parameters)
    }

    /// The rows after `cursor` in `order`: a row comparison on the order's key and `id`, which
    /// PostgreSQL turns into a seek in the order's index `(organization_id, region, key, id)`.
    static func keysetCondition(
        _ cursor: NamespaceCursor, order: NamespaceOrder, parameters: inout [(any PostgresParameter)?]
    ) -> String {
        let comparison = order.isDescending ? "<" : ">"
        parameters.append(cursor.id)
        let id = "$\(parameters.count)::uuid"
        let key: String
        switch cursor.key {
        case .none:
            return "namespaces.id \(comparison) \(id)"
        case .timestamp(let micros):
            parameters.append(RFC3339.format(microsecondsSinceEpoch: micros))
            key = "$\(parameters.count)::timestamptz"
        case .text(let text):
            parameters.append(text)
            key = "$\(parameters.count)::text"
        }
        return "(namespaces.\(order.keyColumn), namespaces.id) \(comparison) (\(key), \(id))"
    }
}
