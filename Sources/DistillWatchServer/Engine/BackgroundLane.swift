import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Threads of their own, at a lower scheduling priority, for ingest's CPU work: decoding a
/// batch of lines and applying it to the engine.
///
/// Without it, that work ran on Swift's cooperative pool (one thread per core, two here),
/// the same threads that answer `/v1/decide`: a decide request waited behind a slice of a
/// batch (hundreds of exchanges, milliseconds), and its p99 rose from about 1.2 ms to about
/// 7 ms while `/v1/exchanges` ran flat out (scripts/loadtest.sh, 30 November 2026). On the
/// lane the work leaves the pool free, and the kernel gives a waking request handler the
/// core first: the lane's threads run at nice +``niceness`` (Linux keeps the nice value per
/// thread; `setpriority(PRIO_PROCESS, 0, …)` sets the calling thread's, see setpriority(2),
/// "BUGS"). Under CFS a nice +10 thread weighs 110 against a request handler's 1,024, so it
/// uses every core that answers nothing and yields within a scheduling tick when requests
/// come.
///
/// Jobs run in the order they were queued (first in, first out) on whichever thread is
/// free; callers that need an order among their jobs (the ``Ingestor`` applying batches)
/// keep it themselves.
///
/// - Complexity: O(1) to queue a job; one thread hop there and one back per job.
final class BackgroundLane: @unchecked Sendable {
    /// The process's lane for ingest (one per process: servers in one test process share it).
    static let ingest = BackgroundLane(name: "distillwatch-ingest", threads: max(2, ProcessInfo.processInfo.activeProcessorCount),
                                       niceness: 10)

    let name: String
    let niceness: Int32
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [@Sendable () -> Void] = []
    private var next = 0

    /// Starts `threads` threads that live as long as the process.
    init(name: String, threads: Int, niceness: Int32) {
        self.name = name
        self.niceness = niceness
        for n in 0..<max(1, threads) {
            let thread = Thread { [self] in
                #if os(Linux)
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                #endif
                while true { take()() }
            }
            thread.name = "\(name)-\(n)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func take() -> @Sendable () -> Void {
        condition.lock()
        defer { condition.unlock() }
        while next == jobs.count { condition.wait() }
        let job = jobs[next]
        next += 1
        if next == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            next = 0
        }
        return job
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on one of the lane's threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            enqueue { continuation.resume(returning: body()) }
        }
    }
}
