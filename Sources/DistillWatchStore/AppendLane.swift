/// Threads on which a store runs the bulk writes that go on while ingest does (appends to
/// the event log and the decision audit log, quarantine, compaction after a snapshot,
/// history pruning: B-tree inserts and deletes, the WAL write and its fsync), instead of
/// GRDB's writer queue.
///
/// Why: GRDB's asynchronous `write` runs on a libdispatch worker at the process's normal
/// priority. Under flat-out ingest that worker used about half a core (4.45 s of CPU in 8 s,
/// `/proc/<pid>/task/*/stat`, 30 November 2026; compaction after each snapshot was most of
/// the rest) at the same priority as the threads that
/// answer `/v1/decide`, so a decide request could wait behind a commit. The server passes
/// its lower-priority ingest threads (`BackgroundLane` in DistillWatchServer).
public protocol AppendLane: Sendable {
    /// Runs `body` on one of the lane's threads and returns its result or rethrows its error.
    /// - Complexity: O(1) beyond `body`: one thread hop there and one back.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T

    /// Called by a job between the rows of a long write (every row appended, audit entry
    /// or quarantine entry): a lane whose threads run in the background gives the core to a
    /// waiting thread here when it has held it long enough. The default does nothing.
    /// - Complexity: O(1); must be cheap enough to call per row.
    func yieldIfDue()
}

extension AppendLane {
    public func yieldIfDue() {}
}
