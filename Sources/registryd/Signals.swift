#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT, received synchronously with `sigwait` instead of by a handler.
struct Signals {
    private var set = sigset_t()

    /// Blocks SIGTERM and SIGINT in this thread and every thread it starts afterwards; ignores SIGPIPE.
    static func blockTermination() -> Signals {
        var signals = Signals()
        sigemptyset(&signals.set)
        sigaddset(&signals.set, SIGTERM)
        sigaddset(&signals.set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals.set, nil)
        signal(SIGPIPE, SIG_IGN)
        return signals
    }

    /// Waits for SIGTERM or SIGINT and returns its name.
    func wait() -> String {
        var set = self.set
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received == SIGTERM ? "SIGTERM" : "SIGINT"
    }
}
