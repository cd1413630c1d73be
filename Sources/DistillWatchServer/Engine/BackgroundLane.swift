import DistillWatchStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Threads of their own, in the kernel's background scheduling class, for ingest's work:
/// decoding a batch of lines, writing it to the event log (the SQLite transaction, and the
/// audit, quarantine, compaction and pruning writes: ``AppendLane``) and applying it to the
/// engine.
///
/// Without it, that work ran on Swift's cooperative pool (one thread per core, two here),
/// the same threads that answer `/v1/decide`: a decide request waited behind a slice of a
/// batch (hundreds of exchanges, milliseconds), and its p99 rose from about 1.2 ms to about
/// 7 ms while `/v1/exchanges` ran flat out (scripts/loadtest.sh, 30 November 2026).
///
/// The lane's threads run under `SCHED_IDLE` (sched(7)): the kernel preempts such a thread
/// as soon as a thread of the normal class wakes (Linux's fair scheduler,
/// `check_preempt_wakeup_fair`), so a request handler never waits for a slice of ingest
/// to end, and the lane still uses every cycle the handlers leave. Nice +``niceness`` is
/// set first, and stays if the policy cannot be set (a seccomp filter, a non-Linux
/// kernel). Linux keeps both per thread (`pid` 0 is the calling thread, setpriority(2)
/// "BUGS", sched_setscheduler(2)). Measured with `scripts/loadtest-decide.sh` (paced decide
/// under flat-out ingest, 30 November 2026): p99 2.36–2.46 ms at nice +10 or +19, 1.91 ms
/// under `SCHED_IDLE`, with ingest as fast (163,000 against 157,000 exchanges/s). The lane
/// is not starved by a saturating decide load either: with decide flat out (38,000
/// requests/s) ingest still ran at 108,000 exchanges/s.
///
/// Jobs run in the order they were queued (first in, first out) on whichever thread is
/// free; callers that need an order among their jobs (the ``Ingestor`` applying batches)
/// keep it themselves. The threads are named `dw-ingest-N` (as `top -H` shows them).
///
/// - Complexity: O(1) to queue a job; one thread hop there and one back per job.
final class BackgroundLane: AppendLane, @unchecked Sendable {
    /// The process's lane for ingest (one per process: servers in one test process share it).
    static let ingest = BackgroundLane(name: "dw-ingest", threads: max(2, ProcessInfo.processInfo.activeProcessorCount),
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
            let threadName = "\(name)-\(n)"
            let thread = Thread { [self] in
                #if os(Linux)
                Self.nameCallingThread(threadName)
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                var parameter = sched_param(sched_priority: 0)
                _ = sched_setscheduler(0, Self.schedIdle, &parameter)
                _ = pthread_setspecific(Self.yieldKey, UnsafeRawPointer(bitPattern: UInt(Self.monotonicNanoseconds() + Self.yieldInterval)))
                #endif
                while true { take()() }
            }
            thread.name = threadName
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Sets the calling thread's name as the kernel shows it (`comm`, 15 bytes), through
    /// `/proc/thread-self/comm` (proc(5); Glibc's `pthread_setname_np` is not exported to
    /// Swift). A failure leaves the inherited name.
    private static func nameCallingThread(_ name: String) {
        #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #endif
    }

    /// `SCHED_IDLE` from `<bits/sched.h>` (Glibc's module does not export it to Swift).
    static let schedIdle: Int32 = 5

    /// The calling thread's scheduling policy, to check a lane's threads.
    static func currentPolicy() -> Int32 {
        #if os(Linux)
        sched_getscheduler(0)
        #else
        0
        #endif
    }

    /// How long a lane thread runs before ``yieldIfDue()`` gives the core away (0.2 ms).
    static let yieldInterval: UInt64 = 200_000

    /// Per thread: when a lane thread should next yield (monotonic nanoseconds); unset on
    /// every other thread.
    private static let yieldKey: pthread_key_t = {
        var key = pthread_key_t()
        _ = pthread_key_create(&key, nil)
        return key
    }()

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        _ = clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// On a lane's thread, once ``yieldInterval`` has passed since it last did: calls
    /// `sched_yield(2)`, so that a request handler already queued on this core runs now.
    /// Elsewhere: nothing (one thread-local read).
    ///
    /// Why: `SCHED_IDLE` makes a waking handler preempt the lane, but a handler queued while
    /// another handler had the core waits for the core's next pick, and the kernel's pick
    /// (EEVDF, by virtual deadline) can give the lane a full slice first: `perf sched
    /// timehist` showed decide's threads runnable for up to 1.9 ms behind a lane thread
    /// (30 November 2026). Yielding moves the lane's deadline past every waiting thread's.
    /// Long loops on the lane call this per item (a line decoded, an input applied, a row
    /// written); it costs a clock read per call and a system call per interval.
    /// - Returns: whether it yielded.
    @discardableResult
    static func yieldIfDue() -> Bool {
        #if os(Linux)
        guard let raw = pthread_getspecific(yieldKey) else { return false }
        let now = monotonicNanoseconds()
        guard now >= UInt64(UInt(bitPattern: raw)) else { return false }
        _ = sched_yield()
        _ = pthread_setspecific(yieldKey, UnsafeRawPointer(bitPattern: UInt(monotonicNanoseconds() + yieldInterval)))
        return true
        #else
        return false
        #endif
    }

    /// ``yieldIfDue()`` for the store's rows (``AppendLane``).
    func yieldIfDue() { _ = Self.yieldIfDue() }

    private func take() -> @Sendable () -> Void {
        Self.yieldIfDue()
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

    /// Runs `body` on one of the lane's threads and returns its result or rethrows its
    /// error (the event log's appends: ``AppendLane``).
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { continuation.resume(with: Result { try body() }) }
        }
    }
}
