@testable import Registry
import Testing

/// Parsing of the registry's notification envelopes: what is kept, what is dropped, what is refused.
@Suite struct RegistryEventTests {
    @Test func manifestPushKeepsTagAndReferences() throws {
        let body = """
            {"events":[{"id":"e1","action":"push","target":{"mediaType":"application/vnd.oci.image.index.v1+json",
            "digest":"sha256:aa","repository":"ns/app","tag":"v1","references":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":400,"digest":"sha256:bb"},
            {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":10,"digest":"sha256:cc"}]},
            "request":{"id":"req-1","addr":"10.0.0.1"},"actor":{"name":"SCWKEY"}},
            {"id":"e2","action":"push","target":{"mediaType":"application/octet-stream","digest":"sha256:cc","repository":"ns/app"}},
            {"id":"e3","action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","repository":"ns/app"}},
            {"id":"e4","action":"delete","target":{"digest":"sha256:aa","repository":"ns/app"}},
            {"id":"e5","action":"delete","target":{"tag":"v1","repository":"ns/app"}}]}
            """
        let events = try RegistryEvent.parseEnvelope(Array(body.utf8))
        #expect(events.map(\.id) == ["e1", "e4", "e5"])
        guard case .pushManifest(let digest, _, let tag, let references) = events[0].change else {
            Issue.record("not a push")
            return
        }
        #expect(digest == "sha256:aa" && tag == "v1")
        #expect(events[0].actor == "SCWKEY" && events[0].requestID == "req-1")
        #expect(events[1].actor == nil && events[1].requestID == nil)
        #expect(references.map(\.isManifest) == [true, false])
        #expect(events[1].change == .deleteManifest(digest: "sha256:aa"))
        #expect(events[2].change == .deleteTag("v1"))
    }

    /// The actor and request id go into audit rows: a hostile registry (or envelope) cannot make
    /// them huge, and values of the wrong type are dropped, not refused with the event.
    @Test func actorAndRequestIDAreBoundedAndTyped() throws {
        let long = String(repeating: "k", count: 100_000)
        let body = """
            {"events":[{"id":"e1","action":"delete","target":{"digest":"sha256:aa","repository":"ns/app"},
            "request":{"id":"\(long)"},"actor":{"name":"\(long)"}},
            {"id":"e2","action":"delete","target":{"digest":"sha256:aa","repository":"ns/app"},
            "request":{"id":{"nested":true}},"actor":{"name":42}},
            {"id":"e3","action":"delete","target":{"digest":"sha256:aa","repository":"ns/app"},
            "request":"not an object","actor":[]}]}
            """
        let events = try RegistryEvent.parseEnvelope(Array(body.utf8))
        #expect(events.map(\.id) == ["e1", "e2", "e3"])
        #expect(events[0].actor?.count == 200 && events[0].requestID?.count == 200)
        #expect(events[1].actor == nil && events[1].requestID == nil)
        #expect(events[2].actor == nil && events[2].requestID == nil)
    }

    @Test func bodiesThatAreNotEnvelopesThrowAndBadEventsAreDropped() throws {
        for body in ["not json", "[]", "{\"events\":{}}", ""] {
            #expect(throws: (any Error).self) { try RegistryEvent.parseEnvelope(Array(body.utf8)) }
        }
        let odd = """
            {"events":[1,null,{"id":""},{"id":"x","action":"push","target":{"repository":"a/b","digest":"sha256:a",
            "mediaType":"application/vnd.oci.image.manifest.v1+json","references":[{"digest":"sha256:b","size":-1}]}}]}
            """
        let events = try RegistryEvent.parseEnvelope(Array(odd.utf8))
        #expect(events.count == 1)
        if case .pushManifest(_, _, _, let references) = events.first?.change { #expect(references.isEmpty) }
    }

    @Test func timestampsAreReadAsGoWritesThemAndNothingElse() {
        #expect(RegistryEvent.microsecondsSinceEpoch("1970-01-01T00:00:00Z") == 0)
        #expect(RegistryEvent.microsecondsSinceEpoch("2026-11-30T14:23:43.521514321Z") == 1_796_048_623_521_514)
        #expect(RegistryEvent.microsecondsSinceEpoch("2026-11-30T15:23:43.5+01:00") == 1_796_048_623_500_000)
        #expect(RegistryEvent.microsecondsSinceEpoch("2024-02-29T00:00:00Z") == 1_709_164_800_000_000)
        for bad in ["2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-30 14:23:43Z", "2026-11-30T14:23:43",
                    "2026-11-30T14:23:43.Z", "2026-11-30T24:00:00Z", "2026-11-30T14:23:43+1:00", "yesterday", ""] {
            #expect(RegistryEvent.microsecondsSinceEpoch(bad) == nil, "\(bad)")
        }
    }

    @Test func registryConfigQuotesEveryValue() {
        let file = RegistryConfigFile(region: "fr-par", listen: "127.0.0.1:5000", storageDirectory: "/data/\"x\"\nevil: 1",
                                      registrydURL: "http://127.0.0.1:8080/", service: "rg.fr-par.scw.cloud",
                                      certificatePath: "/etc/cert.pem", notifySecret: "s3cret-s3cret-s3cret")
        let yaml = file.yaml
        #expect(yaml.contains("rootdirectory: \"/data/\\\"x\\\"\\nevil: 1\""))
        #expect(yaml.contains("realm: \"http://127.0.0.1:8080/auth/v1/regions/fr-par/token\""))
        #expect(yaml.contains("Authorization: [\"Bearer s3cret-s3cret-s3cret\"]"))
        #expect(yaml.contains("includereferences: true") && yaml.contains("enabled: true"))
        #expect(!yaml.contains("blobdescriptor:"))
    }
}
