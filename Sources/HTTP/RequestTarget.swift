/// The request target (origin form, RFC 9112 §3.2.1) split into a percent-decoded path and query.
///
/// `%00` anywhere is refused rather than decoded: a NUL would truncate the path wherever it
/// reaches C, so `/namespaces/<id>%00x` must not be served as `<id>`. In the query, `+` is a space
/// (the form encoding Go's `url.Values`, Python's `urlencode` and so registry clients send: a
/// token request's `scope=a:b:pull+c:d:pull` holds two scopes); in the path it stays a `+`.
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
                    return .failure(.invalidQuery(argument: "query", reason: "more than \(maximumQueryItems) query parameters"))
                }
                let bytes = UnsafeRawBufferPointer(rebasing: item)
                let equals = bytes.firstIndex(of: UInt8(ascii: "="))
                guard let name = decode(UnsafeRawBufferPointer(rebasing: bytes[..<(equals ?? bytes.count)]), plusIsSpace: true) else {
                    return .failure(.invalidQuery(argument: "query", reason: "a parameter name has an invalid or NUL (%00) percent-encoding"))
                }
                var value: String?
                if let equals {
                    guard let decoded = decode(UnsafeRawBufferPointer(rebasing: bytes[(equals + 1)...]), plusIsSpace: true) else {
                        return .failure(.invalidQuery(argument: name, reason: "invalid or NUL (%00) percent-encoding"))
                    }
                    value = decoded
                }
                query.append(QueryItem(name: name, value: value))
            }
        }
        return .success(RequestTarget(path: path, query: query))
    }

    /// Decodes `%HH` sequences (and `+` as a space when `plusIsSpace`); nil for a truncated or
    /// non-hex sequence, or `%00`.
    static func decode(_ bytes: UnsafeRawBufferPointer, plusIsSpace: Bool = false) -> String? {
        guard bytes.contains(UInt8(ascii: "%")) || (plusIsSpace && bytes.contains(UInt8(ascii: "+"))) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "%") {
                decoded.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
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
