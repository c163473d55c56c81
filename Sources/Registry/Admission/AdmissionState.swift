/// Which requests may hold database capacity now: at most `limit` per key (an organization) at
/// once; the others wait first in, first out, per key, each until its deadline.
///
/// A pure state machine, the I/O around it kept in `OrganizationAdmission`: time is given to each
/// call (`now`, `deadline`), never read, so the tests drive it with made-up instants and no sleeps
/// (as postgres-nio tests its `PoolStateMachine`). A waiter is named by the ticket `arrive` hands
/// out; every call returns the tickets whose fate it decided, for the caller to resume.
struct AdmissionState<Key: Hashable, Instant: Comparable> {
    /// What `arrive` decided.
    enum Arrival: Equatable {
        /// The request may go on; it must call `finish` when done.
        case admitted
        /// The request waits; `finish` or `expire` will name this ticket.
        case queued(Int)
    }

    /// Tickets admitted and expired by one call.
    struct Changes: Equatable {
        /// Waiters that may now go on (each must later `finish`).
        var admitted: [Int] = []
        /// Waiters whose deadline passed before their turn came: they are answered 503.
        var expired: [Int] = []
    }

    private struct Waiter {
        let ticket: Int
        let deadline: Instant
    }

    /// Requests of one key that hold capacity, and those that wait for it.
    private struct Lane {
        var inFlight = 0
        var waiters: [Waiter] = []
    }

    /// The most requests of one key in flight at once.
    let limit: Int
    private var lanes: [Key: Lane] = [:]
    private var nextTicket = 0
    /// Waiters of every key, for the reaper and the metrics.
    private(set) var waiting = 0

    init(limit: Int) {
        precondition(limit > 0, "an admission limit must be positive")
        self.limit = limit
    }

    /// A request of `key` arrives: admitted while fewer than `limit` of its key are in flight and
    /// none waits before it, else queued until `deadline`.
    mutating func arrive(_ key: Key, deadline: Instant) -> Arrival {
        var lane = lanes[key] ?? Lane()
        defer { lanes[key] = lane }
        if lane.inFlight < limit && lane.waiters.isEmpty {
            lane.inFlight += 1
            return .admitted
        }
        nextTicket &+= 1
        lane.waiters.append(Waiter(ticket: nextTicket, deadline: deadline))
        waiting += 1
        return .queued(nextTicket)
    }

    /// An admitted request of `key` is done: its place goes to the oldest waiter whose deadline
    /// has not passed at `now`; those that have passed are expired on the way.
    mutating func finish(_ key: Key, now: Instant) -> Changes {
        guard var lane = lanes[key], lane.inFlight > 0 else {
            preconditionFailure("finish without a matching admission")
        }
        lane.inFlight -= 1
        var changes = Changes()
        while lane.inFlight < limit, !lane.waiters.isEmpty {
            let next = lane.waiters.removeFirst()
            waiting -= 1
            if next.deadline <= now {
                changes.expired.append(next.ticket)
            } else {
                lane.inFlight += 1
                changes.admitted.append(next.ticket)
            }
        }
        store(lane, for: key)
        return changes
    }

    /// Expires every waiter whose deadline is at or before `now`.
    mutating func expire(now: Instant) -> [Int] {
        guard waiting > 0 else { return [] }
        var expired: [Int] = []
        for key in Array(lanes.keys) {
            guard var lane = lanes[key], lane.waiters.contains(where: { $0.deadline <= now }) else { continue }
            lane.waiters.removeAll { waiter in
                guard waiter.deadline <= now else { return false }
                expired.append(waiter.ticket)
                return true
            }
            store(lane, for: key)
        }
        waiting -= expired.count
        return expired
    }

    /// Requests of `key` holding capacity now.
    func inFlight(_ key: Key) -> Int { lanes[key]?.inFlight ?? 0 }

    /// Keys with a request in flight or waiting: a key leaves the table once idle, so the table
    /// never grows with the number of organizations ever seen.
    var activeKeys: Int { lanes.count }

    // MARK: - Private

    private mutating func store(_ lane: Lane, for key: Key) {
        lanes[key] = lane.inFlight == 0 && lane.waiters.isEmpty ? nil : lane
    }
}
