import DequeModule
import Foundation
import Testing

/// Two threads of their own for tests that compute for seconds without suspending.
///
/// Swift Testing runs every test concurrently on Swift's cooperative pool, which has as many
/// threads as the machine has cores (two on the project's machines). A test that simulates a
/// campaign and runs the engine over it holds one of those threads for as long as it computes
/// (up to 15 s here, three times that on a slow machine); two such tests at once held the
/// whole pool, and the live servers of the other suites could not answer a request until
/// one finished. Their clients then gave up, and the failure was the servers' although
/// nothing was wrong with them.
///
/// Tests marked ``Testing/Trait/onTheHeavyLane`` run instead on this lane: a task executor
/// (SE-0417, task executor preference) with two threads that share one queue of jobs. At
/// most two such tests compute at once, as before, but the cooperative pool stays free for
/// the servers and for every other test, and the kernel shares the cores among all of them.
///
/// A test on the lane must not block a lane thread waiting for work that itself needs the
/// lane (child tasks inherit the preference): with both threads so blocked, it would wait
/// for ever. Waits for threads, processes and pipes are fine.
public final class HeavyTestLane: TaskExecutor, @unchecked Sendable {
    /// The process's one lane (its threads live as long as the test process).
    public static let shared = HeavyTestLane(threads: 2)

    /// Whether the calling thread is one of the lane's. (A synchronous function:
    /// `Thread.current` cannot be read in an asynchronous one.)
    public static func isCurrentThreadOnTheLane() -> Bool {
        Thread.current.threadDictionary[marker] as? Bool == true
    }

    private static let marker = "DistillWatchTestSupport.HeavyTestLane"
    private let condition = NSCondition()
    private var jobs = Deque<UnownedJob>()

    private init(threads: Int) {
        for index in 0..<threads {
            Thread {
                // Named from inside: on Linux a name given before `start()` is not the
                // thread's (it keeps its creator's, often a dispatch worker's).
                Thread.current.name = "heavy-lane-\(index)"
                Thread.current.threadDictionary[Self.marker] = true
                self.work()
            }.start()
        }
    }

    /// Queues a job for the lane's threads, first in, first out. O(1) amortised (`Deque`).
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Runs each test case it applies to on ``HeavyTestLane/shared``, off Swift's cooperative pool.
public struct HeavyTestLaneTrait: TestTrait, SuiteTrait, TestScoping {
    /// Applied to a suite, every test in it (and in its nested suites) runs on the lane.
    public var isRecursive: Bool { true }

    /// The scope is each test case's: a suite's own scope is left alone, so that its test
    /// cases interleave on the lane as they would on the pool.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(HeavyTestLane.shared) { try await function() }
    }
}

extension Trait where Self == HeavyTestLaneTrait {
    /// Runs the test (or every test of the suite) on ``HeavyTestLane``: for tests that
    /// compute for seconds without suspending.
    public static var onTheHeavyLane: Self { HeavyTestLaneTrait() }
}
