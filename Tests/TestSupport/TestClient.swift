import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a test request got back.
public struct TestResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    /// A header, by name in any case.
    public func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    /// The body parsed as a JSON object; `[:]` when it is not one.
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// An HTTP client over real sockets (URLSession), for the end-to-end tests.
public struct TestClient: Sendable {
    public let baseURL: String
    public let token: String?
    private let session: URLSession

    public init(baseURL: String, token: String? = nil) {
        self.baseURL = baseURL
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: configuration)
    }

    /// The same client with another token (`nil`: none).
    public func with(token: String?) -> TestClient {
        TestClient(baseURL: baseURL, token: token)
    }

    /// Sends a request; `body` is sent as it is, `json` is encoded.
    public func send(
        _ method: String, _ path: String, body: Data? = nil, json: [String: Any]? = nil, headers: [String: String] = [:]
    ) async throws -> TestResponse {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        if let token { request.setValue(token, forHTTPHeaderField: "X-Auth-Token") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
        } else if let body {
            request.httpBody = body
        }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headerFields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headerFields[String(describing: name)] = String(describing: value)
        }
        return TestResponse(status: http.statusCode, headers: headerFields, body: data)
    }

    public func get(_ path: String) async throws -> TestResponse { try await send("GET", path) }
    public func post(_ path: String, _ json: [String: Any]) async throws -> TestResponse { try await send("POST", path, json: json) }
    public func patch(_ path: String, _ json: [String: Any]) async throws -> TestResponse { try await send("PATCH", path, json: json) }
    public func delete(_ path: String) async throws -> TestResponse { try await send("DELETE", path) }
}
