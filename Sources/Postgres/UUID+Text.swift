import FoundationEssentials

// UUID text without Foundation's formatter: `uuidString` is upper-case and goes through
// snprintf, and `UUID(uuidString:)` through sscanf; both showed in the request path's profile.

extension UUID {
    /// The canonical lowercase form (`77e91a59-aa35-4d6d-ae0f-ccf15ac80639`), as the API writes
    /// ids and as parameters are sent to PostgreSQL.
    public var lowercasedString: String {
        let hexDigits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = hexDigits.utf8Start[Int(byte >> 4)]
                    text[position + 1] = hexDigits.utf8Start[Int(byte & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }

    /// Parses the canonical 8-4-4-4-12 hexadecimal form, in either case; nil for anything else.
    public init?(canonical text: String) {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed: Bool = withUnsafeMutableBytes(of: &bytes) { output in
            var utf8 = text.utf8.makeIterator()
            var count = 0
            var byteIndex = 0
            while let high = utf8.next() {
                if count == 8 || count == 13 || count == 18 || count == 23 {
                    guard high == UInt8(ascii: "-") else { return false }
                    count += 1
                    continue
                }
                guard let low = utf8.next(), let highValue = Self.hexValue(high), let lowValue = Self.hexValue(low),
                      byteIndex < 16 else { return false }
                output[byteIndex] = highValue << 4 | lowValue
                byteIndex += 1
                count += 2
            }
            return count == 36 && byteIndex == 16
        }
        guard parsed else { return nil }
        self.init(uuid: bytes)
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
