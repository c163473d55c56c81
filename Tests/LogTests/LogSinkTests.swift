import Foundation
import Log
import Synchronization
import Testing

/// Logging never waits for the reader of standard error, and repeated errors are folded.
@Suite struct LogSinkTests {
    /// A pipe; its write end is the sink's descriptor. Never closed: a sink lives as long as the
    /// process, and its descriptor number must not be reused for another test's file.
    private static func pipeEnds() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw POSIXError(.EIO) }
        return (ends[0], ends[1])
    }

    @Test func aReaderThatNeverReadsCostsDroppedLinesNotAStall() async throws {
        // Neither end is closed: the drain thread stays blocked on the full pipe for good (closing
        // the read end would raise SIGPIPE in the test process).
        let ends = try Self.pipeEnds()
        // A pipe holds 64 KiB: a synchronous write blocked after a few hundred of these lines.
        let sink = LogSink.fileDescriptor(ends.write, capacity: 256 << 10)
        let logger = Logger(label: "test", level: .info, sink: sink)
        let done = Atomic<Bool>(false)
        let thread = Thread {
            for index in 0..<100_000 {
                logger.info("request", ["path": "/registry/v1/regions/fr-par/namespaces", "index": .int(index)])
            }
            done.store(true, ordering: .relaxed)
        }
        thread.start()
        let finished = await Self.eventually(timeout: .seconds(60)) { done.load(ordering: .relaxed) }
        #expect(finished)
        #expect(sink.droppedLines > 0)
        #expect(!sink.flush(timeout: .milliseconds(100)))
    }

    @Test func aBurstOfOneErrorIsOneLinePerSecondWithACount() async throws {
        let ends = try Self.pipeEnds()
        let output = Mutex<[UInt8]>([])
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(ends.read, &buffer, buffer.count)
                if count <= 0 { break }
                output.withLock { $0.append(contentsOf: buffer[0..<count]) }
            }
        }
        reader.start()
        let sink = LogSink.fileDescriptor(ends.write)
        let logger = Logger(label: "test", level: .info, sink: sink)

        // About 2.5 seconds of the same error, as a database outage gives, with one other kind.
        let started = ContinuousClock.now
        var errors = 0
        while ContinuousClock.now - started < .milliseconds(2500) {
            logger.error("database unavailable", ["request_id": .string("r\(errors)")])
            errors += 1
            if errors % 1000 == 0 { logger.warning("other trouble") }
        }
        let seconds = Int(((ContinuousClock.now - started) / .seconds(1)).rounded(.up))

        func lines(_ message: String) -> [[String: Any]] {
            String(decoding: output.withLock { $0 }, as: UTF8.self).split(separator: "\n").compactMap { line in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return object?["msg"] as? String == message ? object : nil
            }
        }
        // A line stands for itself, a count line for the `repeated` ones it counts; the last count
        // comes when its window closes, about a second after the burst.
        func total(_ message: String) -> Int { lines(message).reduce(0) { $0 + (($1["repeated"] as? Int) ?? 1) } }
        let accounted = await Self.eventually(timeout: .seconds(10)) { total("database unavailable") == errors }
        #expect(accounted, "\(total("database unavailable")) of \(errors)")
        #expect(errors > 1000)
        // One line when the burst starts, then one a second with the count (and the last fields).
        #expect(lines("database unavailable").count <= seconds + 2)
        #expect(lines("database unavailable").contains { $0["repeated"] != nil && $0["request_id"] as? String == "r\(errors - 1)" })
        #expect(total("other trouble") == errors / 1000)
        #expect(sink.aggregatedLines >= UInt64(errors - seconds - 2))
        // The pipe stays open: the sink's drain thread lives as long as the process.
    }

    private static func eventually(timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
