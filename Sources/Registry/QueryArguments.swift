import FoundationEssentials
import HTTP

/// Reads typed query parameters, collecting every problem so one answer can list them all.
///
/// An empty value (`?name=`) or a name without `=` counts as absent, as the Scaleway API treats
/// an empty field as unset. A parameter given twice is refused: which one would win is a guess.
struct QueryArguments {
    private let request: Request
    private(set) var problems: [ArgumentError] = []

    init(_ request: Request) {
        self.request = request
    }

    /// Adds a problem found by a check of the caller's own.
    mutating func add(_ problem: ArgumentError) {
        problems.append(problem)
    }

    /// The single non-empty value of `name`, or nil.
    mutating func string(_ name: String) -> String? {
        let values = request.queryValues(name).compactMap { $0 }.filter { !$0.isEmpty }
        if values.count > 1 {
            problems.append(ArgumentError(name, .format, "must be given at most once"))
            return nil
        }
        return values.first
    }

    /// An integer in `range`, or `defaultValue` when absent.
    ///
    /// Text that is not a decimal integer is a `format` problem; an integer outside the range,
    /// however many digits it has, is a `constraint` problem.
    mutating func integer(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) -> Int {
        guard let text = string(name) else { return defaultValue }
        let help = "must be an integer from \(range.lowerBound) to \(range.upperBound)"
        let digits = text.utf8.drop { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }
        guard text.utf8.count - digits.count <= 1, !digits.isEmpty,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            problems.append(ArgumentError(name, .format, help))
            return defaultValue
        }
        guard let value = Int(text), range.contains(value) else {
            problems.append(ArgumentError(name, .constraint, help))
            return defaultValue
        }
        return value
    }

    /// `true` or `false` (any case; also `1`, `0`), or `defaultValue` when absent.
    mutating func bool(_ name: String, default defaultValue: Bool) -> Bool {
        guard let text = string(name) else { return defaultValue }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default:
            problems.append(ArgumentError(name, .format, "must be true or false"))
            return defaultValue
        }
    }

    /// A UUID, or nil when absent.
    mutating func uuid(_ name: String) -> UUID? {
        guard let text = string(name) else { return nil }
        guard let value = UUID(canonical: text) else {
            problems.append(.notAUUID(name))
            return nil
        }
        return value
    }

    /// One of an enumeration's raw values, or `defaultValue` when absent.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ name: String, default defaultValue: Choice
    ) -> Choice where Choice.RawValue == String {
        guard let text = string(name) else { return defaultValue }
        guard let value = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            problems.append(ArgumentError(name, .constraint, "must be one of: \(allowed)"))
            return defaultValue
        }
        return value
    }
}
