import CLibCrypto

/// SHA-256, computed by libcrypto (OpenSSL 3), for migration checksums, API-key secret hashes,
/// request fingerprints and registry content digests.
///
/// The design card forbids hand-writing a primitive libcrypto provides; registryd links libcrypto
/// anyway (it signs registry tokens), so this is a thin value-typed front to `EVP_Digest`. The
/// message is gathered in `update` and hashed once in `finalize`: every caller hashes a short
/// message it already holds, and one `EVP_Digest` call needs no context to allocate and free.
public struct SHA256: Sendable {
    @usableFromInline var message: [UInt8] = []

    /// Creates a digest with nothing hashed yet.
    public init() {}

    /// Hashes `bytes` in one call.
    ///
    /// `@inlinable`, as `hexDigest` and `update`: every request hashes its API key (the cache is
    /// keyed by digest), and unspecialized, gathering a lazily lowercased key byte by byte through
    /// generic metadata cost 9% of the CPU of a GET.
    @inlinable
    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [UInt8] {
        var digest = SHA256()
        digest.update(bytes)
        return digest.finalize()
    }

    /// Hashes `bytes` and writes the digest as 64 lowercase hex digits.
    @inlinable
    public static func hexDigest<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digest = hash(bytes)
        let hexDigits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 64) { text in
            for (index, byte) in digest.enumerated() {
                text[index * 2] = hexDigits.utf8Start[Int(byte >> 4)]
                text[index * 2 + 1] = hexDigits.utf8Start[Int(byte & 0xF)]
            }
            return 64
        }
    }

    /// Adds `bytes` to the message.
    @inlinable
    public mutating func update<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        message.append(contentsOf: bytes)
    }

    /// Returns the 32-byte digest of everything added.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let succeeded = message.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        // EVP_Digest fails only without memory or with a broken OpenSSL installation.
        precondition(succeeded == 1 && length == 32, "libcrypto could not compute SHA-256")
        return digest
    }
}
