import CLibCrypto
import Digest
import FoundationEssentials

/// An RSA private key that signs registry tokens with RS256 (PKCS#1 v1.5 over SHA-256).
///
/// The key is read once from a PEM file and held by libcrypto; nothing here ever renders the key
/// itself, so neither logs nor errors can carry it. `keyID` is the libtrust fingerprint the
/// registry finds the verifying certificate by. Signing takes a context of its own per call, so
/// one key signs on many threads at once (an `EVP_PKEY` is read-only once loaded).
public final class SigningKey: @unchecked Sendable {
    private let key: OpaquePointer
    /// The `kid` of the tokens this key signs: the libtrust fingerprint of its public key.
    public let keyID: String

    /// Loads the PEM private key at `path`; throws a `SigningKeyError` that names the file, never its content.
    public convenience init(contentsOfFile path: String) throws(SigningKeyError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        try self.init(pem: [UInt8](data), source: path)
    }

    /// Loads a PEM private key held in memory; `source` names it in errors.
    public init(pem: [UInt8], source: String = "key") throws(SigningKeyError) {
        let loaded: OpaquePointer? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        ERR_clear_error()
        guard let loaded else { throw .notAPrivateKey(source) }
        guard EVP_PKEY_get_base_id(loaded) == EVP_PKEY_RSA else {
            EVP_PKEY_free(loaded)
            throw .notRSA(source)
        }
        guard let publicKey = Self.subjectPublicKeyInfo(loaded) else {
            EVP_PKEY_free(loaded)
            throw .notAPrivateKey(source)
        }
        key = loaded
        keyID = KeyFingerprint.libtrust(subjectPublicKeyInfo: publicKey)
    }

    deinit { EVP_PKEY_free(key) }

    /// The RS256 signature of `message`.
    public func sign(_ message: [UInt8]) throws(SigningKeyError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw .signingFailed }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            ERR_clear_error()
            throw .signingFailed
        }
        var length = 0
        let signed: Bool = message.withUnsafeBufferPointer { input in
            guard EVP_DigestSign(context, nil, &length, input.baseAddress, input.count) == 1 else { return false }
            return true
        }
        guard signed else {
            ERR_clear_error()
            throw .signingFailed
        }
        var signature = [UInt8](repeating: 0, count: length)
        let done: Bool = message.withUnsafeBufferPointer { input in
            signature.withUnsafeMutableBufferPointer { output in
                EVP_DigestSign(context, output.baseAddress, &length, input.baseAddress, input.count) == 1
            }
        }
        guard done else {
            ERR_clear_error()
            throw .signingFailed
        }
        return Array(signature.prefix(length))
    }

    /// The DER SubjectPublicKeyInfo of `key`'s public half.
    private static func subjectPublicKeyInfo(_ key: OpaquePointer) -> [UInt8]? {
        let length = i2d_PUBKEY(key, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_PUBKEY(key, &cursor)
        }
        return written == length ? der : nil
    }
}

/// Why a signing key could not be loaded or used; says which file, never what it holds.
public struct SigningKeyError: Error, CustomStringConvertible, Equatable {
    private enum Code: Equatable { case unreadable, notAPrivateKey, notRSA, signingFailed }
    private let code: Code
    private let source: String

    static func unreadable(_ path: String) -> Self { Self(code: .unreadable, source: path) }
    static func notAPrivateKey(_ path: String) -> Self { Self(code: .notAPrivateKey, source: path) }
    static func notRSA(_ path: String) -> Self { Self(code: .notRSA, source: path) }
    static let signingFailed = Self(code: .signingFailed, source: "")

    public var description: String {
        switch code {
        case .unreadable: "\(source) cannot be read"
        case .notAPrivateKey: "\(source) holds no PEM private key"
        case .notRSA: "\(source) is not an RSA key (tokens are signed RS256)"
        case .signingFailed: "signing failed"
        }
    }
}
