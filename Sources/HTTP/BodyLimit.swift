/// A route's own limit on request bodies, replacing the server's (`Server.Configuration.maximumBodySize`).
///
/// Most routes take small JSON bodies and the server's 64 KiB is their bound. A route whose
/// client cannot cope with a 413 declares its own: the registry's notification endpoint takes
/// envelopes far larger than an API body, and a non-2xx blocks the registry's queue forever, so
/// its over-limit bodies reach the handler (emptied, `Request.bodyExceededLimit` set) for it to
/// acknowledge and log instead of the server's 413.
public struct BodyLimit: Sendable, Equatable {
    /// The largest body kept, in bytes.
    public let bytes: Int
    /// What an over-limit body gets: the server's 413 (`false`), or the handler, with an empty
    /// body and `Request.bodyExceededLimit` set (`true`); the body is then read to its end and dropped.
    public let handlerAnswersOverLimit: Bool

    public init(bytes: Int, handlerAnswersOverLimit: Bool = false) {
        self.bytes = bytes
        self.handlerAnswersOverLimit = handlerAnswersOverLimit
    }
}
