import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Log
import Postgres

/// The PostgreSQL cluster the tests use, and fresh databases in it.
///
/// `make test` starts a throwaway cluster and passes its URL in `REGISTRYD_TEST_DATABASE_URL`.
/// When that is unset (a bare `swift test`), the first test to need a database starts one with
/// `scripts/pg-cluster.sh` under a temporary directory and stops it when the test process exits.
public enum TestPostgres {
    /// The repository's root directory.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The migrations of the repository.
    public static var migrationsDirectory: String { repositoryRoot.appendingPathComponent("migrations").path }

    /// A URL with administrative rights on the test cluster.
    public static let adminURL: String = {
        if let url = ProcessInfo.processInfo.environment["REGISTRYD_TEST_DATABASE_URL"], !url.isEmpty { return url }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("registryd-test-\(getpid())").path
        let url = try! runScript(["start", directory, "--throwaway"]).trimmingCharacters(in: .whitespacesAndNewlines)
        ownedClusterDirectory = directory
        atexit {
            if let directory = TestPostgres.ownedClusterDirectory {
                _ = try? TestPostgres.runScript(["stop", directory])
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return url
    }()

    nonisolated(unsafe) static var ownedClusterDirectory: String?

    /// Creates an empty database in the shared cluster (or the cluster of `admin`) and returns its URL.
    public static func createDatabase(admin adminURL: String = TestPostgres.adminURL) throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try Connection(connectionString: adminURL)
        try admin.execute("CREATE DATABASE \(name)")
        return url(of: adminURL, database: name)
    }

    /// `url` with its database replaced by `database`.
    static func url(of url: String, database: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + database
        return components.string ?? url
    }

    /// Runs `scripts/pg-cluster.sh` with `arguments` and returns what it printed.
    ///
    /// Spawned with `posix_spawn` and `waitpid`, not Foundation's `Process`: this runs inside the
    /// lazy initializer of `adminURL`, where the other tests' threads wait, and `Process` needs
    /// Dispatch threads to notice that its child exited.
    public static func runScript(_ arguments: [String]) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-\(UUID()).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let script = repositoryRoot.appendingPathComponent("scripts/pg-cluster.sh").path
        let command = ([script] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let argv = ["/bin/bash", "-c", "\(command) > '\(outputPath)'"]
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/bash", nil, nil, cArguments, environ) == 0 else {
            throw TestFailure("cannot run pg-cluster.sh")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TestFailure("pg-cluster.sh \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
        return output
    }
}

/// A cluster of one test's own, for tests that stop and start PostgreSQL. Durable (fsync on), so
/// that a crash loses nothing that was acknowledged.
public final class PrivateCluster: Sendable {
    public let directory: String
    public let adminURL: String

    /// Creates the cluster under `REGISTRYD_TEST_SCRATCH` when set (`make test` removes that
    /// directory, stopping any cluster left in it, even when the test process crashes), else
    /// under the temporary directory.
    public init() throws {
        let scratch = ProcessInfo.processInfo.environment["REGISTRYD_TEST_SCRATCH"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        directory = scratch.appendingPathComponent("registryd-private-\(UUID().uuidString.prefix(8))").path
        adminURL = try TestPostgres.runScript(["start", directory]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        _ = try? TestPostgres.runScript(["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Kills the server the way a crash would (`pg_ctl stop -m immediate`).
    public func kill() throws { _ = try TestPostgres.runScript(["stop", directory, "immediate"]) }

    /// Starts the server again on the same data.
    public func start() throws { _ = try TestPostgres.runScript(["start", directory]) }
}

/// A fresh, migrated database and a pool on it.
public struct TestDatabase: Sendable {
    public let url: String
    public let pool: ConnectionPool

    /// Creates a database; applies the repository's migrations unless `migrated` is false.
    public init(
        migrated: Bool = true, poolSize: Int = 10, acquireTimeout: Duration = .seconds(5), statementTimeout: Duration? = nil,
        admin: String = TestPostgres.adminURL
    ) throws {
        url = try TestPostgres.createDatabase(admin: admin)
        pool = ConnectionPool(
            configuration: .init(connectionString: url, size: poolSize, acquireTimeout: acquireTimeout, statementTimeout: statementTimeout),
            logger: Logger(label: "test", level: .error, sink: LogSink.memory()))
        if migrated {
            let migrations = try Migration.load(from: TestPostgres.migrationsDirectory)
            try Migrator(migrations: migrations, logger: Logger(label: "test", level: .error)).migrate(on: pool)
        }
    }
}

/// A failure of the test harness itself.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension PrivateCluster {
    /// Freezes the server as a hung VM would: SIGSTOP on the postmaster and every process it
    /// started (backends included). Sockets stay open; nothing answers. Returns what `thaw` needs.
    public func freeze() throws -> [pid_t] {
        let pidFile = try String(contentsOfFile: "\(directory)/data/postmaster.pid", encoding: .utf8)
        guard let line = pidFile.split(separator: "\n").first, let postmaster = pid_t(line) else {
            throw TestFailure("no postmaster.pid in \(directory)")
        }
        let processes = [postmaster] + Self.children(of: postmaster)
        for pid in processes { Glibc.kill(pid, SIGSTOP) }
        return processes
    }

    /// Lets frozen processes run again (SIGCONT).
    public func thaw(_ processes: [pid_t]) {
        for pid in processes { Glibc.kill(pid, SIGCONT) }
    }

    /// The processes whose parent is `parent`, from /proc.
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let afterName = stat.range(of: ") ", options: .backwards) else { return nil }
            // Fields after the command name: state, then the parent's pid.
            let fields = stat[afterName.upperBound...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
        }
    }
}
