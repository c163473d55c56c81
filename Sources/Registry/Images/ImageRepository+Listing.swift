import FoundationEssentials
import Postgres

extension ImageRepository {
    /// One page of the images matching `filter`, in `order`, and the number of all matches.
    ///
    /// Built like the namespace listing (`NamespaceRepository.list`): one statement, the count an
    /// uncorrelated sub-query left-joined to a deferred-join page. With `namespace_id` the ids are
    /// read from the order's index on `(namespace_id, …)` (migration 0007), the namespace's
    /// ownership checked once by an uncorrelated `EXISTS`; without it, from every namespace of the
    /// caller in the region, which sorts that organization's images.
    public func listImages(filter: ImageFilter, page: PageRequest, order: ContentOrder) async throws -> ImagePage {
        let (sql, parameters) = Self.imageListingStatement(filter: filter, page: page, order: order)
        let result = try await database.readListing(sql, parameters, organization: filter.organizationID)
        guard let first = result.first else { throw PostgresError.unexpectedResult("listing returned no row") }
        var images: [Image] = []
        images.reserveCapacity(result.rowCount)
        for row in result.rows where !row.isNull(1) {
            images.append(try Image(row: row, offset: 1))
        }
        return ImagePage(images: images, totalCount: try first.int64(0))
    }

    static func imageListingStatement(
        filter: ImageFilter, page: PageRequest, order: ContentOrder
    ) -> (String, [(any PostgresParameter)?]) {
        var parameters: [(any PostgresParameter)?] = [filter.organizationID, filter.region]
        var owned = ["organization_id = $1", "region = $2"]
        if let projectID = filter.projectID {
            parameters.append(projectID)
            owned.append("project_id = $\(parameters.count)")
        }
        var conditions: [String]
        if let namespaceID = filter.namespaceID {
            parameters.append(namespaceID)
            let namespace = "$\(parameters.count)"
            conditions = ["images.namespace_id = \(namespace)",
                          "EXISTS (SELECT 1 FROM namespaces WHERE id = \(namespace) AND \(owned.joined(separator: " AND ")))"]
        } else {
            conditions = ["images.namespace_id IN (SELECT id FROM namespaces WHERE \(owned.joined(separator: " AND ")))"]
        }
        if let name = filter.name {
            parameters.append(name)
            conditions.append("images.name = $\(parameters.count)")
        }
        return (pageStatement(table: "images", columns: imageColumns, alias: "i", conditions: conditions,
                              order: order, page: page, parameters: &parameters), parameters)
    }

    /// One page of the tags of image `id` (nil when the caller cannot see the image).
    public func listTags(imageID: UUID, region: String, caller: Caller, name: String?,
                         page: PageRequest, order: ContentOrder) async throws -> TagPage? {
        guard try await findImage(id: imageID, region: region, caller: caller) != nil else { return nil }
        var parameters: [(any PostgresParameter)?] = [imageID]
        var conditions = ["tags.image_id = $1"]
        if let name {
            parameters.append(name)
            conditions.append("tags.name = $\(parameters.count)")
        }
        let sql = Self.pageStatement(table: "tags", columns: Self.tagColumns, alias: "t", conditions: conditions,
                                     order: order, page: page, parameters: &parameters)
        let result = try await database.readListing(sql, parameters, organization: caller.organizationID)
        guard let first = result.first else { throw PostgresError.unexpectedResult("listing returned no row") }
        var tags: [Tag] = []
        for row in result.rows where !row.isNull(1) {
            tags.append(try Tag(row: row, offset: 1))
        }
        return TagPage(tags: tags, totalCount: try first.int64(0))
    }

    /// The count of the rows of `table` matching `conditions` and one page of them, in one statement.
    static func pageStatement(
        table: String, columns: String, alias: String, conditions: [String], order: ContentOrder,
        page: PageRequest, parameters: inout [(any PostgresParameter)?]
    ) -> String {
        let whereClause = conditions.joined(separator: " AND ")
        parameters.append(page.size)
        let limit = "$\(parameters.count)"
        parameters.append(page.offset)
        let offset = "$\(parameters.count)::bigint"
        return """
            SELECT total.count, page.* FROM
              (SELECT count(*) AS count FROM \(table) WHERE \(whereClause)) AS total
              LEFT JOIN (
                SELECT \(columns) FROM (
                  SELECT id FROM \(table) WHERE \(whereClause)
                   ORDER BY \(order.orderBy(table)) LIMIT \(limit) OFFSET \(offset)
                ) AS keys JOIN \(table) \(alias) ON \(alias).id = keys.id
              ) AS page ON true
             ORDER BY \(order.orderBy("page"))
            """
    }
}
