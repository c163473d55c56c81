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
    public func list(filter: NamespaceFilter, page: PageRequest, order: NamespaceOrder) async throws -> NamespacePage {
        let (sql, parameters) = Self.listingStatement(filter: filter, page: page, order: order)
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
        filter: NamespaceFilter, page: PageRequest, order: NamespaceOrder
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
        parameters.append(page.size)
        let limit = "$\(parameters.count)"
        parameters.append(page.offset)
        let offset = "$\(parameters.count)::bigint"
        let sql = """
            SELECT total.count, page.* FROM
              (SELECT count(*) AS count FROM namespaces WHERE \(whereClause)) AS total
              LEFT JOIN (
                SELECT \(qualifiedColumns) FROM (
                  SELECT id FROM namespaces WHERE \(whereClause)
                   ORDER BY \(order.orderBy("namespaces")) LIMIT \(limit) OFFSET \(offset)
                ) AS keys JOIN namespaces n ON n.id = keys.id
              ) AS page ON true
             ORDER BY \(order.orderBy("page"))
            """
        return (sql, parameters)
    }
}
