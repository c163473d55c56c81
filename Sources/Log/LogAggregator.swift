import Synchronization

/// Folds repeated warnings and errors into one line per kind per second, with a count.
///
/// A kind is a logger label, level and message. Its first line is written at once; if more
/// follow within the second, they are only counted, and when the second is over one line says
/// how many there were (`repeated`), with the fields of the last one (say, the last request id
/// and error). A kind that stays quiet for a whole second is written at once again. A database
/// outage at 37k requests a second thus costs a few lines a second, not one per failed request.
final class LogAggregator: Sendable {
    struct Kind: Hashable {
        let level: Logger.Level
        let label: String
        let message: String
    }

    private struct Window {
        var started: Duration
        var repeated = 0
        var lastFields: [(key: String, value: LogValue)] = []
    }

    /// Kinds followed at most; a kind beyond them is written every time (messages are written in
    /// the code, so this bound is never reached in practice; it only keeps memory bounded).
    static let maximumKinds = 1024
    /// How long one window lasts.
    static let window = Duration.seconds(1)

    private let windows = Mutex<[Kind: Window]>([:])
    private let suppressed = Atomic<UInt64>(0)

    /// Lines counted instead of written so far.
    var suppressedLines: UInt64 { suppressed.load(ordering: .relaxed) }

    /// Whether a line of `kind` should be written now; if not, it is counted in its window.
    func admit(_ kind: Kind, fields: KeyValuePairs<String, LogValue>, now: Duration) -> Bool {
        windows.withLock { windows in
            if windows[kind] != nil {
                windows[kind]!.repeated += 1
                windows[kind]!.lastFields = Array(fields)
                suppressed.add(1, ordering: .relaxed)
                return false
            }
            if windows.count < Self.maximumKinds { windows[kind] = Window(started: now) }
            return true
        }
    }

    /// The count lines of every window that is over; windows that counted nothing are closed.
    func sweep(now: Duration) -> [[UInt8]] {
        windows.withLock { windows in
            var lines: [[UInt8]] = []
            for (kind, window) in windows where now - window.started >= Self.window {
                guard window.repeated > 0 else {
                    windows[kind] = nil
                    continue
                }
                let milliseconds = Int((now - window.started) / .milliseconds(1))
                lines.append(Logger.line(
                    level: kind.level, label: kind.label, message: kind.message,
                    fields: [(key: "repeated", value: .int(window.repeated)), (key: "window_ms", value: .int(milliseconds))]
                        + window.lastFields))
                windows[kind] = Window(started: now)
            }
            return lines
        }
    }
}
