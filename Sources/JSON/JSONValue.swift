/// A parsed JSON value.
///
/// Numbers keep their literal text, so that a value of any size or precision survives parsing
/// and the reader decides what range it accepts.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type's name as an error message says it: "string", "boolean", "number", ...
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object: its members in document order, keys unique (the parser refuses duplicates).
public struct JSONObject: Sendable, Equatable {
    /// The members, in the order the document lists them.
    public private(set) var members: [(key: String, value: JSONValue)]

    /// Creates an object from members whose keys are unique.
    public init(members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    /// The value of `key`, or nil when the object has no such member.
    public subscript(key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    /// Whether the object has a member named `key`.
    public func contains(_ key: String) -> Bool {
        members.contains { $0.key == key }
    }

    mutating func append(_ key: String, _ value: JSONValue) {
        members.append((key, value))
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
