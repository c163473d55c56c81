#if canImport(Glibc)
import Glibc
#endif

/// The signals an operator sends, received synchronously with `sigwait` instead of by a handler.
///
/// None of them stops the process at once, so none drops a request:
/// - SIGTERM, SIGINT and SIGQUIT stop gracefully (SIGQUIT as nginx uses it: a graceful stop,
///   not a core dump);
/// - SIGHUP, SIGUSR1 and SIGUSR2 are logged and ignored: registryd reads its configuration once
///   and writes its log to standard error, so there is nothing to reload or reopen, and a
///   "reload" sent by habit must not become an outage;
/// - SIGPIPE is ignored (a client that went away is a failed `send`, not a dead process).
struct Signals {
    /// What a received signal asks for.
    enum Action: Equatable {
        case stop
        case ignore
    }

    static let stopping: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGQUIT, "SIGQUIT")]
    static let ignored: [(Int32, String)] = [(SIGHUP, "SIGHUP"), (SIGUSR1, "SIGUSR1"), (SIGUSR2, "SIGUSR2")]

    private var set = sigset_t()

    /// Blocks the signals above in this thread and every thread it starts afterwards, so that
    /// only `wait` receives them; ignores SIGPIPE. Call before any thread starts.
    static func block() -> Signals {
        var signals = Signals()
        sigemptyset(&signals.set)
        for (number, _) in stopping + ignored { sigaddset(&signals.set, number) }
        pthread_sigmask(SIG_BLOCK, &signals.set, nil)
        signal(SIGPIPE, SIG_IGN)
        return signals
    }

    /// Waits for one of the signals; returns its name and what to do about it.
    func wait() -> (name: String, action: Action) {
        var set = self.set
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        if let (_, name) = Self.stopping.first(where: { $0.0 == received }) { return (name, .stop) }
        let name = Self.ignored.first(where: { $0.0 == received })?.1 ?? "signal \(received)"
        return (name, .ignore)
    }
}
