import Foundation
import Log
import Postgres
import Registry
import Testing
import TestSupport

/// The executable as operators run it: configuration, migrations, serving, restarting, stopping.
@Suite struct RegistrydProcessTests {
    @Test func helpListsEveryVariable() async throws {
        let (status, output) = try await RegistrydProcess.run(["--help"], environment: [:])
        #expect(status == 0)
        for variable in ["DATABASE_URL", "PORT", "REGIONS", "ENDPOINT_TEMPLATE", "DB_POOL_SIZE", "MIGRATIONS_DIR", "LOG_LEVEL",
                         "DB_WRITES_PER_ORG", "DB_LISTINGS_PER_ORG", "DB_LIST_CONNECTIONS"] {
            #expect(output.contains(variable))
        }
    }

    @Test func badConfigurationNamesTheVariable() async throws {
        let missing = try await RegistrydProcess.run(["serve"], environment: [:])
        #expect(missing.status != 0)
        #expect(missing.output.contains("DATABASE_URL"))
        for (variable, value) in [("PORT", "eighty"), ("PORT", "70000"), ("DB_POOL_SIZE", "0"), ("LOG_LEVEL", "loud"),
                                  ("REGIONS", "fr par"), ("REGIONS", "fr-par,fr-par"), ("REGIONS", ","),
                                  ("ENDPOINT_TEMPLATE", "https://rg.{region}.scw.cloud"), ("DB_READ_CONNECTIONS", "65"),
                                  ("DB_STATEMENT_TIMEOUT_MS", "-1"), ("HTTP_EVENT_LOOPS", "-1"),
                                  ("HTTP_HEAD_TIMEOUT_S", "0"), ("DB_WRITES_PER_ORG", "-1"),
                                  ("DB_LISTINGS_PER_ORG", "many"), ("DB_LIST_CONNECTIONS", "65")] {
            let result = try await RegistrydProcess.run(["serve"], environment: ["DATABASE_URL": "postgresql://x@/y", variable: value])
            #expect(result.status != 0)
            #expect(result.output.contains(variable), "\(result.output)")
        }
    }

    @Test func migrateThenStatusReportsEveryMigrationApplied() async throws {
        let url = try TestPostgres.createDatabase()
        let pending = try await RegistrydProcess.run(["migrate", "--status"], environment: ["DATABASE_URL": url])
        #expect(pending.status == 3)
        #expect(pending.output.contains("pending"))
        let applied = try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url])
        #expect(applied.status == 0)
        #expect(applied.output.contains("applied: 1 create_namespaces"))
        let status = try await RegistrydProcess.run(["migrate", "--status"], environment: ["DATABASE_URL": url])
        #expect(status.status == 0)
        #expect(status.output.contains("schema is current"))
        #expect(!status.output.contains("pending"))
        let again = try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url])
        #expect(again.output.contains("nothing to apply"))
    }

    @Test func aDatabaseWithAMigrationThisBuildDoesNotKnowIsRefusedByNameAtStartUp() async throws {
        let url = try TestPostgres.createDatabase()
        #expect(try await RegistrydProcess.run(["migrate"], environment: ["DATABASE_URL": url]).status == 0)
        // A build without migration 4 (another branch's), whose newest migration is applied.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in try FileManager.default.contentsOfDirectory(atPath: TestPostgres.migrationsDirectory)
        where file.hasSuffix(".sql") && !file.hasPrefix("0004_") {
            try FileManager.default.copyItem(
                atPath: TestPostgres.migrationsDirectory + "/" + file, toPath: directory.appendingPathComponent(file).path)
        }
        let environment = ["DATABASE_URL": url, "PORT": "0", "MIGRATIONS_DIR": directory.path]

        let serve = try await RegistrydProcess.run(["serve"], environment: environment)
        #expect(serve.status != 0)
        #expect(serve.output.contains("migration 4 applied, which this registryd does not know"), "\(serve.output)")
        let status = try await RegistrydProcess.run(["migrate", "--status"], environment: environment)
        #expect(status.status == 3)
        #expect(status.output.contains("0004  unknown"), "\(status.output)")
        #expect(status.output.contains("cannot migrate: the database has migration 4 applied"), "\(status.output)")
    }

    @Test func twoInstancesStartedTogetherOnAnEmptyDatabaseBothServe() async throws {
        let url = try TestPostgres.createDatabase()
        let environment = ["DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1"]
        let first = try RegistrydProcess(["serve"], environment: environment)
        let second = try RegistrydProcess(["serve"], environment: environment)
        let ports = [try await first.waitUntilListening(), try await second.waitUntilListening()]
        #expect(ports[0] != ports[1])
        let applied = (first.text + second.text).components(separatedBy: "\"msg\":\"migration applied\"").count - 1
        let migrations = try Migration.load(from: TestPostgres.migrationsDirectory)
        #expect(applied == migrations.count)
        first.terminate()
        second.terminate()
        #expect(try await blocking { first.waitForExit() } == 0)
        #expect(try await blocking { second.waitForExit() } == 0)
    }

    @Test func restartKeepsEveryNamespaceAndSIGTERMStopsCleanly() async throws {
        let url = try TestPostgres.createDatabase()
        let environment = ["DATABASE_URL": url, "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1"]
        let organization = UUID()

        let first = try RegistrydProcess(["serve"], environment: environment)
        let firstPort = try await first.waitUntilListening()
        let key = try await RegistrydProcess.run(["api-key", "create", "--organization-id", organization.uuidString], environment: environment)
        #expect(key.status == 0)
        let secret = try #require(key.output.firstMatch(of: /secret_key:\s+([0-9a-f-]{36})/)?.1)
        let client = TestClient(baseURL: "http://127.0.0.1:\(firstPort)", token: String(secret))
        let path = "/registry/v1/regions/pl-waw/namespaces"
        var created: [String] = []
        for index in 0..<10 {
            let response = try await client.post(path, ["name": "survivor-\(index)"])
            #expect(response.status == 200)
            created.append(try #require(response.json["id"] as? String))
        }
        first.terminate()
        #expect(try await blocking { first.waitForExit() } == 0)
        #expect(first.text.contains("\"msg\":\"stopped\""))

        let second = try RegistrydProcess(["serve"], environment: environment)
        let secondPort = try await second.waitUntilListening()
        #expect(second.text.contains("\"applied_now\":0"))
        let restarted = client.with(token: String(secret))
        let listing = try await TestClient(baseURL: "http://127.0.0.1:\(secondPort)", token: restarted.token).get("\(path)?page_size=100")
        let ids = (listing.json["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids == created)
        second.terminate()
        #expect(try await blocking { second.waitForExit() } == 0)
    }

    @Test func apiKeyCommandsCreateListAndRevoke() async throws {
        let url = try TestPostgres.createDatabase()
        let environment = ["DATABASE_URL": url]
        #expect(try await RegistrydProcess.run(["migrate"], environment: environment).status == 0)
        let organization = UUID().uuidString.lowercased()
        let project = UUID().uuidString.lowercased()
        let created = try await RegistrydProcess.run(
            ["api-key", "create", "--organization-id", organization, "--project-id", project, "--description", "ci key", "--expires-in", "1d12h"],
            environment: environment)
        #expect(created.status == 0)
        let accessKey = try #require(created.output.firstMatch(of: /access_key:\s+(SCW[A-Z0-9]{17})/)?.1)
        let listed = try await RegistrydProcess.run(["api-key", "list", "--organization-id", organization], environment: environment)
        #expect(listed.output.contains(String(accessKey)))
        #expect(listed.output.contains("active"))
        #expect(listed.output.contains(project))
        #expect(!listed.output.contains("secret"))
        let revoked = try await RegistrydProcess.run(["api-key", "revoke", String(accessKey)], environment: environment)
        #expect(revoked.status == 0)
        let listedAll = try await RegistrydProcess.run(["api-key", "list"], environment: environment)
        #expect(listedAll.output.contains("revoked"), "\(listedAll.output)")
        #expect(try await RegistrydProcess.run(["api-key", "create"], environment: environment).status == 64)
        #expect(try await RegistrydProcess.run(["api-key", "revoke", "not-an-access-key"], environment: environment).status == 64)
        let unknown = try await RegistrydProcess.run(["api-key", "revoke", "SCW" + String(repeating: "Z", count: 17)],
                                                     environment: environment)
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("no API key"))
        #expect(try await RegistrydProcess.run(["api-key", "list", "--organization-id", "nope"], environment: environment).status == 64)
        #expect(try await RegistrydProcess.run(["api-key", "list", "--colour", "blue"], environment: environment).status == 64)
        #expect(try await RegistrydProcess.run(["api-key", "create", "--organization-id", organization, "--expires-in", "soon"],
                                                environment: environment).status == 64)

        // The audit trail names both changes of the key, the operator's (no access key).
        let audit = try await RegistrydProcess.run(["audit", "list", "--organization-id", organization, "--since", "1h"],
                                                   environment: environment)
        #expect(audit.status == 0)
        let lines = audit.output.split(separator: "\n").filter { $0.contains(String(accessKey)) }
        #expect(lines.count == 2)
        #expect(lines.first?.contains("api_key.create") == true && lines.last?.contains("api_key.revoke") == true)
        let json = try await RegistrydProcess.run(["audit", "list", "--resource-id", String(accessKey), "--json"], environment: environment)
        let objects = json.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.map { $0["action"] as? String } == ["api_key.create", "api_key.revoke"])
        #expect((objects.last?["after"] as? [String: Any])?["revoked_at"] != nil)
        #expect(try await RegistrydProcess.run(["audit", "list", "--since", "yesterday-ish"], environment: environment).status == 64)
        #expect(try await RegistrydProcess.run(["audit", "list", "--since", "2999-01-01T00:00:00Z"], environment: environment).output
                    .split(separator: "\n").filter { $0.contains("api_key") }.isEmpty)
    }
}
