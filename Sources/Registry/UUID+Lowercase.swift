import Foundation

extension UUID {
    /// The canonical lowercase form (`77e91a59-aa35-4d6d-ae0f-ccf15ac80639`) the API writes;
    /// Foundation's `uuidString` is upper-case.
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
        guard text.utf8.count == 36 else { return nil }
        self.init(uuidString: text)
    }
}
