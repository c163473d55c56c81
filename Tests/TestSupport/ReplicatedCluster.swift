import Foundation
import Postgres

/// A PostgreSQL primary and a hot standby of it (`pg_basebackup -R`), each on a Unix socket of its
/// own, made by a test: the deployment of the README's "High availability" section in miniature.
///
/// The primary waits for the standby on every commit (`synchronous_standby_names = 'standby'`,
/// `synchronous_commit = on`), so a write acknowledged before the primary dies is on the standby.
/// Both live under `REGISTRYD_TEST_SCRATCH` when set: `make test` stops clusters left there even
/// when the test process crashes; `deinit` stops them otherwise.
public final class ReplicatedCluster: Sendable {
    public let primaryDirectory: String
    public let standbyDirectory: String
    /// The primary alone (administrative rights).
    public let primaryURL: String
    /// The standby alone (read-only until promoted).
    public let standbyURL: String

    public init() throws {
        let scratch = ProcessInfo.processInfo.environment["REGISTRYD_TEST_SCRATCH"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        let tag = UUID().uuidString.prefix(8)
        primaryDirectory = scratch.appendingPathComponent("registryd-primary-\(tag)").path
        standbyDirectory = scratch.appendingPathComponent("registryd-standby-\(tag)").path
        primaryURL = try TestPostgres.runScript(["start", primaryDirectory, "--primary"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        standbyURL = try TestPostgres.runScript(["standby", standbyDirectory, primaryDirectory])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        for directory in [standbyDirectory, primaryDirectory] {
            _ = try? TestPostgres.runScript(["stop", directory, "immediate"])
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Both servers in one libpq multi-host URL that only accepts the writable one
    /// (`target_session_attrs=read-write`): what `DATABASE_URL` holds in such a deployment.
    public var failoverURL: String {
        "\(primaryURL),\(Self.socket(of: standbyURL))&target_session_attrs=read-write"
    }

    /// The socket directory of a URL made by `pg-cluster.sh` (`...?host=DIR`).
    static func socket(of url: String) -> String {
        String(url[url.range(of: "host=")!.upperBound...])
    }

    /// `url` (made by this cluster) with its database replaced by `database`.
    public static func url(_ url: String, database: String) -> String {
        url.replacingOccurrences(of: "/postgres?", with: "/\(database)?")
    }

    /// Creates an empty database on the primary (replicated to the standby); returns its name.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try Connection(connectionString: primaryURL).execute("CREATE DATABASE \(name)")
        return name
    }

    /// Kills the primary as a dying machine would: SIGKILL to the postmaster and its children.
    public func killPrimary() throws { _ = try TestPostgres.runScript(["kill", primaryDirectory]) }

    /// Promotes the standby to primary (`pg_ctl promote`, waiting until it accepts writes).
    public func promoteStandby() throws { _ = try TestPostgres.runScript(["promote", standbyDirectory]) }

    /// Pauses or resumes WAL replay on the standby (`pg_wal_replay_pause()`/`_resume()`).
    public func setReplayPaused(_ paused: Bool) throws {
        try Connection(connectionString: standbyURL)
            .execute(paused ? "SELECT pg_wal_replay_pause()" : "SELECT pg_wal_replay_resume()")
    }
}
