/// A value guarded by a `ConditionLock`.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline let lock = ConditionLock()
    @usableFromInline var value: Value

    /// Creates the guarded value.
    public init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with the value, holding the lock.
    @inlinable
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
}
