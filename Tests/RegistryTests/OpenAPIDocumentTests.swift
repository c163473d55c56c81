import Foundation
import HTTP
@testable import Registry
import Testing
import TestSupport

/// The published OpenAPI document and the server's routes cannot drift apart.
@Suite struct OpenAPIDocumentTests {
    private func document(regions: [String] = ["fr-par", "nl-ams", "pl-waw"]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json(regions: regions).utf8)) as? [String: Any])
    }

    @Test func isOpenAPI31WithAnAPIKeyScheme() throws {
        let document = try document()
        #expect(document["openapi"] as? String == "3.1.0")
        let schemes = (document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        let apiKey = schemes?["ApiKey"] as? [String: Any]
        #expect(apiKey?["type"] as? String == "apiKey")
        #expect(apiKey?["name"] as? String == "X-Auth-Token")
    }

    @Test func documentedOperationsAreExactlyTheServersRoutes() throws {
        let service = try TestService()
        let routes = Set(service.router.routes.map { "\($0.method) \($0.pattern)" })
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]
        let documented = Set(paths.flatMap { path, item in
            item.keys.filter { methods.contains($0) }.map { "\($0.uppercased()) \(path)" }
        })
        #expect(documented == routes)
    }

    @Test func regionParameterEnumeratesTheConfiguredRegions() throws {
        let document = try document(regions: ["ams-1", "par-2"])
        let parameters = (document["components"] as? [String: Any])?["parameters"] as? [String: Any]
        let schema = (parameters?["Region"] as? [String: Any])?["schema"] as? [String: Any]
        #expect(schema?["enum"] as? [String] == ["ams-1", "par-2"])
    }

    @Test func isServedWithoutAToken() async throws {
        let service = try TestService()
        let response = try await TestClient(baseURL: service.baseURL).get(OpenAPIDocument.path)
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.json["openapi"] as? String == "3.1.0")
    }
}
