#if canImport(Glibc)
import Glibc
#endif

/// Why the server could not start.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case startFailed(host: String, port: UInt16, errno: Int32)
    }

    private let code: Code

    /// The listening socket could not be opened: the address is in use, not local, or not numeric.
    static func startFailed(host: String, port: UInt16, errno: Int32) -> ServerError {
        ServerError(code: .startFailed(host: host, port: port, errno: errno))
    }

    public var description: String {
        switch code {
        case .startFailed(let host, let port, let number):
            let address = host.isEmpty ? "*:\(port)" : "\(host):\(port)"
            let reason = number == 0 ? "unknown error" : String(cString: strerror(number))
            let hint = number == EADDRINUSE ? " (another process, perhaps another registryd, listens there)" : ""
            return "cannot listen on \(address): \(reason)\(hint)"
        }
    }
}
