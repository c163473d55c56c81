import HTTP
import Testing

@Suite struct RouterTests {
    private func router() -> Router {
        var router = Router()
        router.add("GET", "/things", { _ in Response(status: 200, body: Array("list".utf8)) })
        router.add("POST", "/things", { _ in Response(status: 200, body: Array("create".utf8)) })
        router.add("GET", "/things/{id}", { request in Response(status: 200, body: Array((request.pathParameter("id") ?? "").utf8)) })
        router.add("DELETE", "/things/{id}", { _ in Response(status: 200, body: []) })
        router.add("PUT", "/things/{id}", async: { request in
            try? await Task.sleep(for: .milliseconds(1))
            return Response(status: 200, body: Array("later \(request.pathParameter("id") ?? "")".utf8))
        })
        return router
    }

    /// What `router` answers `request` with, and the pattern that matched.
    private func answer(_ request: Request) async -> (response: Response, pattern: String?) {
        switch router().resolve(request) {
        case .respond(let response, let pattern): return (response, pattern)
        case .await(let pattern, let routed, let handler): return (await handler(routed), pattern)
        }
    }

    @Test func asynchronousHandlersAreResolvedToBeAwaited() async {
        let request = Request(method: "PUT", path: "/things/xyz")
        guard case .await(let pattern, let routed, let handler) = router().resolve(request) else {
            Issue.record("an asynchronous route resolved to an immediate answer")
            return
        }
        #expect(pattern == "/things/{id}")
        #expect(await handler(routed).body == Array("later xyz".utf8))
        #expect(await answer(request).response.body == Array("later xyz".utf8))
    }

    @Test func routesByMethodAndPathAndCapturesParameters() async {
        let outcome = await answer(Request(method: "GET", path: "/things/abc"))
        #expect(outcome.response.status == 200)
        #expect(outcome.response.body == Array("abc".utf8))
        #expect(outcome.pattern == "/things/{id}")
        #expect(await answer(Request(method: "POST", path: "/things")).response.body == Array("create".utf8))
    }

    @Test(arguments: ["/", "/thing", "/things/abc/more", "/things/", "//things", "/THINGS"])
    func unknownPathsAre404(path: String) async {
        let outcome = await answer(Request(method: "GET", path: path))
        #expect(outcome.response.status == 404)
        #expect(outcome.pattern == nil)
    }

    @Test func wrongMethodIs405WithTheAllowedOnes() async {
        let outcome = await answer(Request(method: "PATCH", path: "/things/abc"))
        #expect(outcome.response.status == 405)
        #expect(outcome.response.headers.first { $0.name == "Allow" }?.value == "DELETE, GET, PUT")
    }
}
