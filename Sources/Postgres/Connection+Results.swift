import CLibPQ

extension Connection {
    /// The next result of what was sent, waiting for the server at most until `deadline` (nil: no
    /// limit); nil once the statement's results are all read (in pipeline mode: the current one's).
    ///
    /// The non-blocking loop libpq documents: flush what is still unsent, and while libpq is busy
    /// (`PQisBusy`), `poll` the socket and `PQconsumeInput`; `PQgetResult` then never blocks. On the
    /// deadline the connection is given up (`markBroken`) and `timedOut` thrown (answered 503).
    func nextResult(until deadline: ContinuousClock.Instant?) throws(PostgresError) -> OpaquePointer? {
        while true {
            if let brokenReason { throw .queryFailed(sqlState: nil, detail: "connection given up earlier: \(brokenReason)") }
            let flushed = PQflush(handle)  // 0: all sent, 1: more to send, -1: failed
            guard flushed >= 0 else { throw lost("sending to the server") }
            if flushed == 0 && PQisBusy(handle) == 0 { return PQgetResult(handle) }
            let descriptor = PQsocket(handle)
            guard descriptor >= 0 else { throw lost("no socket") }
            guard let ready = SocketWait.wait(for: descriptor, readable: true, writable: flushed == 1, until: deadline) else {
                let waited = responseTimeout.map { "\($0)" } ?? "its deadline"
                markBroken("the server did not answer within \(waited)")
                throw .timedOut("the database did not answer within \(waited); connection discarded")
            }
            if ready.readable && PQconsumeInput(handle) != 1 { throw lost("reading from the server") }
        }
    }

    private func lost(_ doing: String) -> PostgresError {
        let message = Self.trimmed(PQerrorMessage(handle))
        markBroken("\(doing): \(message)")
        return .queryFailed(sqlState: nil, detail: "\(doing): \(message)")
    }
}
