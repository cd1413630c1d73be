import Testing
@testable import DistillWatchCore

/// ``ReorderBuffer``'s order: keys that arrive in order wait in a first-in-first-out run,
/// the others in a heap, and the two together must release exactly what one sorted
/// buffer would, when it would, through a snapshot, an overflow and a drain.
@Suite struct ReorderBufferTests {
    static let t0: Int64 = 1_795_000_000_000

    /// Arrival `n` of an input: its time in ms and its account names its arrival number.
    static func exchange(_ n: Int, at ms: Int64) -> Exchange {
        Exchange(time: Timestamp(millisecondsSinceEpoch: t0 + ms), accountID: "n\(n)")
    }

    /// `count` arrival times: a clock that advances with jitter, of which a share
    /// `disorder` arrive up to `lag` ms behind it (a slow gateway node), some with equal
    /// times (ties release in arrival order).
    static func times(count: Int, disorder: Double, lag: Int64, seed: UInt64) -> [Int64] {
        // Seeded (the core's SplitMix64), so that a failure names a seed to replay.
        var rng = SplitMix64(seed: seed)
        var clock: Int64 = 0
        return (0..<count).map { _ in
            clock += Int64.random(in: 0...40, using: &rng)
            if Double.random(in: 0..<1, using: &rng) < disorder { return max(0, clock - Int64.random(in: 1...lag, using: &rng)) }
            return clock
        }
    }

    /// What the buffer must do, written the plain way: every waiting key in one array,
    /// released in (time, arrival) order once the watermark passes it.
    struct SortedModel {
        let tolerance: Int64
        var waiting: [(time: Int64, n: Int)] = []
        var latest: Int64?

        mutating func push(_ n: Int, at time: Int64) -> [Int] {
            waiting.append((time, n))
            latest = max(latest ?? time, time)
            waiting.sort { $0.time != $1.time ? $0.time < $1.time : $0.n < $1.n }
            var out: [Int] = []
            while let first = waiting.first, first.time <= latest! - tolerance {
                out.append(waiting.removeFirst().n)
            }
            return out
        }

        mutating func drain() -> [Int] {
            defer { waiting = [] }
            return waiting.map(\.n)
        }
    }

    static func number(_ e: Exchange) -> Int { Int(e.accountID.dropFirst())! }

    /// After every push the buffer releases the same exchanges as the sorted model, in the
    /// same order: in-order input (all in the run), disordered input (run and heap mixed),
    /// and input mostly out of order (mostly the heap).
    @Test(arguments: [(0.0, UInt64(1)), (0.1, UInt64(2)), (0.3, UInt64(3)), (0.9, UInt64(4))])
    func releasesWhatOneSortedBufferWould(disorder: Double, seed: UInt64) {
        let tolerance: Int64 = 1_000
        var buffer = ReorderBuffer(toleranceMilliseconds: tolerance)
        var model = SortedModel(tolerance: tolerance)
        for (n, time) in Self.times(count: 3_000, disorder: disorder, lag: 900, seed: seed).enumerated() {
            var released: [Int] = []
            buffer.push(Self.exchange(n, at: time)) { released.append(Self.number($0)) }
            let expected = model.push(n, at: time)
            #expect(released == expected, "seed \(seed), arrival \(n)")
            if released != expected { return }
            #expect(buffer.count == model.waiting.count)
        }
        var drained: [Int] = []
        buffer.drain { drained.append(Self.number($0)) }
        #expect(drained == model.drain())
        #expect(buffer.count == 0 && buffer.lateExchanges == 0)
    }

    /// A key earlier than the run's last but later than the heap's minimum, and ties
    /// between the two: the smaller of the two minima goes first, ties by arrival.
    @Test func theSmallerMinimumOfRunAndHeapGoesFirst() {
        var buffer = ReorderBuffer(toleranceMilliseconds: 10_000)
        // Run: 100, 300, 300. Heap: 200 (after 300), 100 (tie with the run's first, later arrival), 250.
        let arrivals: [Int64] = [100, 300, 300, 200, 100, 250]
        for (n, time) in arrivals.enumerated() { buffer.push(Self.exchange(n, at: time)) { _ in Issue.record("released early") } }
        var out: [Int] = []
        buffer.drain { out.append(Self.number($0)) }
        #expect(out == [0, 4, 3, 5, 1, 2])
    }

    /// The overflow bound releases the oldest across run and heap.
    @Test func releaseOldestTakesFromBoth() {
        var buffer = ReorderBuffer(toleranceMilliseconds: 1_000_000)
        for (n, time) in ([500, 600, 100, 700, 50] as [Int64]).enumerated() { buffer.push(Self.exchange(n, at: time)) { _ in } }
        var out: [Int] = []
        #expect(buffer.releaseOldest(keeping: 2) { out.append(Self.number($0)) } == 3)
        #expect(out == [4, 2, 0])
        #expect(buffer.count == 2 && buffer.overflowReleases == 3)
    }

    /// A snapshot taken with keys in both the run and the heap continues exactly as the
    /// buffer that never stopped.
    @Test func aSnapshotWithRunAndHeapContinuesTheSame() throws {
        let times = Self.times(count: 2_000, disorder: 0.3, lag: 900, seed: 7)
        var buffer = ReorderBuffer(toleranceMilliseconds: 1_000)
        var before: [Int] = []
        for (n, time) in times.prefix(1_000).enumerated() { buffer.push(Self.exchange(n, at: time)) { before.append(Self.number($0)) } }
        #expect(buffer.count > 10)
        var w = SnapshotWriter()
        buffer.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var restored = try ReorderBuffer(from: &r)
        #expect(restored.count == buffer.count)
        var a: [Int] = [], b: [Int] = []
        for (k, time) in times.dropFirst(1_000).enumerated() {
            buffer.push(Self.exchange(1_000 + k, at: time)) { a.append(Self.number($0)) }
            restored.push(Self.exchange(1_000 + k, at: time)) { b.append(Self.number($0)) }
        }
        buffer.drain { a.append(Self.number($0)) }
        restored.drain { b.append(Self.number($0)) }
        #expect(a == b)
        #expect(Set(before + a).count == times.count)
    }
}
