/// Statement parameters in PostgreSQL's text format, NUL-terminated, in one buffer.
///
/// Encoded once, when a statement is issued; the pointers libpq needs are made only for the call
/// that sends it, so they never outlive the buffer.
struct EncodedParameters: Sendable {
    private let storage: [UInt8]
    private let offsets: [Int?]

    /// How many parameters there are.
    var count: Int { offsets.count }

    /// Encodes `parameters`; `nil` is SQL NULL. A value holding a NUL byte cannot be sent as text.
    init(_ parameters: [(any PostgresParameter)?]) throws(PostgresError) {
        var storage: [UInt8] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else {
                offsets.append(nil)
                continue
            }
            let text = parameter.postgresText.utf8
            if text.contains(0) { throw .invalidParameter("parameter $\(index + 1) contains a NUL byte") }
            offsets.append(storage.count)
            storage.append(contentsOf: text)
            storage.append(0)
        }
        storage.append(0)
        self.storage = storage
        self.offsets = offsets
    }

    /// Calls `body` with one pointer per parameter (nil for NULL), valid for the call only.
    func withPointers<R>(_ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            return body(offsets.map { offset in offset.map { base + $0 } })
        }
    }
}
