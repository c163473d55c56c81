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

    /// Writes an integer, its digits straight into the buffer (no intermediate String).
    public mutating func int<T: BinaryInteger>(_ value: T) {
        separate()
        if let small = Int64(exactly: value) {
            appendDecimal(small)
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
        needsComma = true
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

    /// Writes `name` followed by the string `prefix + separator + suffix`, without building that
    /// String (a namespace's `endpoint` is its registry host, `/` and its name).
    public mutating func field(_ name: StaticString, _ prefix: String, _ separator: StaticString, _ suffix: String) {
        literalKey(name)
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(prefix)
        separator.withUTF8Buffer { bytes.append(contentsOf: $0) }  // a literal of the caller's: not escaped
        appendEscaped(suffix)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Writes `name` followed by a UUID's 16 bytes in the canonical lowercase form
    /// (`77e91a59-aa35-4d6d-ae0f-ccf15ac80639`), without an intermediate String: a listing of 100
    /// namespaces writes 300 of them.
    public mutating func field(
        _ name: StaticString,
        uuid: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
    ) {
        literalKey(name)
        bytes.append(UInt8(ascii: "\""))
        withUnsafeBytes(of: uuid) { raw in
            for (index, byte) in raw.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { bytes.append(UInt8(ascii: "-")) }
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
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
        appendEscaped(value)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `value` escaped, copying each run of bytes that need no escape in one piece: the
    /// per-byte append (a uniqueness and capacity check each) was the writer's largest cost in
    /// the profile of a 100-namespace listing.
    private mutating func appendEscaped(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                appendEscape(byte)
                runStart = index + 1
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
    }

    private mutating func appendEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        default:
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 0x0F)])
        }
    }

    /// Appends `value` in decimal.
    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits at most, written backwards then copied
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position...]))
        }
    }
}
