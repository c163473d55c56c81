#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where a `Logger` writes its lines: standard error, or a memory buffer that tests read.
public final class LogSink: Sendable {
    private enum Target {
        case fileDescriptor(Int32)
        case memory
    }

    private let target: Target
    private let captured = Mutex<[String]>([])

    private init(target: Target) {
        self.target = target
    }

    /// Standard error, the service's log stream.
    public static let standardError = LogSink(target: .fileDescriptor(2))

    /// A sink that keeps lines in memory; read them with `lines`.
    public static func memory() -> LogSink { LogSink(target: .memory) }

    /// The lines written so far to a memory sink (empty for a file sink).
    public var lines: [String] { captured.withLock { $0 } }

    func write(_ line: [UInt8]) {
        switch target {
        case .fileDescriptor(let descriptor):
            line.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 {
                        if written < 0 && errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        case .memory:
            let text = String(decoding: line.dropLast(), as: UTF8.self)
            captured.withLock { $0.append(text) }
        }
    }
}
