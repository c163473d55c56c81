#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where a `Logger` writes its lines: standard error (or another descriptor) through a bounded
/// buffer and a thread of its own, or a memory buffer that tests read.
///
/// Writing a line never waits for whoever reads the descriptor: a reader that stops reading
/// costs the lines that no longer fit in the buffer (counted, see `droppedLines`), never a
/// request. Repeated warnings and errors are folded into one line per kind per second (see
/// `LogAggregator`).
public final class LogSink: Sendable {
    /// Bytes of lines that may wait for the reader before lines are dropped.
    public static let defaultCapacity = 4 << 20

    private enum Target: Sendable {
        case buffer(LogBuffer)
        case memory
    }

    private let target: Target
    private let captured = Mutex<[String]>([])
    let aggregator: LogAggregator

    private init(target: Target, aggregator: LogAggregator) {
        self.target = target
        self.aggregator = aggregator
    }

    /// Standard error, the service's log stream.
    public static let standardError = LogSink.fileDescriptor(2)

    /// A sink writing to `descriptor` through a buffer of `capacity` bytes (tests pass a pipe).
    public static func fileDescriptor(_ descriptor: Int32, capacity: Int = defaultCapacity) -> LogSink {
        let aggregator = LogAggregator()
        return LogSink(target: .buffer(LogBuffer(descriptor: descriptor, capacity: capacity, aggregator: aggregator)),
                       aggregator: aggregator)
    }

    /// A sink that keeps lines in memory, synchronously; read them with `lines`.
    public static func memory() -> LogSink { LogSink(target: .memory, aggregator: LogAggregator()) }

    /// The lines written so far to a memory sink (empty for a descriptor sink).
    public var lines: [String] {
        switch target {
        case .buffer: []
        case .memory: captured.withLock { $0 }
        }
    }

    /// Lines dropped because the reader did not keep up (`registryd_log_lines_dropped_total`).
    public var droppedLines: UInt64 {
        switch target {
        case .buffer(let buffer): buffer.droppedLines
        case .memory: 0
        }
    }

    /// Repeated lines counted instead of written (`registryd_log_lines_aggregated_total`).
    public var aggregatedLines: UInt64 { aggregator.suppressedLines }

    /// Waits until the queued lines are written, or `timeout` passes (a reader that never reads
    /// must not keep the process from exiting); returns whether all were written.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) -> Bool {
        switch target {
        case .buffer(let buffer): buffer.flush(timeout: timeout)
        case .memory: true
        }
    }

    func write(_ line: [UInt8]) {
        switch target {
        case .buffer(let buffer):
            buffer.append(line)
        case .memory:
            // No drain thread here: close the windows that are over as lines come.
            let counts = aggregator.sweep(now: LogBuffer.monotonicNow())
            captured.withLock { lines in
                for line in counts + [line] { lines.append(String(decoding: line.dropLast(), as: UTF8.self)) }
            }
        }
    }
}
