import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport
@testable import Registry

/// The admission's I/O around its state machine: callers suspended and resumed, and the deadline.
@Suite struct OrganizationAdmissionTests {
    @Test func aWaiterRunsOnceTheRequestAheadOfItLeaves() async throws {
        let admission = OrganizationAdmission(lane: "writes", limit: 1, timeout: .seconds(60))
        defer { admission.close() }
        let organization = UUID()
        let (release, releasing) = AsyncStream<Void>.makeStream()
        let progress = Progress()
        let holder = Task {
            try await admission.admit(organization) {
                progress.step.store(1, ordering: .relaxed)
                for await _ in release { break }
            }
        }
        #expect(await eventually { progress.step.load(ordering: .relaxed) == 1 })
        let waiter = Task { try await admission.admit(organization) { progress.step.store(2, ordering: .relaxed) } }
        #expect(await eventually { admission.statistics.waiting == 1 })
        #expect(progress.step.load(ordering: .relaxed) == 1)  // still held: the waiter has not run
        // Another organization is admitted meanwhile.
        try await admission.admit(UUID()) {}

        releasing.yield()
        try await holder.value
        try await waiter.value
        #expect(progress.step.load(ordering: .relaxed) == 2)
        #expect(admission.statistics.waiting == 0)
    }

    @Test func aWaiterPastTheTimeoutIsAnswered503WhileTheHolderStillHolds() async throws {
        let admission = OrganizationAdmission(lane: "listings", limit: 1, timeout: .milliseconds(50))
        defer { admission.close() }
        let organization = UUID()
        let (release, releasing) = AsyncStream<Void>.makeStream()
        let progress = Progress()
        let holder = Task {
            try await admission.admit(organization) {
                progress.step.store(1, ordering: .relaxed)
                for await _ in release { break }
            }
        }
        #expect(await eventually { progress.step.load(ordering: .relaxed) == 1 })
        let outcome = await Task { () -> Bool in
            do {
                try await admission.admit(organization) {}
                return false
            } catch let error as PostgresError {
                return error.isUnavailable
            } catch {
                return false
            }
        }.value
        #expect(outcome, "the waiter should be refused as unavailable (503)")
        #expect(admission.statistics.timedOut == 1)
        releasing.yield()
        try await holder.value
    }
}

/// How far a test's tasks got.
final class Progress: Sendable {
    let step = Atomic<Int>(0)
}
