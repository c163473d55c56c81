/// What the API accepts for a namespace's fields.
enum NamespaceRules {
    static let nameLength = 4...54
    static let maximumDescriptionLength = 255

    static let nameHelp = "must be 4 to 54 characters: lowercase letters and digits, in groups joined by single hyphens (^[a-z0-9]+(-[a-z0-9]+)*$)"

    /// Why `name` is not a valid namespace name, or nil when it is.
    static func nameProblem(_ name: String) -> ArgumentError? {
        let bytes = Array(name.utf8)
        var previousWasHyphen = true  // so a leading hyphen fails
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasHyphen = false
            case UInt8(ascii: "-") where !previousWasHyphen:
                previousWasHyphen = true
            default:
                return ArgumentError("name", .format, nameHelp)
            }
        }
        if previousWasHyphen && !bytes.isEmpty { return ArgumentError("name", .format, nameHelp) }
        if !nameLength.contains(bytes.count) { return ArgumentError("name", .constraint, nameHelp) }
        return nil
    }

    /// Why `description` is not acceptable, or nil when it is.
    static func descriptionProblem(_ description: String) -> ArgumentError? {
        if description.unicodeScalars.contains("\u{0}") {
            return ArgumentError("description", .format, "must not contain NUL characters")
        }
        if description.unicodeScalars.count > maximumDescriptionLength {
            return ArgumentError("description", .constraint, "must be at most \(maximumDescriptionLength) characters")
        }
        return nil
    }
}
