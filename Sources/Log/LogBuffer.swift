#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Log lines waiting to be written to a file descriptor, bounded, drained by a thread of their own.
///
/// A request thread only appends to memory (one mutex, no system call but the wake-up of the
/// drain thread when the buffer was empty): a reader that stops reading standard error stalls
/// the drain thread alone, never a request. A line that does not fit in `capacity` bytes is
/// dropped and counted; once lines flow again the drain thread writes how many were dropped.
/// Once a second the drain thread also asks `aggregator` for the counts of repeated lines.
///
/// `@unchecked Sendable`: every mutable field is reached under `mutex`.
final class LogBuffer: @unchecked Sendable {
    private let descriptor: Int32
    private let capacity: Int
    private let aggregator: LogAggregator
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending: [UInt8] = []
    private var isWriting = false
    private var dropped: UInt64 = 0
    private var droppedReported: UInt64 = 0

    /// Starts the drain thread; it lives as long as the process (sinks are never released).
    init(descriptor: Int32, capacity: Int, aggregator: LogAggregator) {
        self.descriptor = descriptor
        self.capacity = capacity
        self.aggregator = aggregator
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Waits are timed on the monotonic clock, so that a step of the wall clock cannot stretch them.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            Unmanaged<LogBuffer>.fromOpaque(context!).takeRetainedValue().drain()
            return nil
        }, context)
        pthread_detach(thread)
    }

    /// Lines dropped so far because the buffer was full.
    var droppedLines: UInt64 { locked { dropped } }

    /// Queues `line`, or drops and counts it when it does not fit; never blocks on the reader.
    func append(_ line: [UInt8]) {
        locked {
            guard pending.count + line.count <= capacity else {
                dropped += 1
                return
            }
            if pending.isEmpty { pthread_cond_broadcast(condition) }
            pending.append(contentsOf: line)
        }
    }

    /// Waits until every queued line is written, or `timeout` passes; returns whether all were.
    @discardableResult
    func flush(timeout: Duration) -> Bool {
        let deadline = Self.monotonicNow() + timeout
        return locked {
            while !pending.isEmpty || isWriting {
                var until = Self.timespec(of: deadline)
                if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT { break }
            }
            return pending.isEmpty && !isWriting
        }
    }

    // MARK: - Drain thread

    private func drain() {
        var nextSweep = Self.monotonicNow() + .seconds(1)
        while true {
            let batch: [UInt8] = locked {
                while pending.isEmpty && Self.monotonicNow() < nextSweep {
                    var until = Self.timespec(of: nextSweep)
                    pthread_cond_timedwait(condition, mutex, &until)
                }
                var batch: [UInt8] = []
                swap(&batch, &pending)
                isWriting = !batch.isEmpty
                return batch
            }
            write(batch)
            if Self.monotonicNow() >= nextSweep {
                nextSweep = Self.monotonicNow() + .seconds(1)
                for line in aggregator.sweep(now: Self.monotonicNow()) { append(line) }
                reportDrops()
            }
            locked {
                isWriting = false
                pthread_cond_broadcast(condition)
            }
        }
    }

    /// Once the buffer has room again, says how many lines it dropped since the last report.
    private func reportDrops() {
        let newlyDropped: UInt64 = locked {
            let count = dropped - droppedReported
            droppedReported = dropped
            return count
        }
        guard newlyDropped > 0 else { return }
        append(Logger.line(level: .warning, label: "log", message: "log lines dropped: standard error is not read fast enough",
                           fields: ["dropped": .int(Int(newlyDropped))]))
    }

    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }  // a closed descriptor: the lines are lost, as they would be anyway
                offset += written
            }
        }
    }

    // MARK: - Locking and time

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    static func monotonicNow() -> Duration {
        var now = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }

    private static func timespec(of instant: Duration) -> Glibc.timespec {
        let (seconds, attoseconds) = instant.components
        return Glibc.timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    }
}
