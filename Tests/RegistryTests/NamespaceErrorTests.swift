import Foundation
import Testing
import TestSupport

/// Every error of the contract, with its status and body shape.
@Suite struct NamespaceErrorTests {
    let service: TestService
    let client: TestClient
    let path = "/registry/v1/regions/fr-par/namespaces"

    init() throws {
        service = try TestService()
        client = try service.client()
    }

    /// The single `details` entry of an `invalid_arguments` answer.
    private func invalidArgument(_ response: TestResponse) -> (name: String?, reason: String?) {
        let details = response.json["details"] as? [[String: Any]] ?? []
        return (details.first?["argument_name"] as? String, details.first?["reason"] as? String)
    }

    private func expectInvalid(_ response: TestResponse, _ name: String, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == 400, sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.json["type"] as? String == "invalid_arguments", sourceLocation: sourceLocation)
        #expect(response.json["message"] as? String == "invalid argument(s)", sourceLocation: sourceLocation)
        let details = response.json["details"] as? [[String: Any]] ?? []
        #expect(details.contains { $0["argument_name"] as? String == name && $0["reason"] as? String == reason
            && !($0["help_message"] as? String ?? "").isEmpty }, "\(response.text)", sourceLocation: sourceLocation)
    }

    // MARK: - Create

    @Test(arguments: [
        ("abc", "constraint"), (String(repeating: "a", count: 55), "constraint"), ("UPPER-case", "format"),
        ("-leading", "format"), ("trailing-", "format"), ("double--hyphen", "format"), ("has_underscore", "format"),
        ("has space", "format"), ("ünïcode", "format"), ("", "required"),
    ])
    func badNamesAreRefused(name: String, reason: String) async throws {
        expectInvalid(try await client.post(path, ["name": name]), "name", reason)
    }

    @Test(arguments: ["abcd", String(repeating: "a", count: 54), "a-b-c-d", "0123", "ns-admiring-wozniak"])
    func goodNamesAreAccepted(name: String) async throws {
        #expect(try await client.post(path, ["name": name]).status == 200)
    }

    @Test func missingNameIsRequired() async throws {
        expectInvalid(try await client.post(path, ["description": "no name"]), "name", "required")
        expectInvalid(try await client.send("POST", path), "name", "required")
    }

    @Test func descriptionLongerThan255CharactersIsRefused() async throws {
        expectInvalid(try await client.post(path, ["name": "long-desc", "description": String(repeating: "é", count: 256)]),
                      "description", "constraint")
        #expect(try await client.post(path, ["name": "long-desc", "description": String(repeating: "é", count: 255)]).status == 200)
    }

    @Test func nulInDescriptionIsRefused() async throws {
        expectInvalid(try await client.post(path, ["name": "nul-desc", "description": "a\u{0}b"]), "description", "format")
    }

    @Test func wrongJSONTypesNameTheirField() async throws {
        expectInvalid(try await client.post(path, ["name": 12]), "name", "format")
        expectInvalid(try await client.post(path, ["name": "typed", "is_public": "yes"]), "is_public", "format")
        expectInvalid(try await client.post(path, ["name": "typed", "is_public": 1]), "is_public", "format")
        expectInvalid(try await client.post(path, ["name": "typed", "description": ["a"]]), "description", "format")
        expectInvalid(try await client.post(path, ["name": "typed", "project_id": "not-a-uuid"]), "project_id", "format")
        expectInvalid(try await client.post(path, ["name": "typed", "organization_id": 5]), "organization_id", "format")
    }

    @Test func everyBadFieldIsListed() async throws {
        let response = try await client.post(path, ["name": "X", "is_public": "no", "description": 3])
        let names = Set((response.json["details"] as? [[String: Any]] ?? []).compactMap { $0["argument_name"] as? String })
        #expect(names == ["name", "is_public", "description"])
    }

    @Test func nullFieldsCountAsAbsent() async throws {
        let response = try await client.send("POST", path, body: Data(#"{"name":"null-fields","description":null,"is_public":null,"project_id":null}"#.utf8))
        #expect(response.status == 200)
        #expect(response.json["description"] as? String == "")
    }

    @Test func unknownFieldsAreIgnored() async throws {
        let body = #"{"name":"unknown-fields","colour":"blue","nested":{"deep":[1,2,{"x":null}]},"huge":1e99999}"#
        #expect(try await client.send("POST", path, body: Data(body.utf8)).status == 200)
    }

    @Test(arguments: [
        "{", "{\"name\":", "{\"name\":\"abcd\",}", "[]", "\"abcd\"", "nul", "{\"name\":\"abcd\"} trailing",
        "{\"name\":\"abcd\",\"name\":\"efgh\"}", "{'name':'abcd'}", " ", "\n\t ",
    ])
    func malformedJSONIsRefused(body: String) async throws {
        expectInvalid(try await client.send("POST", path, body: Data(body.utf8)), "body", "format")
    }

    @Test func invalidUTF8IsRefused() async throws {
        let body = Data([0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D])
        expectInvalid(try await client.send("POST", path, body: body), "body", "format")
    }

    @Test func deepNestingIsRefusedNotCrashed() async throws {
        let body = Data(("{\"name\":\"deep-ns\",\"x\":" + String(repeating: "[", count: 50_000)).utf8)
        expectInvalid(try await client.send("POST", path, body: body), "body", "format")
        #expect(try await client.get(path).status == 200)
    }

    @Test func bothProjectAndOrganizationAreRefused() async throws {
        let response = try await client.post(path, ["name": "both-ids", "project_id": UUID().uuidString, "organization_id": UUID().uuidString])
        expectInvalid(response, "project_id", "constraint")
    }

    @Test func bodyOver64KiBIs413() async throws {
        let padding = String(repeating: "x", count: 70_000)
        let response = try await client.send("POST", path, body: Data("{\"name\":\"big-body\",\"pad\":\"\(padding)\"}".utf8))
        #expect(response.status == 413)
        #expect(response.header("Content-Type") == "application/json")
        #expect(!(response.json["message"] as? String ?? "").isEmpty)
        let justUnder = String(repeating: "x", count: 65_000)
        #expect(try await client.send("POST", path, body: Data("{\"name\":\"big-body\",\"pad\":\"\(justUnder)\"}".utf8)).status == 200)
    }

    // MARK: - Paths and regions

    @Test func unknownRegionIsRefused() async throws {
        expectInvalid(try await client.get("/registry/v1/regions/us-east/namespaces"), "region", "constraint")
        expectInvalid(try await client.post("/registry/v1/regions/FR-PAR/namespaces", ["name": "abcd"]), "region", "constraint")
        expectInvalid(try await client.get("/registry/v1/regions/\(String(repeating: "r", count: 4_000))/namespaces"), "region", "constraint")
    }

    @Test func malformedNamespaceIDIsAFormatError() async throws {
        for method in ["GET", "PATCH", "DELETE"] {
            expectInvalid(try await client.send(method, "\(path)/not-a-uuid"), "namespace_id", "format")
        }
    }

    @Test func unknownNamespaceIsNotFound() async throws {
        let id = UUID().uuidString.lowercased()
        for method in ["GET", "DELETE"] {
            let response = try await client.send(method, "\(path)/\(id)")
            #expect(response.status == 404)
            #expect(response.json["type"] as? String == "not_found")
            #expect(response.json["resource"] as? String == "namespace")
            #expect(response.json["resource_id"] as? String == id)
            #expect(response.json["message"] as? String == "resource is not found")
        }
        #expect(try await client.patch("\(path)/\(id)", ["description": "x"]).status == 404)
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() async throws {
        let unknown = try await client.get("/registry/v1/nothing-here")
        #expect(unknown.status == 404)
        #expect(unknown.header("Content-Type") == "application/json")
        #expect(!(unknown.json["message"] as? String ?? "").isEmpty)

        let wrongMethod = try await client.send("PUT", path)
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "GET, POST")
        #expect(wrongMethod.header("Content-Type") == "application/json")
        let wrongItemMethod = try await client.send("POST", "\(path)/\(UUID().uuidString)")
        #expect(wrongItemMethod.header("Allow") == "DELETE, GET, PATCH")
    }

    @Test func patchRefusesBadTypesAndLongDescriptions() async throws {
        let id = try #require(try await client.post(path, ["name": "patch-errors"]).json["id"] as? String)
        expectInvalid(try await client.patch("\(path)/\(id)", ["is_public": "true"]), "is_public", "format")
        expectInvalid(try await client.patch("\(path)/\(id)", ["description": String(repeating: "d", count: 256)]), "description", "constraint")
        expectInvalid(try await client.send("PATCH", "\(path)/\(id)", body: Data("{oops".utf8)), "body", "format")
    }

    // MARK: - Request bodies that must be ignored

    @Test func bodiesOfGetAndDeleteAreIgnored() async throws {
        let token = try #require(client.token)
        for body in ["{}", "not json at all"] {
            let id = try #require(try await client.post(path, ["name": "ignore-body-\(body.count)"]).json["id"] as? String)
            for (method, target) in [("GET", "\(path)/\(id)"), ("GET", path), ("DELETE", "\(path)/\(id)")] {
                let answer = try await service.raw(
                    "\(method) \(target) HTTP/1.1\r\nHost: test\r\nX-Auth-Token: \(token)\r\nConnection: close\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                #expect(RawHTTPConnection.statusCode(of: answer) == 200, "\(method) \(target) with body \(body): \(answer)")
            }
        }
    }
}
