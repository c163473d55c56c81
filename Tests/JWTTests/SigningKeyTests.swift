import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import JWT
import Testing

/// The signer checked against the openssl command line: its signatures verify, its `kid` is the
/// libtrust fingerprint computed independently, and a bad key file is refused without its content.
@Suite struct SigningKeyTests {
    /// A scratch directory with a fresh RSA key pair made by `openssl`.
    private struct KeyPair {
        let directory: String
        var key: String { directory + "/key.pem" }

        init(algorithm: [String] = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]) throws {
            directory = NSTemporaryDirectory() + "jwt-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try shell(["openssl", "genpkey"] + algorithm + ["-out", directory + "/key.pem"])
        }
    }

    /// Runs `arguments` (through `/usr/bin/env`) with `input` on its standard input, and returns its
    /// status and standard output. `posix_spawn` with files, not Foundation's `Process`, which
    /// crashed in `Process.run` beside the many threads of the other suites.
    @discardableResult
    private static func shell(_ arguments: [String], input: Data? = nil) throws -> (status: Int32, output: Data) {
        let scratch = NSTemporaryDirectory() + "jwt-shell-" + UUID().uuidString
        let inputPath = scratch + ".in", outputPath = scratch + ".out"
        _ = FileManager.default.createFile(atPath: inputPath, contents: input ?? Data())
        defer {
            try? FileManager.default.removeItem(atPath: inputPath)
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        guard spawned == 0 else { throw CocoaError(.executableLoad) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, FileManager.default.contents(atPath: outputPath) ?? Data())
    }

    private static func shell(_ arguments: [String]) throws {
        let (status, _) = try shell(arguments, input: nil)
        #expect(status == 0, "\(arguments.joined(separator: " ")) failed")
    }

    @Test func keyIDIsTheLibtrustFingerprintOpenSSLComputes() throws {
        let pair = try KeyPair()
        let key = try SigningKey(contentsOfFile: pair.key)
        let script = "openssl pkey -in \(pair.key) -pubout -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32 -w0"
        let expected = String(decoding: try Self.shell(["sh", "-c", script], input: nil).output, as: UTF8.self)
        #expect(expected.count == 48)
        let grouped = stride(from: 0, to: 48, by: 4).map { offset in
            String(expected.dropFirst(offset).prefix(4))
        }.joined(separator: ":")
        #expect(key.keyID == grouped)
    }

    @Test func signatureVerifiesWithOpenSSL() throws {
        let pair = try KeyPair()
        let key = try SigningKey(contentsOfFile: pair.key)
        let message = Array("header.claims".utf8)
        try Data(key.sign(message)).write(to: URL(fileURLWithPath: pair.directory + "/signature"))
        try Data(message).write(to: URL(fileURLWithPath: pair.directory + "/message"))
        try Self.shell(["openssl", "pkey", "-in", pair.key, "-pubout", "-out", pair.directory + "/public.pem"])
        let verify = ["openssl", "dgst", "-sha256", "-verify", pair.directory + "/public.pem",
                      "-signature", pair.directory + "/signature", pair.directory + "/message"]
        #expect(try Self.shell(verify, input: nil).status == 0)
        // A different message must not verify with that signature: the check can fail.
        try Data("header.claimz".utf8).write(to: URL(fileURLWithPath: pair.directory + "/message"))
        #expect(try Self.shell(verify, input: nil).status != 0)
    }

    @Test func tokenHasTheShapeTheRegistryExpects() throws {
        let pair = try KeyPair()
        let key = try SigningKey(contentsOfFile: pair.key)
        let token = RegistryToken(
            issuer: "registryd", subject: "org", audience: "rg.fr-par.scw.cloud", issuedAt: 1_700_000_000,
            access: [.init(type: "repository", name: "team-a/app", actions: ["pull", "push"])])
        let parts = try token.signed(with: key).split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        let headerBytes = try #require(Base64URL.decode(parts[0]))
        let header = try #require(try JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any])
        #expect(header["alg"] as? String == "RS256")
        #expect(header["kid"] as? String == key.keyID)
        let claimBytes = try #require(Base64URL.decode(parts[1]))
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any])
        #expect(claims["aud"] as? String == "rg.fr-par.scw.cloud")
        #expect(claims["exp"] as? Int == 1_700_000_300)
        let access = try #require(claims["access"] as? [[String: Any]])
        #expect(access.first?["name"] as? String == "team-a/app")
        #expect(access.first?["actions"] as? [String] == ["pull", "push"])
        #expect(!parts[2].contains("=") && !parts[2].contains("+") && !parts[2].contains("/"))
    }

    @Test func badKeyFilesAreRefusedWithoutTheirContent() throws {
        let pair = try KeyPair(algorithm: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        #expect(throws: SigningKeyError.notRSA(pair.key)) { try SigningKey(contentsOfFile: pair.key) }
        let secretText = "not-a-key-SECRET-MATERIAL"
        do {
            _ = try SigningKey(pem: Array(secretText.utf8), source: "inline")
            Issue.record("garbage accepted as a key")
        } catch {
            #expect(!error.description.contains("SECRET"))
        }
        #expect(throws: SigningKeyError.unreadable("/nonexistent/key.pem")) { try SigningKey(contentsOfFile: "/nonexistent/key.pem") }
    }

    @Test func base32MatchesRFC4648Vectors() {
        #expect(KeyFingerprint.base32(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(KeyFingerprint.base32(Array("f".utf8)) == "MY")
    }
}
