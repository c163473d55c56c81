/// One bad argument of a request, as the `details` of an `invalid_arguments` error list it.
public struct ArgumentError: Sendable, Equatable {
    /// Why the argument is refused, in Scaleway's vocabulary.
    public enum Reason: String, Sendable {
        /// The argument is missing.
        case required
        /// The argument does not parse: wrong JSON type, not a UUID, not an integer, malformed JSON.
        case format
        /// The argument parses but is outside what is allowed: a range, a length, an enumeration.
        case constraint
        /// Anything else.
        case unknown
    }

    /// The argument's name as the client sent it (`name`, `page_size`, `namespace_id`, ...).
    public let name: String
    public let reason: Reason
    /// What a valid value looks like, for a human.
    public let help: String

    public init(_ name: String, _ reason: Reason, _ help: String) {
        self.name = name
        self.reason = reason
        self.help = help
    }

    /// `name` is not a UUID in its canonical form.
    static func notAUUID(_ name: String) -> ArgumentError {
        ArgumentError(name, .format, "must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    }
}
