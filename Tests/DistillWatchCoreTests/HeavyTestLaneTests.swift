import DistillWatchTestSupport
import Testing

private func onTheLane() -> Bool { HeavyTestLane.isCurrentThreadOnTheLane() }

/// Tests that compute for seconds run on the lane's threads, never on the cooperative pool
/// that the live servers of other suites answer on.
@Suite struct HeavyTestLaneTests {
    @Test(.onTheHeavyLane) func aMarkedTestAndItsChildTasksRunOnTheLane() async {
        #expect(onTheLane())
        async let child = onTheLane()
        let fromGroup = await withTaskGroup(of: Bool.self) { group in
            group.addTask { onTheLane() }
            return await group.next() ?? false
        }
        #expect(await child)
        #expect(fromGroup)
        await Task.yield()
        #expect(onTheLane(), "after a suspension too")
    }

    @Test(.onTheHeavyLane, arguments: 0..<4) func casesOfAMarkedTestEachRunOnTheLane(_ index: Int) {
        #expect(onTheLane(), "case \(index)")
    }

    @Test func anUnmarkedTestRunsOnThePool() {
        #expect(!onTheLane())
    }
}

/// A suite marked as a whole: each of its tests runs on the lane.
@Suite(.onTheHeavyLane) struct HeavyTestLaneSuiteTests {
    @Test func aTestOfAMarkedSuiteRunsOnTheLane() { #expect(onTheLane()) }
}
