import Foundation
import Testing
import Threads

/// The locks and thread group the pool, the pipeline and the handler executor are built on.
@Suite struct ThreadsTests {
    @Test func lockedKeepsEveryIncrementOfEightThreads() {
        let counter = Locked(0)
        let group = ThreadGroup(count: 8, name: "increment") {
            for _ in 0..<10_000 { counter.withLock { $0 += 1 } }
        }
        group.waitUntilFinished()
        #expect(counter.withLock { $0 } == 80_000)
    }

    @Test func readMostlyReadersSeeOnlyWholeWrites() {
        let pair = ReadMostly((0, 0))
        let torn = Locked(0)
        let group = ThreadGroup(count: 4, name: "read-write") {
            for round in 0..<5_000 {
                if round % 10 == 0 {
                    pair.write { $0 = ($0.0 + 1, $0.1 + 1) }
                } else if pair.read({ $0.0 != $0.1 }) {
                    torn.withLock { $0 += 1 }
                }
            }
        }
        group.waitUntilFinished()
        #expect(torn.withLock { $0 } == 0)
        #expect(pair.read { $0.0 } == 2_000)
    }

    @Test func conditionLockWakesAWaiterWhenTheStateChanges() {
        let lock = ConditionLock()
        nonisolated(unsafe) var ready = false
        nonisolated(unsafe) var seen = false
        let waiter = ThreadGroup(count: 1, name: "waiter") {
            lock.withLock {
                while !ready { lock.wait() }
                seen = true
            }
        }
        lock.withLock {
            ready = true
            lock.signal()
        }
        waiter.waitUntilFinished()
        #expect(lock.withLock { seen })
    }

    @Test func threadGroupWaitsForTheSlowestThread() {
        let started = Locked(0)
        let finished = Locked<[Int]>([])
        let group = ThreadGroup(count: 3, name: "slow") {
            let index = started.withLock { count in
                defer { count += 1 }
                return count
            }
            usleep(UInt32(index * 20_000))
            finished.withLock { $0.append(index) }
        }
        group.waitUntilFinished()
        #expect(finished.withLock { $0.sorted() } == [0, 1, 2])
    }
}

/// Deadlines on the monotonic clock.
@Suite struct MonotonicDeadlineTests {
    @Test func timespecIsTheMonotonicClockPlusTheDuration() {
        var before = timespec()
        clock_gettime(CLOCK_MONOTONIC, &before)
        let target = MonotonicTime.timespec(after: .milliseconds(1500))
        var after = timespec()
        clock_gettime(CLOCK_MONOTONIC, &after)
        func nanoseconds(_ time: timespec) -> Int { time.tv_sec * 1_000_000_000 + time.tv_nsec }
        #expect(target.tv_nsec >= 0 && target.tv_nsec < 1_000_000_000)
        #expect(nanoseconds(target) >= nanoseconds(before) + 1_500_000_000)
        #expect(nanoseconds(target) <= nanoseconds(after) + 1_500_000_000)
        #expect(nanoseconds(MonotonicTime.timespec(after: .seconds(-3))) <= nanoseconds(MonotonicTime.timespec(after: .zero)))
    }

    @Test func millisecondsUntilADeadlineRoundUpAndStopAtZero() {
        #expect(MonotonicTime.milliseconds(until: ContinuousClock.now.advanced(by: .seconds(-1))) == 0)
        let remaining = MonotonicTime.milliseconds(until: ContinuousClock.now.advanced(by: .microseconds(1500)))
        #expect(remaining == 2 || remaining == 1)
        #expect(MonotonicTime.milliseconds(until: ContinuousClock.now.advanced(by: .seconds(3))) <= 3000)
    }

    @Test func aTimedWaitEndsAtItsDeadlineOrWhenSignalled() {
        let lock = ConditionLock()
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(50))
        let signalled = lock.withLock { lock.wait(until: deadline) }
        #expect(signalled || ContinuousClock.now >= deadline)  // a timeout never comes early
        #expect(lock.withLock { lock.wait(until: ContinuousClock.now.advanced(by: .seconds(-1))) } == false)
        nonisolated(unsafe) var ready = false
        let waiter = ThreadGroup(count: 1, name: "timed-waiter") {
            lock.withLock {
                let far = ContinuousClock.now.advanced(by: .seconds(30))
                while !ready { if !lock.wait(until: far) { return } }
            }
        }
        lock.withLock {
            ready = true
            lock.signal()
        }
        let started = ContinuousClock.now
        waiter.waitUntilFinished()
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
