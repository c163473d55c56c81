/// Builds compact JSON text straight into bytes, in the order the caller writes it.
///
/// Foundation's `JSONEncoder` sorts nothing we need sorted, allocates per value and was the
/// largest cost of rendering a namespace; this writer appends to one buffer. Callers are
/// responsible for well-formedness (`key` inside objects only), which the tests of every
/// renderer check by parsing the output back.
public struct JSONWriter: Sendable {
    /// The JSON text written so far, UTF-8 encoded.
    public private(set) var bytes: [UInt8]
    private var needsComma = false

    /// Creates an empty writer with room for `capacity` bytes before it grows.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: - Containers

    /// Opens an object: `{`.
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Closes the innermost object: `}`.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Opens an array: `[`.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Closes the innermost array: `]`.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes an object key; the next call writes its value.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: - Values

    /// Writes a string value, escaped as RFC 8259 requires.
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }

    /// Writes an integer.
    public mutating func int<T: BinaryInteger>(_ value: T) {
        raw(String(value))
    }

    /// Writes `null`.
    public mutating func null() {
        raw("null")
    }

    /// Writes `text` as it is: it must already be one valid JSON value.
    public mutating func raw(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    /// Writes `name` followed by a string value.
    public mutating func field(_ name: StaticString, _ value: String) {
        literalKey(name)
        string(value)
    }

    /// Writes `name` followed by a boolean value.
    public mutating func field(_ name: StaticString, _ value: Bool) {
        literalKey(name)
        bool(value)
    }

    /// Writes `name` followed by an integer value.
    public mutating func field<T: BinaryInteger>(_ name: StaticString, _ value: T) {
        literalKey(name)
        int(value)
    }

    /// Writes `name` followed by an RFC 3339 timestamp (see `RFC3339`), without an intermediate String.
    public mutating func field(_ name: StaticString, timestamp microsecondsSinceEpoch: Int64) {
        literalKey(name)
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(microsecondsSinceEpoch: microsecondsSinceEpoch, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    // MARK: - Private

    /// A key written as it is: field names are ASCII identifiers in the source, never user data,
    /// so they need no escaping and no scan.
    private mutating func literalKey(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
