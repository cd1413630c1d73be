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
/// `SCHED_IDLE` alone starves the lane when normal-class work fills every core for long
/// (other processes on the host, a busy test process): its threads then get almost no time,
/// and ingest's callers wait until they time out. So a watchdog thread checks the lane every
/// quarter of ``starvationLimit``: a thread that has held a job for longer than the limit
/// while getting under a tenth of a core since the last check (`SCHED_IDLE` under full load
/// gets well under 1%; sharing a core with busy handlers, a lane thread gets more), or a
/// job queued for longer than the limit while a thread still waits in `take` (every job
/// queued wakes one), is a starvation; a backlog behind busy lane threads is not. The watchdog then raises the
/// lane's threads: first to the normal class (`SCHED_OTHER`) at nice +``niceness``, and if
/// the lane still starves a limit later, to nice 0, level with the request handlers. Each
/// thread goes back to `SCHED_IDLE` and nice +``niceness`` itself when it finds the queue
/// empty, no sooner than twice the limit after its last raise (so that a run of short jobs
/// under the same load does not starve once per job). Measured with three normal-class busy
/// loops on this 2-core machine (1 December 2026), the live-server suites (`swift test
/// --filter "DecideTests|LiteLLMRouteTests|HardeningTests|AnalystTests|ShardTests"`, 36
/// tests, a 20 s read timeout): 25 timeouts without the watchdog, 3 with the first raise
/// only, none with both (10.3 s, against 2.8 s on an idle machine).
///
/// Leaving `SCHED_IDLE` needs `CAP_SYS_NICE` or an `RLIMIT_NICE` of at least 20 − niceness,
/// and nice 0 one of 20 (sched(7), "The SCHED_IDLE policy"; getrlimit(2)). Where a probe
/// thread finds the first impossible, the lane's threads never enter `SCHED_IDLE` and run in
/// the normal class at nice +``niceness`` from the start: a lane that can starve for good is
/// worse than a slower decide tail. Where only the second is impossible, the first raise is
/// as far as the watchdog goes.
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
    /// How long (ns) a job may be held by a starved thread, or wait while a thread is free,
    /// before the watchdog raises the lane's threads (500 ms by default).
    let starvationLimit: UInt64
    /// Whether the threads run in `SCHED_IDLE` (``canLeaveIdleClass`` on this host).
    let usesIdleClass: Bool
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [@Sendable () -> Void] = []
    /// Guarded by `condition`: when each job in `jobs` was queued (monotonic ns).
    private var queuedAt: [UInt64] = []
    private var next = 0
    /// Guarded by `condition`, one entry per thread: what the watchdog needs to see it.
    private var threadStates: [ThreadState]
    /// Guarded by `condition`: how many times the watchdog raised the lane's threads.
    private var starvationCount = 0

    /// A lane thread as the watchdog sees it.
    private struct ThreadState {
        /// The kernel's thread id (0 until the thread has started).
        var threadID: pid_t = 0
        /// The thread's CPU-time clock (`pthread_getcpuclockid(3)`).
        var cpuClock = clockid_t()
        /// When the thread took its current job (monotonic ns); 0 between jobs.
        var jobStarted: UInt64 = 0
        /// In `take`'s wait for a job: woken by every job queued, so one queued while a
        /// thread still waits has found no time to run it.
        var waiting = false
        /// The thread's CPU time (ns) and the clock at the watchdog's last check.
        var lastCPU: UInt64 = 0
        var lastCheck: UInt64 = 0
        /// How far the watchdog raised it.
        var raised = Raise.none
        /// When the watchdog last raised it (monotonic ns).
        var raisedAt: UInt64 = 0
    }

    /// How far the watchdog raised a lane thread.
    private enum Raise {
        /// Not at all: `SCHED_IDLE` (or the normal class where the lane does not use it).
        case none
        /// To the normal class, at the lane's niceness.
        case normalClass
        /// To the normal class at nice 0, level with the request handlers.
        case niceZero
    }

    /// The default ``starvationLimit``: 500 ms, far above a batch's time on the lane
    /// (milliseconds) and far below a gateway's request timeout (seconds).
    static let defaultStarvationLimit: UInt64 = 500_000_000

    /// Starts `threads` threads that live as long as the process, and the lane's watchdog.
    /// - Parameters:
    ///   - niceness: the threads' nice value (absolute, 0–19).
    ///   - starvationLimit: see ``starvationLimit`` (ns).
    ///   - idleClass: whether to use `SCHED_IDLE`; `nil` uses it where the threads can leave it
    ///     again (``canLeaveIdleClass``).
    init(name: String, threads: Int, niceness: Int32, starvationLimit: UInt64 = defaultStarvationLimit,
         idleClass: Bool? = nil) {
        self.name = name
        self.niceness = niceness
        self.starvationLimit = starvationLimit
        self.usesIdleClass = idleClass ?? Self.canLeaveIdleClass(niceness: niceness)
        let count = max(1, threads)
        self.threadStates = Array(repeating: ThreadState(), count: count)
        for n in 0..<count {
            let threadName = "\(name)-\(n)"
            let thread = Thread { [self] in
                #if os(Linux)
                Self.nameCallingThread(threadName)
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
                if usesIdleClass {
                    var parameter = sched_param(sched_priority: 0)
                    _ = sched_setscheduler(0, Self.schedIdle, &parameter)
                }
                _ = pthread_setspecific(Self.yieldKey, UnsafeRawPointer(bitPattern: UInt(Self.monotonicNanoseconds() + Self.yieldInterval)))
                var clock = clockid_t()
                _ = pthread_getcpuclockid(pthread_self(), &clock)
                condition.lock()
                threadStates[n].threadID = Self.callingThreadID()
                threadStates[n].cpuClock = clock
                condition.unlock()
                #endif
                while true { take(n)() }
            }
            thread.name = threadName
            thread.stackSize = 1 << 20
            thread.start()
        }
        #if os(Linux)
        if usesIdleClass {
            let watchdog = Thread { [self] in
                Self.nameCallingThread(String("\(name)-watch".suffix(15)))
                while true {
                    usleep(useconds_t(starvationLimit / 4_000))
                    check(now: Self.monotonicNanoseconds())
                }
            }
            watchdog.name = "\(name)-watch"
            watchdog.stackSize = 1 << 18
            watchdog.start()
        }
        #endif
    }

    /// How many times the watchdog found the lane starved and raised its threads (to the
    /// normal class, then to nice 0).
    var starvations: Int {
        condition.lock()
        defer { condition.unlock() }
        return starvationCount
    }

    /// One watchdog check at `now` (monotonic ns): raises the lane's threads if one holds a
    /// job older than ``starvationLimit`` and got under a tenth of a core since the last
    /// check, or the oldest queued job is older than the limit while a thread still waits.
    /// The first raise moves a thread to the normal class at the lane's niceness; a raise at
    /// least the limit later, if the lane still starves, moves it to nice 0. That needs more
    /// privilege than the first (an `RLIMIT_NICE` of 20, or `CAP_SYS_NICE`), and where the
    /// kernel refuses it the thread stays at the first raise.
    /// O(threads), under the lane's lock.
    private func check(now: UInt64) {
        #if os(Linux)
        condition.lock()
        defer { condition.unlock() }
        var starved = false
        var someoneWaits = false
        for n in threadStates.indices {
            var time = timespec()
            let cpu = clock_gettime(threadStates[n].cpuClock, &time) == 0
                ? UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec) : 0
            let state = threadStates[n]
            if state.waiting {
                someoneWaits = true
            } else if state.jobStarted != 0, now &- state.jobStarted > starvationLimit, state.lastCheck != 0,
                      (cpu &- state.lastCPU) * 10 < now &- state.lastCheck {
                starved = true
            }
            threadStates[n].lastCPU = cpu
            threadStates[n].lastCheck = now
        }
        if next < jobs.count, someoneWaits, now &- queuedAt[next] > starvationLimit { starved = true }
        guard starved else { return }
        var raisedAny = false
        for n in threadStates.indices where threadStates[n].threadID != 0 {
            let id = threadStates[n].threadID
            switch threadStates[n].raised {
            case .none:
                var parameter = sched_param(sched_priority: 0)
                guard sched_setscheduler(id, Int32(SCHED_OTHER), &parameter) == 0 else { continue }
                threadStates[n].raised = .normalClass
            case .normalClass where now &- threadStates[n].raisedAt > starvationLimit:
                guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(id), 0) == 0 else { continue }
                threadStates[n].raised = .niceZero
            default:
                continue
            }
            threadStates[n].raisedAt = now
            raisedAny = true
        }
        if raisedAny { starvationCount += 1 }
        #endif
    }

    /// Whether a thread of this process at nice `niceness` can leave `SCHED_IDLE` for the
    /// normal class (sched(7)): found by a probe thread that tries it (one per call; the
    /// lanes call it once each, when made).
    /// - Complexity: one thread started and joined.
    static func canLeaveIdleClass(niceness: Int32) -> Bool {
        #if os(Linux)
        let result = ProbeResult()
        let done = DispatchSemaphore(value: 0)
        let probe = Thread {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            var parameter = sched_param(sched_priority: 0)
            if sched_setscheduler(0, schedIdle, &parameter) == 0 {
                result.value = sched_setscheduler(0, Int32(SCHED_OTHER), &parameter) == 0
            }
            done.signal()
        }
        probe.stackSize = 1 << 16
        probe.start()
        done.wait()
        return result.value
        #else
        return false
        #endif
    }

    private final class ProbeResult: @unchecked Sendable { var value = false }

    /// The calling thread's kernel id, read from `/proc/thread-self` (a link to
    /// `PID/task/TID`; Glibc's `gettid` is not exported to Swift). 0 if unreadable.
    private static func callingThreadID() -> pid_t {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/thread-self", &buffer, 63)
        guard count > 0 else { return 0 }
        let link = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return link.split(separator: "/").last.flatMap { pid_t($0) } ?? 0
        #else
        return 0
        #endif
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

    /// The next job for thread `index`; waits for one. A thread the watchdog raised goes back
    /// to `SCHED_IDLE` when it finds the queue empty, at least twice ``starvationLimit`` after
    /// it was raised (so that a run of short jobs under the same load does not starve once
    /// per job).
    private func take(_ index: Int) -> @Sendable () -> Void {
        Self.yieldIfDue()
        condition.lock()
        defer { condition.unlock() }
        threadStates[index].jobStarted = 0
        #if os(Linux)
        if next == jobs.count, threadStates[index].raised != .none,
           Self.monotonicNanoseconds() &- threadStates[index].raisedAt > 2 * starvationLimit {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            var parameter = sched_param(sched_priority: 0)
            _ = sched_setscheduler(0, Self.schedIdle, &parameter)
            threadStates[index].raised = .none
        }
        #endif
        threadStates[index].waiting = true
        while next == jobs.count { condition.wait() }
        threadStates[index].waiting = false
        let job = jobs[next]
        next += 1
        if next == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            queuedAt.removeAll(keepingCapacity: true)
            next = 0
        }
        threadStates[index].jobStarted = Self.monotonicNanoseconds()
        return job
    }

    /// Queues `job` for the lane's threads without waiting for it (``run(_:)`` waits).
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        queuedAt.append(Self.monotonicNanoseconds())
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
