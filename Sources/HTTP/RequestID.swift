import Synchronization

/// Request ids: the caller's when it is a sane token, else a new random UUID.
public enum RequestID {
    /// The longest caller-supplied id kept.
    public static let maximumLength = 128

    /// The caller's `X-Request-Id` if it is 1 to 128 characters of `A-Z a-z 0-9 - _ . : / + = @`,
    /// else a new id. Anything else could inject into logs or headers, so it is replaced, not cleaned.
    public static func accept(_ callerValue: String?) -> String {
        if let callerValue, isSane(callerValue) { return callerValue }
        return generate()
    }

    /// Whether `value` may be used as a request id as it is.
    public static func isSane(_ value: String) -> Bool {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
                 UInt8(ascii: "/"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: "@"):
                true
            default:
                false
            }
        }
    }

    /// A new version 4 UUID, lowercase, unique within the process and unpredictable across processes.
    ///
    /// Not from the system's random source: that costs a `getrandom` system call per 64 bits,
    /// two per request. Instead a per-process random seed and an atomic counter go through
    /// SplitMix64, a bijection, so ids never repeat within a process (request ids need uniqueness,
    /// not secrecy).
    public static func generate() -> String {
        let count = counter.add(1, ordering: .relaxed).newValue
        var high = splitMix(seed.high &+ count)
        var low = splitMix(seed.low ^ count)
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            appendHex(high, dashesBefore: 8, 12, to: text, at: &position)
            appendHex(low, dashesBefore: 0, 4, to: text, at: &position)
            return position
        }
    }

    /// Writes the 16 hex digits of `word`, with a dash before the digits at the two given indexes.
    private static func appendHex(
        _ word: UInt64, dashesBefore first: Int, _ second: Int, to text: UnsafeMutableBufferPointer<UInt8>, at position: inout Int
    ) {
        let hexDigits: StaticString = "0123456789abcdef"
        for index in 0..<16 {
            if index == first || index == second {
                text[position] = UInt8(ascii: "-")
                position += 1
            }
            text[position] = hexDigits.utf8Start[Int((word >> UInt64(60 - index * 4)) & 0xF)]
            position += 1
        }
    }

    private static let seed: (high: UInt64, low: UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()

    private static let counter = Atomic<UInt64>(0)

    private static func splitMix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
