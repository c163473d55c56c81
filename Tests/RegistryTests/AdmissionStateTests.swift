import Testing
@testable import Registry

/// The per-organization admission as a pure state machine: instants are plain integers chosen by
/// the test (milliseconds, say), so no test sleeps or reads a clock.
@Suite struct AdmissionStateTests {
    typealias State = AdmissionState<String, Int>

    @Test func admitsUpToTheLimitPerOrganizationThenQueues() {
        var state = State(limit: 2)
        #expect(state.arrive("a", deadline: 100) == .admitted)
        #expect(state.arrive("a", deadline: 100) == .admitted)
        guard case .queued = state.arrive("a", deadline: 100) else { Issue.record("third request admitted"); return }
        // Another organization is not held up by the first one's queue.
        #expect(state.arrive("b", deadline: 100) == .admitted)
        #expect(state.inFlight("a") == 2)
        #expect(state.inFlight("b") == 1)
        #expect(state.waiting == 1)
    }

    @Test func aFinishedRequestHandsItsPlaceToTheOldestWaiterOfItsOrganization() {
        var state = State(limit: 1)
        #expect(state.arrive("a", deadline: 100) == .admitted)
        let first = state.arrive("a", deadline: 100)
        let second = state.arrive("a", deadline: 100)
        #expect(state.arrive("b", deadline: 100) == .admitted)
        guard case .queued(let firstTicket) = first, case .queued(let secondTicket) = second else {
            Issue.record("expected two waiters"); return
        }
        #expect(state.finish("b", now: 10) == .init())  // b's end admits none of a's
        #expect(state.finish("a", now: 10) == .init(admitted: [firstTicket]))
        #expect(state.finish("a", now: 20) == .init(admitted: [secondTicket]))
        #expect(state.finish("a", now: 30) == .init())
        #expect(state.waiting == 0)
        #expect(state.activeKeys == 0)  // idle organizations leave the table
    }

    @Test func aNewcomerDoesNotOvertakeWaitersEvenWhenAPlaceIsFree() {
        var state = State(limit: 1)
        #expect(state.arrive("a", deadline: 100) == .admitted)
        guard case .queued(let waiter) = state.arrive("a", deadline: 100) else { Issue.record("not queued"); return }
        #expect(state.finish("a", now: 5) == .init(admitted: [waiter]))
        guard case .queued = state.arrive("a", deadline: 100) else { Issue.record("newcomer overtook"); return }
    }

    @Test func waitersPastTheirDeadlineExpireAndFreeNoPlace() {
        var state = State(limit: 1)
        #expect(state.arrive("a", deadline: 100) == .admitted)
        guard case .queued(let early) = state.arrive("a", deadline: 50),
              case .queued(let late) = state.arrive("a", deadline: 150) else { Issue.record("not queued"); return }
        #expect(state.expire(now: 49) == [])
        #expect(state.expire(now: 50) == [early])
        #expect(state.waiting == 1)
        #expect(state.inFlight("a") == 1)
        #expect(state.finish("a", now: 120) == .init(admitted: [late]))
    }

    @Test func finishingSkipsWaitersWhoseDeadlinePassedBeforeTheReaperSawThem() {
        var state = State(limit: 1)
        #expect(state.arrive("a", deadline: 10) == .admitted)
        guard case .queued(let stale) = state.arrive("a", deadline: 20),
              case .queued(let live) = state.arrive("a", deadline: 90) else { Issue.record("not queued"); return }
        #expect(state.finish("a", now: 30) == .init(admitted: [live], expired: [stale]))
        #expect(state.expire(now: 1000) == [])  // nothing left to expire twice
        #expect(state.finish("a", now: 40) == .init())
        #expect(state.activeKeys == 0)
    }

    @Test func expiryReachesEveryOrganization() {
        var state = State(limit: 1)
        var tickets: [Int] = []
        for organization in ["a", "b", "c"] {
            #expect(state.arrive(organization, deadline: 100) == .admitted)
            if case .queued(let ticket) = state.arrive(organization, deadline: 10) { tickets.append(ticket) }
        }
        #expect(state.expire(now: 10).sorted() == tickets.sorted())
        #expect(state.waiting == 0)
        #expect(state.activeKeys == 3)
    }
}
