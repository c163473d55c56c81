#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

/// Writes structured log lines, one JSON object per line, to standard error.
///
/// Lines are queued whole and written by one thread (see `LogSink`), so lines from concurrent
/// request threads never interleave, and a stalled reader of standard error never stalls a request. Values that could carry secrets (tokens, database error text meant for operators
/// only) are the caller's responsibility: the logger writes what it is given.
public struct Logger: Sendable {
    /// How severe a line is; lines below the logger's level are dropped before they are built.
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case debug, info, warning, error

        /// Parses `debug`, `info`, `warning` (or `warn`) and `error`, in any case.
        public init?(name: String) {
            switch name.lowercased() {
            case "debug", "trace": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error", "critical": self = .error
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warning"
            case .error: "error"
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The component that writes, as the `logger` field of each line.
    public let label: String
    /// The least severe level written.
    public var level: Level
    /// Where the lines go; `/metrics` reads its drop and aggregation counts.
    public let sink: LogSink

    /// Creates a logger writing to standard error.
    public init(label: String, level: Level = .info) {
        self.init(label: label, level: level, sink: .standardError)
    }

    /// Creates a logger writing to `sink` (tests capture lines this way).
    public init(label: String, level: Level, sink: LogSink) {
        self.label = label
        self.level = level
        self.sink = sink
    }

    /// Whether a line at `level` would be written.
    public func isEnabled(_ level: Level) -> Bool { level >= self.level }

    /// Writes one line with `message` and `fields`, in that order, if `level` is enabled.
    ///
    /// The line is queued, never written on the caller's thread (see `LogSink`); a warning or
    /// an error that repeats within a second is counted instead (see `LogAggregator`).
    public func log(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        guard isEnabled(level) else { return }
        if level >= .warning {
            let kind = LogAggregator.Kind(level: level, label: label, message: message)
            guard sink.aggregator.admit(kind, fields: fields, now: LogBuffer.monotonicNow()) else { return }
        }
        sink.write(Self.line(level: level, label: label, message: message, fields: fields))
    }

    /// One line of JSON, newline included: `ts`, `level`, `logger`, `msg`, then `fields`.
    static func line<Fields: Sequence>(level: Level, label: String, message: String, fields: Fields) -> [UInt8]
    where Fields.Element == (key: String, value: LogValue) {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.field("ts", timestamp: Self.now())
        writer.field("level", level.description)
        writer.field("logger", label)
        writer.field("msg", message)
        for (key, value) in fields {
            writer.key(key)
            value.write(to: &writer)
        }
        writer.endObject()
        var line = writer.bytes
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Writes a `debug` line.
    public func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }
    /// Writes an `info` line.
    public func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    /// Writes a `warning` line.
    public func warning(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warning, message, fields) }
    /// Writes an `error` line.
    public func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }

    private static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}

/// One value of a log line's field.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    func write(to writer: inout JSONWriter) {
        switch self {
        case .string(let value): writer.string(value)
        case .int(let value): writer.int(value)
        case .bool(let value): writer.bool(value)
        case .double(let value): writer.raw(value.isFinite ? String(value) : "null")
        }
    }
}
