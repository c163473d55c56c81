#if canImport(Glibc)
import Glibc
#endif

/// A value read by many threads at once and written rarely, guarded by a pthread read-write lock.
///
/// `@unchecked Sendable`: `value` is only reached under `lock`.
public final class ReadMostly<Value>: @unchecked Sendable {
    @usableFromInline let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    @usableFromInline var value: Value

    /// Creates the guarded value.
    public init(_ value: Value) {
        self.value = value
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Reads under a shared lock: readers never wait for each other.
    @inlinable
    public func read<T>(_ body: (Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Changes under the exclusive lock.
    @inlinable
    public func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
