import Foundation
@testable import Registry
import Testing

/// The token service's scope parser and grant matrix, on their own (the end-to-end flows with a
/// real registry are in Tests/sdk/test_data_plane_*.py).
@Suite struct RepositoryAccessTests {
    private let organization = UUID()
    private let project = UUID()

    private func facts(status: String = "ready", isPublic: Bool = false, visibility: String? = nil, imageStatus: String? = nil) -> RepositoryFacts {
        RepositoryFacts(organizationID: organization, projectID: project, namespaceStatus: status, isPublic: isPublic,
                        imageVisibility: visibility, imageStatus: imageStatus)
    }

    private func scope(_ text: String) throws -> TokenScope { try #require(TokenScope(text)) }

    @Test func scopesSplitTypeNameAndActionsAtTheFirstAndLastColon() throws {
        #expect(try scope("repository:team-a/app:pull,push") == TokenScope(type: "repository", name: "team-a/app", actions: ["pull", "push"]))
        #expect(try scope("repository:localhost:5000/team-a/app:pull").name == "localhost:5000/team-a/app")
        #expect(try scope("registry:catalog:*").asks("delete"))
        #expect(TokenScope.parse(["repository:a/b:pull repository:c/d:push", "repository:e/f:pull"])?.count == 3)
    }

    @Test func malformedScopesAreDroppedAndTooManyAreRefused() {
        for text in ["garbage", "repository:only", "repository::pull", ":a/b:pull", "repository:UPPER/x:pull",
                     "repository:a b:pull", "repository:" + String(repeating: "a", count: 256) + ":pull"] {
            #expect(TokenScope(text) == nil, "\(text)")
        }
        #expect(TokenScope.parse(["garbage repository:a/b:pull"]) == [TokenScope(type: "repository", name: "a/b", actions: ["pull"])])
        #expect(TokenScope.parse(Array(repeating: "repository:a/b:pull", count: 100))?.count == 100)
        #expect(TokenScope.parse(Array(repeating: "repository:a/b:pull", count: 101)) == nil)
    }

    @Test func repositoryNamesSplitAtTheFirstSlash() {
        #expect(RepositoryName.split("team-a/app/sub") ?? ("", "") == ("team-a", "app/sub"))
        #expect(RepositoryName.split("team-a") == nil)
        #expect(RepositoryName.split("team-a/") == nil)
        #expect(RepositoryName.split("/app") == nil)
    }

    @Test func ownerGetsWhatItAsksOnAReadyNamespaceOnly() throws {
        let all = try scope("repository:ns/app:pull,push,delete")
        let owner = Caller(organizationID: organization)
        #expect(RepositoryAccess.granted(all, facts: facts(), caller: owner, isMountSource: false) == ["pull", "push", "delete"])
        #expect(RepositoryAccess.granted(try scope("repository:ns/app:*"), facts: facts(), caller: owner, isMountSource: false) == ["pull", "push", "delete"])
        #expect(RepositoryAccess.granted(all, facts: facts(status: "deleting"), caller: owner, isMountSource: false) == [])
        #expect(RepositoryAccess.granted(all, facts: nil, caller: owner, isMountSource: false) == [])
        #expect(RepositoryAccess.granted(all, facts: facts(imageStatus: "deleting"), caller: owner, isMountSource: false) == [])
        var pending = facts(isPublic: true)
        pending.hasPendingDeletions = true
        #expect(RepositoryAccess.granted(all, facts: pending, caller: owner, isMountSource: false) == [])
        #expect(RepositoryAccess.granted(all, facts: pending, caller: nil, isMountSource: false) == [])
        let inProject = Caller(organizationID: organization, projectID: project)
        #expect(RepositoryAccess.granted(all, facts: facts(), caller: inProject, isMountSource: true) == ["pull", "push", "delete"])
        let otherProject = Caller(organizationID: organization, projectID: UUID())
        #expect(RepositoryAccess.granted(all, facts: facts(), caller: otherProject, isMountSource: false) == [])
    }

    @Test func anyoneMayPullWhatIsEffectivelyPublicAndNothingMore() throws {
        let all = try scope("repository:ns/app:pull,push,delete")
        let stranger = Caller(organizationID: UUID())
        let cases: [(Bool, String?, [String])] = [
            (true, nil, ["pull"]), (true, "inherit", ["pull"]), (false, "inherit", []),
            (false, "public", ["pull"]), (true, "private", []), (false, nil, []),
        ]
        for (isPublic, visibility, expected) in cases {
            let repository = facts(isPublic: isPublic, visibility: visibility)
            #expect(RepositoryAccess.granted(all, facts: repository, caller: stranger, isMountSource: false) == expected)
            #expect(RepositoryAccess.granted(all, facts: repository, caller: nil, isMountSource: false) == expected)
        }
        #expect(RepositoryAccess.granted(all, facts: facts(isPublic: true), caller: stranger, isMountSource: true) == [])
        #expect(RepositoryAccess.granted(try scope("repository:ns/app:push"), facts: facts(isPublic: true), caller: nil, isMountSource: false) == [])
    }

    @Test func aPullScopeBesideAPushScopeIsAMountSource() throws {
        let scopes = try [scope("repository:mine/app:pull,push"), scope("repository:theirs/base:pull")]
        #expect(RepositoryAccess.isMountSource(scopes[1], in: scopes))
        #expect(!RepositoryAccess.isMountSource(scopes[0], in: scopes))
        #expect(!RepositoryAccess.isMountSource(scopes[1], in: [scopes[1]]))
    }
}
