import CLinuxEvents
#if canImport(Glibc)
import Glibc
#endif

/// The listening socket every event loop accepts from.
///
/// One socket, bound without `SO_REUSEPORT`: a second process on the same port fails to start
/// (`EADDRINUSE`) instead of silently taking part of the traffic. `SO_REUSEADDR` only lets a
/// restart bind while old connections linger in TIME_WAIT; on Linux it never lets two sockets
/// listen on one port.
enum Listener {
    /// Binds `host:port` (empty host: every IPv4 address) and listens; returns the descriptor.
    static func open(host: String, port: UInt16, backlog: Int32 = 1024) throws(ServerError) -> Int32 {
        var address4 = sockaddr_in()
        var address6 = sockaddr_in6()
        let family: Int32
        if host.isEmpty || inet_pton(AF_INET, host, &address4.sin_addr) == 1 {
            family = AF_INET
            address4.sin_family = sa_family_t(AF_INET)
            address4.sin_port = port.bigEndian
            if host.isEmpty { address4.sin_addr.s_addr = INADDR_ANY }
        } else if inet_pton(AF_INET6, host, &address6.sin6_addr) == 1 {
            family = AF_INET6
            address6.sin6_family = sa_family_t(AF_INET6)
            address6.sin6_port = port.bigEndian
        } else {
            throw .startFailed(host: host, port: port, errno: EINVAL)
        }
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | CLinuxEvents_nonBlockingCloseOnExec(), 0)
        guard descriptor >= 0 else { throw .startFailed(host: host, port: port, errno: errno) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = family == AF_INET
            ? withUnsafePointer(to: &address4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            : withUnsafePointer(to: &address6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        guard bound == 0, listen(descriptor, backlog) == 0 else {
            let failure = errno
            close(descriptor)
            throw .startFailed(host: host, port: port, errno: failure)
        }
        return descriptor
    }

    /// The port `descriptor` is bound to (the kernel's choice when asked for port 0).
    static func port(of descriptor: Int32) -> UInt16 {
        var address = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let found = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard found == 0 else { return 0 }
        // sin_port and sin6_port sit at the same offset.
        return UInt16(bigEndian: address.sin6_port)
    }
}
