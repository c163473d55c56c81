/// Exponential backoff with a cap and jitter, for webhook retries: the n-th failure in a row waits
/// between half and all of `min(cap, base * 2^(n-1))`, so that deliveries failing together (an
/// endpoint down) do not come back in lockstep.
struct RetryBackoff: Sendable {
    let base: Duration
    let cap: Duration

    /// The delay after `failures` failures in a row (1 or more); `jitter` is uniform in [0, 1).
    func delay(afterFailures failures: Int, jitter: Double) -> Duration {
        let baseMilliseconds = max(1, Int(base / .milliseconds(1)))
        let capMilliseconds = max(baseMilliseconds, Int(cap / .milliseconds(1)))
        let exponent = min(max(failures - 1, 0), 30)
        let full = min(capMilliseconds, baseMilliseconds << exponent)
        let fraction = 0.5 + min(max(jitter, 0), 1) / 2
        return .milliseconds(Int((Double(full) * fraction).rounded()))
    }
}
