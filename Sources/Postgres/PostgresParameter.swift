import FoundationEssentials

/// A value that can be bound to a statement parameter, sent in PostgreSQL's text format.
public protocol PostgresParameter: Sendable {
    /// The value as PostgreSQL parses it for the parameter's type.
    var postgresText: String { get }
}

extension String: PostgresParameter {
    public var postgresText: String { self }
}

extension Int: PostgresParameter {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresParameter {
    public var postgresText: String { String(self) }
}

extension Bool: PostgresParameter {
    public var postgresText: String { self ? "true" : "false" }
}

extension UUID: PostgresParameter {
    public var postgresText: String { lowercasedString }
}
