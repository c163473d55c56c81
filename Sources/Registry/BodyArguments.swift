import FoundationEssentials
import JSON

/// Reads typed fields of a JSON object body, collecting every problem so one answer lists them all.
///
/// Unknown fields are ignored, as the contract requires; `null`
/// counts as absent, since SDKs send it for unset optional fields.
struct BodyArguments {
    private let object: JSONObject
    private(set) var problems: [ArgumentError] = []

    /// Parses `body`; malformed JSON, or JSON that is not an object, is an `invalid_arguments` error.
    /// An empty body (no bytes at all) reads as `{}`.
    init(parsing body: [UInt8]) throws(APIError) {
        if body.isEmpty {
            object = JSONObject()
            return
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            throw .invalidArgument("body", .format, "the body must be a JSON object: \(error.description)")
        }
        guard case .object(let object) = value else {
            throw .invalidArgument("body", .format, "the body must be a JSON object, not \(value.typeName == "array" ? "an" : "a") \(value.typeName)")
        }
        self.object = object
    }

    /// A string field, or nil when absent or null.
    mutating func string(_ name: String) -> String? {
        field(name, expected: "a string") { if case .string(let value) = $0 { value } else { nil } }
    }

    /// A boolean field, or nil when absent or null.
    mutating func bool(_ name: String) -> Bool? {
        field(name, expected: "a boolean (true or false)") { if case .bool(let value) = $0 { value } else { nil } }
    }

    /// A UUID given as a string, or nil when absent, null or empty.
    mutating func uuid(_ name: String) -> UUID? {
        guard let text = string(name), !text.isEmpty else { return nil }
        guard let value = UUID(canonical: text) else {
            problems.append(.notAUUID(name))
            return nil
        }
        return value
    }

    /// The field's value as `extract` reads it; a value of another JSON type is a `format` problem.
    private mutating func field<T>(_ name: String, expected: String, _ extract: (JSONValue) -> T?) -> T? {
        guard let value = object[name], value != .null else { return nil }
        if let typed = extract(value) { return typed }
        problems.append(ArgumentError(name, .format, "must be \(expected), not a \(value.typeName)"))
        return nil
    }

    /// Records a problem found by the caller's own checks.
    mutating func add(_ problem: ArgumentError?) {
        if let problem { problems.append(problem) }
    }

    /// Throws `invalid_arguments` listing every problem recorded, if any.
    func throwIfInvalid() throws(APIError) {
        if !problems.isEmpty { throw .invalidArguments(problems) }
    }
}
