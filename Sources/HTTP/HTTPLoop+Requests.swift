import CPicoHTTPParser
#if canImport(Glibc)
import Glibc
#endif

/// The life of one request on its loop: head, body, handler, answer.
extension HTTPLoop {
    /// Serves every complete request at the start of `connection.input`, one after another.
    func process(_ connection: HTTPConnection) {
        while !connection.isClosed {
            switch connection.phase {
            case .idle, .head:
                guard !connection.input.isEmpty else { return }
                if connection.phase == .idle { beginHead(connection) }
                guard parseHead(connection) else { return }
            case .body:
                guard let body = takeBody(connection) else { return }
                dispatch(connection, body: body)
            case .handling, .writing:
                return
            }
        }
    }

    private func beginHead(_ connection: HTTPConnection) {
        let now = ContinuousClock.now
        connection.phase = .head
        connection.phaseStartedAt = now
        connection.requestStartedAt = now
        connection.requestID = ""
        connection.deadline = now.advanced(by: context.configuration.headTimeout)
    }

    /// Parses the head if it is complete; false when more bytes are needed or it was refused.
    private func parseHead(_ connection: HTTPConnection) -> Bool {
        let maximum = context.configuration.maximumHeadSize
        let outcome = connection.input.withUnsafeBytes {
            RequestHead.parse($0, previousLength: connection.parsedHeadLength, maximumSize: maximum)
        }
        switch outcome {
        case .incomplete:
            connection.parsedHeadLength = connection.input.count
            return false
        case .invalid(let error):
            fail(connection, with: error)
            return false
        case .complete(let head, let length):
            connection.input.removeSubrange(0..<length)
            connection.head = head
            connection.requestID = head.request.id
            connection.keepsBody = head.request.method == "POST" || head.request.method == "PATCH" || head.request.method == "PUT"
            connection.bodyExceededLimit = false
            // Only requests that carry a body look for a route's own limit (one more route match).
            connection.bodyLimit = (connection.keepsBody ? context.router.bodyLimit(method: head.request.method, path: head.request.path) : nil)
                ?? BodyLimit(bytes: context.configuration.maximumBodySize)
            if case .length(let declared) = head.framing, connection.keepsBody, declared > connection.bodyLimit.bytes {
                if connection.bodyLimit.handlerAnswersOverLimit {
                    // Read to its end and dropped; the handler answers (see `BodyLimit`).
                    connection.keepsBody = false
                    connection.bodyExceededLimit = true
                } else {
                    // Refused before it is read, so the connection cannot be reused.
                    let error = HTTPError.bodyTooLarge(
                        method: head.request.method, path: head.request.path, limit: connection.bodyLimit.bytes)
                    fail(connection, with: error)
                    return false
                }
            }
            if case .length(let declared) = head.framing { connection.bodyRemaining = declared }
            if head.expectsContinue, head.framing != .length(0), connection.input.isEmpty {
                // The client waits for this before sending the body (curl does for bodies over 1 KiB).
                let interim = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                _ = interim.withUnsafeBytes { send(connection.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            connection.phase = .body
            connection.deadline = ContinuousClock.now.advanced(by: context.configuration.bodyTimeout)
            return true
        }
    }

    /// The body once it is all in (chunked bodies decoded); nil while more is needed or when refused.
    private func takeBody(_ connection: HTTPConnection) -> [UInt8]? {
        guard let head = connection.head else { return nil }
        let limit = connection.bodyLimit.bytes
        switch head.framing {
        case .length where !connection.keepsBody:
            // Read and dropped as it arrives (GET, DELETE ...), however long.
            let dropped = min(connection.bodyRemaining, connection.input.count)
            connection.input.removeSubrange(0..<dropped)
            connection.bodyRemaining -= dropped
            return connection.bodyRemaining == 0 ? [] : nil
        case .length(let length):
            guard connection.input.count >= length else { return nil }
            let body = Array(connection.input[0..<length])
            connection.input.removeSubrange(0..<length)
            return body
        case .chunked:
            let start = connection.decodedLength
            var size = connection.input.count - start
            let result = connection.input.withUnsafeMutableBytes { buffer in
                phr_decode_chunked(
                    &connection.chunkDecoder, buffer.baseAddress!.assumingMemoryBound(to: CChar.self) + start, &size)
            }
            connection.decodedLength = start + size
            if result == -1 {
                fail(connection, with: .malformed("invalid chunked body"))
                return nil
            }
            if connection.decodedLength > limit || connection.bodyExceededLimit {
                guard connection.bodyLimit.handlerAnswersOverLimit else {
                    fail(connection, with: .bodyTooLarge(method: head.request.method, path: head.request.path, limit: limit))
                    return nil
                }
                // Decoded and dropped as it arrives; the handler answers with an empty body.
                connection.bodyExceededLimit = true
                if result == -2 {
                    connection.input.removeAll()
                    connection.decodedLength = 0
                    return nil
                }
                let rest = connection.decodedLength..<(connection.decodedLength + Int(result))
                connection.input = Array(connection.input[rest])
                return []
            }
            if result == -2 {
                connection.input.removeSubrange(connection.decodedLength...)
                return nil
            }
            let body = Array(connection.input[0..<connection.decodedLength])
            let rest = connection.decodedLength..<(connection.decodedLength + Int(result))
            connection.input = Array(connection.input[rest])
            return body
        }
    }

    /// Routes a complete request: answers at once, or starts its asynchronous handler.
    private func dispatch(_ connection: HTTPConnection, body: [UInt8]) {
        guard var request = connection.head?.request else { return }
        if connection.keepsBody { request.body = body }
        request.bodyExceededLimit = connection.bodyExceededLimit
        connection.phase = .handling
        context.inFlight.add(1, ordering: .relaxed)
        switch context.router.resolve(request) {
        case .respond(let response, let pattern):
            connection.route = pattern
            respond(connection, with: response)
        case .await(let pattern, let routed, let handler):
            connection.route = pattern
            // Runs here until its first wait, and on this loop after each (the loop is its executor).
            Task.immediate(executorPreference: loop) { [self] in
                let response = await handler(routed)
                deliver(response, to: connection)
            }
        }
    }

    /// Answers an invalid or late request with its JSON error and closes the connection after.
    func fail(_ connection: HTTPConnection, with error: HTTPError) {
        if connection.requestID.isEmpty { connection.requestID = RequestID.generate() }
        connection.phase = .handling
        connection.closesAfterWrite = true
        context.inFlight.add(1, ordering: .relaxed)
        respond(connection, with: error.response)
    }

    /// Writes the answer to the request in `.handling`.
    func respond(_ connection: HTTPConnection, with answer: Response) {
        var response = answer
        if !(100...599).contains(response.status) {
            context.logger.error("handler answered an impossible status", ["status": .int(response.status)])
            response = .json(status: 500, capacity: 64) { json in
                json.beginObject()
                json.field("message", "internal error")
                json.field("type", "internal_error")
                json.endObject()
            }
        }
        let head = connection.head
        let closing = connection.closesAfterWrite || !(head?.keepAlive ?? false)
            || context.isDraining.load(ordering: .relaxed)
        connection.closesAfterWrite = closing
        connection.status = response.status
        connection.output = ResponseEncoder.encode(
            response, requestID: connection.requestID, closing: closing, includeBody: head?.request.method != "HEAD")
        connection.outputOffset = 0
        connection.phase = .writing
        connection.deadline = ContinuousClock.now.advanced(by: context.configuration.idleTimeout)
        flush(connection)
    }

    /// Writes what the socket takes; once all is out, the request is done.
    func flush(_ connection: HTTPConnection) {
        guard connection.phase == .writing, !connection.isClosed else { return }
        while connection.outputOffset < connection.output.count {
            let sent = connection.output.withUnsafeBytes { buffer in
                send(connection.descriptor, buffer.baseAddress! + connection.outputOffset,
                     buffer.count - connection.outputOffset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                connection.outputOffset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return  // EPOLLOUT (edge-triggered) calls again
            } else {
                close(connection, abandoning: true)
                return
            }
        }
        context.inFlight.subtract(1, ordering: .relaxed)
        context.record(connection, status: connection.status)
        if connection.closesAfterWrite {
            close(connection, abandoning: false)
        } else {
            connection.resetForNextRequest(now: ContinuousClock.now, idleTimeout: context.configuration.idleTimeout)
        }
    }
}
