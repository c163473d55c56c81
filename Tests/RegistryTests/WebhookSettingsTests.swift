@testable import Registry
import Testing

/// `WEBHOOK_URLS` parsing, the backoff's bounds and the signature's format, without a database.
@Suite struct WebhookSettingsTests {
    @Test func parsesNamedEndpointsAndRefusesBadOnes() throws {
        let parsed = try WebhookSettings.parseEndpoints("billing=https://billing.example/hooks, search-1=http://127.0.0.1:9000/x").get()
        #expect(parsed.map(\.name) == ["billing", "search-1"])
        #expect(parsed.map(\.url) == ["https://billing.example/hooks", "http://127.0.0.1:9000/x"])
        #expect(try WebhookSettings.parseEndpoints("").get().isEmpty)
        for bad in ["https://no-name.example", "Billing=https://a.example", "a=ftp://a.example", "a=https://", "a=https://x,a=https://y",
                    "=https://a.example", String(repeating: "n", count: 33) + "=https://a.example"] {
            guard case .failure = WebhookSettings.parseEndpoints(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
        }
        #expect(WebhookSettings.secretVariable(for: "search-1") == "WEBHOOK_SECRET_SEARCH_1")
    }

    @Test func backoffDoublesUpToTheCapWithJitter() {
        let backoff = RetryBackoff(base: .milliseconds(100), cap: .seconds(1))
        #expect(backoff.delay(afterFailures: 1, jitter: 0.999_999) == .milliseconds(100))
        #expect(backoff.delay(afterFailures: 1, jitter: 0) == .milliseconds(50))
        #expect(backoff.delay(afterFailures: 3, jitter: 0.999_999) == .milliseconds(400))
        #expect(backoff.delay(afterFailures: 5, jitter: 0.999_999) == .seconds(1))
        #expect(backoff.delay(afterFailures: 500, jitter: 0) == .milliseconds(500))
    }

    @Test func resourceIDsAreQuotedInArrayLiterals() {
        #expect(WebhookOutbox.textArray([]) == "{}")
        #expect(WebhookOutbox.textArray(["a", "b,c", #"d"e"#, #"f\g"#]) == #"{"a","b,c","d\"e","f\\g"}"#)
    }

    @Test func signatureIsStripeShaped() {
        let body = Array(#"{"id":"1"}"#.utf8)
        let value = WebhookSignature.value(secret: "0123456789abcdef", timestamp: 1_700_000_000, body: body)
        #expect(value.hasPrefix("t=1700000000,v1="))
        #expect(value.count == "t=1700000000,v1=".count + 64)
        #expect(value != WebhookSignature.value(secret: "0123456789abcdeX", timestamp: 1_700_000_000, body: body))
        #expect(value != WebhookSignature.value(secret: "0123456789abcdef", timestamp: 1_700_000_001, body: body))
    }
}
