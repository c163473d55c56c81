import CLibPQ

/// The rows a statement returned, in libpq's binary format; frees the `PGresult` when released.
///
/// `@unchecked Sendable`: a result is never changed once received, and libpq allows reading one
/// `PGresult` from any thread.
public final class QueryResult: @unchecked Sendable {
    let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    /// How many rows the statement returned.
    public var rowCount: Int { Int(PQntuples(handle)) }

    /// How many rows an `INSERT`, `UPDATE` or `DELETE` touched (0 for other statements).
    public var affectedRows: Int {
        Int(String(cString: PQcmdTuples(handle))) ?? 0
    }

    /// The row at `index` (0-based); `index` must be below `rowCount`.
    public subscript(index: Int) -> Row {
        precondition(index >= 0 && index < rowCount, "row \(index) out of range 0..<\(rowCount)")
        return Row(result: self, index: Int32(index))
    }

    /// Every row, in the order the server sent them.
    public var rows: [Row] {
        (0..<rowCount).map { self[$0] }
    }

    /// The first row, or nil when there is none.
    public var first: Row? {
        rowCount > 0 ? self[0] : nil
    }
}
