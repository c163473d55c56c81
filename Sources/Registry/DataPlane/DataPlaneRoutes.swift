import HTTP
import Log

/// Puts the data plane's two endpoints on a `Router`: the token service (public: every registry
/// client calls it) and the event receiver (for the registries only).
struct DataPlaneRoutes: Sendable {
    let tokens: TokenAPI
    let events: EventReceiverAPI
    let metrics: ServiceMetrics
    let logger: Logger

    func register(on router: inout Router) {
        router.add("GET", DataPlaneSettings.tokenPath, async: answered(tokens.token))
        // The registry's envelopes have their own bound, and one over it is answered by the
        // receiver (200, logged), never 413: see `DataPlaneSettings.maximumEnvelopeSize`.
        router.add("POST", DataPlaneSettings.eventsPath,
                   bodyLimit: BodyLimit(bytes: DataPlaneSettings.maximumEnvelopeSize, handlerAnswersOverLimit: true),
                   async: answered(events.receive))
    }

    private func answered(_ endpoint: @escaping @Sendable (Request) async throws -> Response) -> Router.AsyncHandler {
        { [metrics, logger] request in
            await RegistryRoutes.answer(request, metrics: metrics, logger: logger) { try await endpoint(request) }
        }
    }
}
