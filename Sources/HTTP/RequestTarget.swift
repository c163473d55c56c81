/// The request target (origin form, RFC 9112 §3.2.1) split into a percent-decoded path and query.
///
/// `%00` anywhere is refused rather than decoded: a NUL would truncate the path wherever it
/// reaches C, so `/namespaces/<id>%00x` must not be served as `<id>`. `+` stays a `+`.
struct RequestTarget {
    /// The most query parameters read; more are answered 400 (never dropped unanswered).
    static let maximumQueryItems = 256

    let path: String
    let query: [QueryItem]

    static func parse(_ target: UnsafeRawBufferPointer) -> Result<RequestTarget, HTTPError> {
        guard target.first == UInt8(ascii: "/") else {
            return .failure(.malformed("the request target must be a path starting with /"))
        }
        let questionMark = target.firstIndex(of: UInt8(ascii: "?"))
        guard let path = decode(UnsafeRawBufferPointer(rebasing: target[..<(questionMark ?? target.count)])) else {
            return .failure(.malformed("invalid percent-encoding in the path"))
        }
        var query: [QueryItem] = []
        if let questionMark {
            for item in target[(questionMark + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                guard query.count < maximumQueryItems else {
                    return .failure(.malformed("more than \(maximumQueryItems) query parameters"))
                }
                let bytes = UnsafeRawBufferPointer(rebasing: item)
                let equals = bytes.firstIndex(of: UInt8(ascii: "="))
                guard let name = decode(UnsafeRawBufferPointer(rebasing: bytes[..<(equals ?? bytes.count)])) else {
                    return .failure(.malformed("invalid percent-encoding in the query"))
                }
                var value: String?
                if let equals {
                    guard let decoded = decode(UnsafeRawBufferPointer(rebasing: bytes[(equals + 1)...])) else {
                        return .failure(.malformed("invalid percent-encoding in the query"))
                    }
                    value = decoded
                }
                query.append(QueryItem(name: name, value: value))
            }
        }
        return .success(RequestTarget(path: path, query: query))
    }

    /// Decodes `%HH` sequences; nil for a truncated or non-hex sequence, or `%00`.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "%") {
                decoded.append(byte)
                index += 1
                continue
            }
            guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                return nil
            }
            let value = high << 4 | low
            if value == 0 { return nil }
            decoded.append(value)
            index += 3
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
