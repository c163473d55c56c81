import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket on 127.0.0.1 (`port` 0: any free one), for the tests' own small
/// servers; answers the socket and the port it got. `SO_REUSEADDR`, so that a server stopped and
/// started again on its port (a receiver that goes down and comes back) can bind at once.
public func listenOnLoopback(port: UInt16 = 0, backlog: Int32) throws -> (descriptor: Int32, port: UInt16) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
    var yes: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound, listen(descriptor, backlog) == 0 else {
        close(descriptor)
        throw TestFailure("cannot listen on 127.0.0.1:\(port): errno \(errno)")
    }
    return (descriptor, UInt16(bigEndian: address.sin_port))
}
