import CLibCrypto

/// HMAC-SHA256, computed by libcrypto, for signing webhook deliveries (`Registryd-Signature`).
///
/// libcrypto's one-shot `HMAC` rather than a hand-written construction: the design card forbids
/// writing a primitive libcrypto provides, and the key and message are short and already in hand.
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                code.withUnsafeMutableBufferPointer { output in
                    HMAC(EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                         messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                         output.baseAddress, &length)
                }
            }
        }
        // HMAC fails only without memory or with a broken OpenSSL installation.
        precondition(result != nil && length == 32, "libcrypto could not compute HMAC-SHA256")
        return code
    }

    /// The MAC as 64 lowercase hex digits, as webhook signatures carry it.
    public static func hexAuthenticationCode(key: [UInt8], message: [UInt8]) -> String {
        let hexDigits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in authenticationCode(key: key, message: message) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
