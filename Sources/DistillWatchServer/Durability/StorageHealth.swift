import DistillWatchCore
import DistillWatchStore
import Logging
import ServiceLifecycle
import Synchronization

/// Whether the event log takes writes. A failed append (a full disk, an unwritable or
/// lost database) or a database file replaced under the server records a fault; while it
/// lasts, every route that writes answers 503 with the reason at once, without trying,
/// and `decide` keeps answering from memory. ``StorageMonitor`` clears the fault when a
/// probe write succeeds again.
final class StorageHealth: Sendable {
    struct Fault: Sendable, Equatable {
        var reason: String
        var since: Timestamp
    }

    private let state = Mutex<Fault?>(nil)
    private let metrics: ServerMetrics

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    var fault: Fault? { state.withLock { $0 } }

    /// Records a fault (the first reason and time are kept until it clears).
    /// - Returns: whether it is new (to log once).
    @discardableResult
    func record(_ reason: String, at time: Timestamp) -> Bool {
        let new = state.withLock { f -> Bool in
            if f != nil { return false }
            f = Fault(reason: reason, since: time)
            return true
        }
        if new {
            metrics.storageFaults.increment()
            metrics.storageAvailable.record(0)
        }
        return new
    }

    /// Clears the fault. - Returns: the fault cleared, if there was one.
    @discardableResult
    func clear() -> Fault? {
        let old = state.withLock { f -> Fault? in
            let old = f
            f = nil
            return old
        }
        if old != nil { metrics.storageAvailable.record(1) }
        return old
    }
}

/// Watches the database: every second it checks that the path still names the file the
/// server opened, and while a fault lasts it tries a probe write; when that succeeds (the
/// disk has room again, the permission or the file is back) the fault clears and ingest
/// resumes by itself.
struct StorageMonitor: Service {
    let store: any EventStore
    let health: StorageHealth
    let clock: WallClock
    let logger: Logger
    var interval = Duration.seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await check()
            }
        }
    }

    /// One check (the tests call it directly).
    func check() async {
        let now = clock.now()
        if let problem = store.fileProblem() {
            if health.record(problem, at: now) { logger.error("storage: \(problem); ingest and labels answer 503 until it is fixed") }
            return
        }
        guard let fault = health.fault else { return }
        do {
            try await Task { try await store.probeWrite(at: now) }.value
            health.clear()
            logger.notice("storage: writable again after \(fault.reason) (since \(fault.since)); ingest resumed")
        } catch {
            logger.debug("storage: still faulty: \(error)")
        }
    }
}
