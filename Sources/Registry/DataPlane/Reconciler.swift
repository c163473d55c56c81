import FoundationEssentials
import Log
import Postgres
import Threads

/// Repairs the database from the registries: on start-up and every `reconcileInterval`, reads each
/// region's catalog, tags and manifests (with a token registryd signs for itself) and makes the
/// images, manifests and tags of that region match, in both directions.
///
/// Needed because the registry keeps its notifications in memory: those queued when it restarts
/// are lost. Rows changed after a pass began are left alone (an event newer than the registry read
/// wins). One instance at a time reconciles a region: a session advisory lock per region, tried,
/// never waited for, so several registryd instances never fight over it. Each pass also forgets
/// event ids older than a day. Every second, the same thread deletes from the registries the
/// manifests of removed images and namespaces (`Reconciler+Deletions.swift`) and carries out the
/// tag and image deletions the API marked (`Reconciler+ContentDeletions.swift`).
public final class Reconciler: @unchecked Sendable {
    let settings: DataPlaneSettings
    let issuer: TokenIssuer
    let pool: ConnectionPool
    let logger: Logger
    private let condition = ConditionLock()
    private var isStopping = false
    private var isRunning = false

    /// `@unchecked Sendable`: the flags are guarded by `condition`; the rest never changes.
    init(settings: DataPlaneSettings, registry: RegistrySettings, database: DatabaseAccess, logger: Logger) {
        self.settings = settings
        issuer = TokenIssuer(settings: settings, registry: registry)
        pool = database.pool
        self.logger = logger
    }

    /// Starts the background thread; its first pass runs at once.
    public func start() {
        condition.withLock { isRunning = true }
        DetachedThread.start(name: "registry-reconciler") { [self] in run() }
    }

    /// Stops the thread and waits for its current pass to end.
    public func stop() {
        condition.withLock {
            isStopping = true
            condition.broadcast()
            while isRunning { condition.wait() }
        }
    }

    /// Reconciles every region that has a registry URL, now, on the calling thread.
    public func reconcileNow() {
        for (region, url) in settings.registryURLs.sorted(by: { $0.key < $1.key }) {
            do {
                let changed = try reconcile(region: region, client: RegistryClient(baseURL: url, region: region, issuer: issuer))
                if let changed, changed > 0 { logger.info("reconciled registry", ["region": .string(region), "images_changed": .int(changed)]) }
            } catch {
                logger.warning("reconciling registry failed", ["region": .string(region), "error": .string(Self.describe(error))])
            }
        }
        do {
            try pool.withConnection { connection in
                _ = try connection.query("DELETE FROM registry_events WHERE received_at < now() - interval '1 day'")
            }
        } catch {
            logger.warning("pruning registry event ids failed", ["error": .string(Self.describe(error))])
        }
    }

    /// One region; nil when another instance holds the region's lock.
    private func reconcile(region: String, client: RegistryClient) throws -> Int? {
        try pool.withConnection { connection -> Int? in
            let locked = try connection.query("SELECT pg_try_advisory_lock(hashtext('registryd.reconcile.' || $1))", [region])
            guard try locked.first?.bool(0) == true else { return nil }
            defer { _ = try? connection.query("SELECT pg_advisory_unlock(hashtext('registryd.reconcile.' || $1))", [region]) }
            let started = try connection.query("SELECT now()::text").first?.string(0) ?? ""
            var changed = 0
            var present = Set<String>()
            for name in try client.catalog() {
                guard let path = RepositoryName.split(name) else { continue }
                present.insert(name)
                // Manifests recorded whole: an index counts only when all its children are recorded too.
                let known = try connection.query(
                    """
                    SELECT m.digest FROM manifests m JOIN images i ON i.id = m.image_id JOIN namespaces n ON n.id = i.namespace_id
                     WHERE n.region = $1 AND n.name = $2 AND i.name = $3
                       AND NOT EXISTS (SELECT 1 FROM manifest_references r
                                        WHERE r.image_id = m.image_id AND r.manifest_digest = m.digest AND r.is_manifest
                                          AND NOT EXISTS (SELECT 1 FROM manifests c WHERE c.image_id = m.image_id AND c.digest = r.digest))
                    """, [region, path.namespace, path.image]).rows.map { try $0.string(0) }
                let content = try client.content(of: name, known: Set(known))
                if try ReconcileStatements.apply(content, region: region, path: path, since: started, on: connection) { changed += 1 }
            }
            changed += try ReconcileStatements.removeImages(region: region, notIn: present, since: started, on: connection)
            return changed
        }
    }

    /// Reconciles at once and then every `reconcileInterval`; works off the deletion queue every second.
    /// The log's text for `error`: a database error's full detail (the log, unlike a client, may see it).
    static func describe(_ error: Error) -> String {
        if let error = error as? PostgresError { return error.detail }
        return String(describing: error)
    }

    private func run() {
        var nextReconcile = ContinuousClock.now
        while !condition.withLock({ isStopping }) {
            if ContinuousClock.now >= nextReconcile {
                reconcileNow()
                nextReconcile = ContinuousClock.now.advanced(by: settings.reconcileInterval)
            }
            deleteQueuedManifests()
            carryOutMarkedDeletions()
            // On the monotonic clock (`ConditionLock`), so that a step of the wall clock cannot stretch it.
            let next = ContinuousClock.now.advanced(by: min(Self.deletionInterval, settings.reconcileInterval))
            condition.withLock {
                while !isStopping && condition.wait(until: next) {}
            }
        }
        condition.withLock {
            isRunning = false
            condition.broadcast()
        }
    }
}
