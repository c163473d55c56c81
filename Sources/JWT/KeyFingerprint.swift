import Digest

/// The key id the registry (docker/libtrust) gives a public key, so that it finds the certificate
/// that verifies a token by the token's `kid`.
public enum KeyFingerprint {
    /// SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32 without padding, in groups
    /// of four joined by `:` (`7L5Z:SDIW:…`, 12 groups).
    public static func libtrust(subjectPublicKeyInfo der: [UInt8]) -> String {
        let encoded = base32(Array(SHA256.hash(der).prefix(30)))
        var groups: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 4, limitedBy: encoded.endIndex) ?? encoded.endIndex
            groups.append(encoded[index..<end])
            index = end
        }
        return groups.joined(separator: ":")
    }

    /// RFC 4648 base32 (upper-case alphabet), without padding.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }
}
