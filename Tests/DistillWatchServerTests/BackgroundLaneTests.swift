import Foundation
import Testing
@testable import DistillWatchServer
#if canImport(Glibc)
import Glibc
#endif

@Suite struct BackgroundLaneTests {
    /// Jobs return their results to their callers; many at once all complete, each on one
    /// of the lane's threads (told apart by their nice value, which only they have).
    @Test func jobsRunOnTheLanesThreads() async {
        let lane = BackgroundLane(name: "lane-test", threads: 2, niceness: 5)
        let results = await withTaskGroup(of: (Int, Int, Int32).self) { group in
            for n in 0..<200 {
                group.addTask { await lane.run { (n, (0...n).reduce(0, +), Self.niceness()) } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.1 == $0.0 * ($0.0 + 1) / 2 })
        #if os(Linux)
        #expect(results.allSatisfy { $0.2 == min(19, Self.niceness() + 5) })
        #endif
    }

    /// The lane's threads are in the kernel's background class (`SCHED_IDLE`): a request
    /// handler that wakes preempts them at once. They carry the lane's name, as `top -H`
    /// shows it.
    @Test func threadsRunInTheIdleSchedulingClassUnderTheirName() async throws {
        #if os(Linux)
        let lane = BackgroundLane(name: "lane-idle", threads: 2, niceness: 3)
        let (policy, comm) = await lane.run {
            (BackgroundLane.currentPolicy(),
             (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
        }
        #expect(policy == BackgroundLane.schedIdle)
        #expect(["lane-idle-0\n", "lane-idle-1\n"].contains(comm))
        // The shared ingest lane serves every live-server test in this process: under a
        // loaded machine its watchdog may have raised it to the normal class (counted as a
        // starvation), where it stays until its queue empties. Only then is class 0 right.
        let ingest = await BackgroundLane.ingest.run { BackgroundLane.currentPolicy() }
        let raised = BackgroundLane.ingest.starvations > 0 && ingest == 0
        #expect(ingest == (BackgroundLane.ingest.usesIdleClass ? BackgroundLane.schedIdle : 0) || raised,
                "ingest lane policy \(ingest), \(BackgroundLane.ingest.starvations) starvations")
        #expect(BackgroundLane.ingest.usesIdleClass == BackgroundLane.canLeaveIdleClass(niceness: 10))
        // The caller's own thread is untouched.
        #expect(BackgroundLane.currentPolicy() != BackgroundLane.schedIdle)
        #endif
    }

    /// A lane thread busy for longer than the yield interval yields (``BackgroundLane/yieldIfDue()``
    /// called per item, as the decoding, apply and append loops do); the same loop on any
    /// other thread never does.
    @Test func laneThreadsYieldWhenDueAndOthersNever() async {
        #if os(Linux)
        /// Calls yieldIfDue until it yielded twice or `limit` ns passed; for each yield, the
        /// clock just before and just after the call.
        @Sendable func busy(_ limit: UInt64) -> [(before: UInt64, after: UInt64)] {
            let end = BackgroundLane.monotonicNanoseconds() + limit
            var yields: [(before: UInt64, after: UInt64)] = []
            while yields.count < 2, BackgroundLane.monotonicNanoseconds() < end {
                let before = BackgroundLane.monotonicNanoseconds()
                if BackgroundLane.yieldIfDue() { yields.append((before, BackgroundLane.monotonicNanoseconds())) }
            }
            return yields
        }
        let lane = BackgroundLane(name: "lane-yield", threads: 1, niceness: 2)
        let onLane = await lane.run { busy(30_000_000_000) }
        #expect(onLane.count == 2)
        // Not more often than the interval (the second is due an interval after the first).
        if onLane.count == 2 { #expect(onLane[1].after - onLane[0].before >= BackgroundLane.yieldInterval) }
        #expect(busy(3 * BackgroundLane.yieldInterval).isEmpty)
        #endif
    }

    /// Where the threads could not leave `SCHED_IDLE` again, they never enter it: a lane made
    /// without the idle class runs its jobs in the normal class at its niceness.
    @Test func withoutTheIdleClassThreadsRunInTheNormalClass() async {
        #if os(Linux)
        let lane = BackgroundLane(name: "lane-normal", threads: 1, niceness: 4, idleClass: false)
        let (policy, nice) = await lane.run { (BackgroundLane.currentPolicy(), Self.niceness()) }
        #expect(policy == 0)
        #expect(nice == 4)
        #expect(lane.starvations == 0)
        #endif
    }

    /// Normal-class threads that fill every core starve a `SCHED_IDLE` thread: a job of
    /// 50 ms of CPU waits seconds for them (6.7 s with the watchdog held off, 1 December
    /// 2026). The watchdog sees the job held past the starvation limit (100 ms here) with
    /// the thread getting under a tenth of a core, moves the lane to the normal class (and
    /// to nice 0 if it still starves), and the job ends in it while the spinning threads
    /// still run; the thread goes back to `SCHED_IDLE` and its niceness when it finds the
    /// queue empty. (Here the process can leave `SCHED_IDLE`: CI runs as root. Elsewhere
    /// the lane never enters it.)
    @Test func theWatchdogRescuesAStarvedLaneAndTheLaneGoesBackToIdle() async {
        #if os(Linux)
        guard BackgroundLane.canLeaveIdleClass(niceness: 6) else { return }
        let lane = BackgroundLane(name: "lane-starve", threads: 1, niceness: 6, starvationLimit: 100_000_000)
        /// Fills every core with normal-class spinning threads, queues a job of 50 ms of CPU
        /// on the lane, and returns what the job saw once it has stopped the spinners.
        func starve() -> JobOutcome {
            let spinners = ProcessInfo.processInfo.activeProcessorCount + 1
            let stop = SpinFlag()
            // The spinners' bound, should the lane never be rescued: long, since other tests in
            // this process may hold the cores and the cooperative pool too.
            let deadline = BackgroundLane.monotonicNanoseconds() + 60_000_000_000
            let finished = DispatchGroup()
            for _ in 0..<spinners {
                finished.enter()
                Thread {
                    stop.countStarted()
                    var spins = 0
                    while !stop.isSet {
                        spins &+= 1
                        if spins & 0xFFFF == 0, BackgroundLane.monotonicNanoseconds() > deadline {
                            stop.countTimeout()
                            break
                        }
                    }
                    finished.leave()
                }.start()
            }
            // From here to the job's end nothing waits for Swift's cooperative pool, which other
            // tests in this process may hold for seconds: every spinner runs before the job is
            // queued, and the job stops them itself.
            while stop.started < spinners { usleep(1_000) }
            let queuedAt = BackgroundLane.monotonicNanoseconds()
            let outcome = JobOutcome()
            let done = DispatchSemaphore(value: 0)
            lane.enqueue {
                outcome.startedAfter = BackgroundLane.monotonicNanoseconds() - queuedAt
                // 50 ms of this thread's own CPU time.
                var start = timespec(), now = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
                repeat { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) }
                while (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) < 50_000_000
                outcome.endedAfter = BackgroundLane.monotonicNanoseconds() - queuedAt
                outcome.endedWhileSpinning = stop.timeouts == 0
                outcome.policy = BackgroundLane.currentPolicy()
                stop.set()
                done.signal()
            }
            done.wait()
            finished.wait()
            return outcome
        }
        var outcome = starve()
        // The spinners starve a `SCHED_IDLE` thread only while the kernel runs them in its
        // stead. On this shared host the job has been seen to get a third of a core anyway
        // and end 140 ms after it was queued, not starved and rightly not raised (the
        // watchdog raises a thread that gets under a tenth of a core): such a run tests
        // nothing, so the experiment is made again, at most twice. A watchdog that fails
        // to raise a starved job still fails the test (the job then waits seconds).
        var attempts = 1
        while attempts < 3, lane.starvations == 0, outcome.policy == BackgroundLane.schedIdle,
              outcome.endedAfter < 500_000_000 {
            print("BackgroundLaneTests: the job was not starved (ended \(outcome.endedAfter / 1_000_000) ms after it was queued); again")
            outcome = starve()
            attempts += 1
        }
        let timing = "started \(outcome.startedAfter / 1_000_000) ms and ended \(outcome.endedAfter / 1_000_000) ms after it was queued"
        #expect(outcome.endedWhileSpinning, "the job waited for the spinning threads to stop: \(timing)")
        print("BackgroundLaneTests: the starved job \(timing), \(lane.starvations) raise(s)")
        #expect(lane.starvations >= 1)
        #expect(outcome.policy == 0, "the job ended in the normal class")
        // Once the thread has found the queue empty (a job queued at once may still find it
        // raised), its jobs run in SCHED_IDLE again.
        var policyAfter: Int32 = -1
        for _ in 0..<100 where policyAfter != BackgroundLane.schedIdle {
            try? await Task.sleep(for: .milliseconds(10))
            policyAfter = await lane.run { BackgroundLane.currentPolicy() }
        }
        #expect(policyAfter == BackgroundLane.schedIdle)
        #expect(await lane.run { Self.niceness() } == 6, "back at the lane's niceness")
        #endif
    }

    /// What the starved job saw, written on the lane's thread before it signals.
    final class JobOutcome: @unchecked Sendable {
        var policy: Int32 = -1
        var startedAfter: UInt64 = 0
        var endedAfter: UInt64 = 0
        var endedWhileSpinning = false
    }

    final class SpinFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        private var timedOut = 0
        private var startedCount = 0
        var started: Int { lock.lock(); defer { lock.unlock() }; return startedCount }
        func countStarted() { lock.lock(); startedCount += 1; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
        var timeouts: Int { lock.lock(); defer { lock.unlock() }; return timedOut }
        func set() { lock.lock(); value = true; lock.unlock() }
        func countTimeout() { lock.lock(); timedOut += 1; lock.unlock() }
    }

    struct Refused: Error, Equatable {}

    /// A job's error comes back to its caller (the store's appends: ``AppendLane``), and the
    /// lane goes on running jobs after it.
    @Test func aJobsErrorComesBackToItsCaller() async throws {
        let lane = BackgroundLane(name: "lane-throw", threads: 1, niceness: 1)
        await #expect(throws: Refused.self) { try await lane.run { () throws -> Int in throw Refused() } }
        #expect(try await lane.run { () throws -> Int in 42 } == 42)
    }

    static func niceness() -> Int32 {
        #if os(Linux)
        getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        0
        #endif
    }

    /// The lane's threads run at a lower priority than the rest of the process, so that
    /// request handlers get the cores first (Linux keeps the nice value per thread).
    @Test func threadsRunAtTheLanesNiceness() async {
        #if os(Linux)
        let lane = BackgroundLane(name: "lane-nice", threads: 2, niceness: 7)
        let inLane = await lane.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        let here = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #expect(inLane == here + 7 || inLane == 19)
        #expect(BackgroundLane.ingest.niceness == 10)
        let ingestNice = await BackgroundLane.ingest.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        // As in the scheduling-class test: the shared ingest lane may have been raised by its
        // watchdog (to niceness 0) when another live-server test starved it; only then is 0
        // right.
        let raised = BackgroundLane.ingest.starvations > 0 && ingestNice == 0
        #expect(ingestNice == min(19, here + 10) || raised,
                "ingest lane niceness \(ingestNice), \(BackgroundLane.ingest.starvations) starvations")
        #endif
    }
}
