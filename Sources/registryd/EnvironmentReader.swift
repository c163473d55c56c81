import FoundationEssentials
import JSON
import HTTP
import Registry

/// Reads typed values out of the environment, falling back to `Configuration.variables` defaults.
struct EnvironmentReader {
    let environment: [String: String]

    /// The variable's value, or its default; an empty value counts as unset.
    func value(_ name: String) -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        return Configuration.variables.first { $0.name == name }?.defaultValue
    }

    func string(_ name: String) throws(ConfigurationError) -> String {
        guard let value = value(name) else { throw ConfigurationError(variable: name, problem: "is required") }
        return value
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        let text = try string(name)
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError(variable: name, problem: "must be an integer from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return number
    }

    func regions(_ name: String) throws(ConfigurationError) -> [String] {
        let regions = try string(name).split(separator: ",").map { $0.trimmingSpacesAndTabs() }.filter { !$0.isEmpty }
        guard !regions.isEmpty else { throw ConfigurationError(variable: name, problem: "must name at least one region") }
        for region in regions where !region.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) {
            throw ConfigurationError(variable: name, problem: "has \"\(region)\"; a region is lowercase letters, digits and hyphens (fr-par)")
        }
        guard Set(regions).count == regions.count else {
            throw ConfigurationError(variable: name, problem: "lists a region twice")
        }
        return regions
    }
}
