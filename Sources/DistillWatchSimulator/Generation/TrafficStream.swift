import DistillWatchCore

/// The merged traffic of every account of a plan, as an iterator of exchanges.
///
/// Each account plans its next exchange; a binary min-heap keyed by the time the gateway
/// writes the log line (arrival + latency) decides which account goes next. Records are
/// therefore in log order, and their `time` (arrival) is out of order by at most the
/// largest latency (3 minutes), as in logs merged from several gateway nodes.
///
/// - Complexity: O(log accounts) per exchange plus rendering; O(accounts) memory,
///   independent of the number of exchanges.
public struct TrafficStream: IteratorProtocol, Sendable {
    var accounts: [SimulatedAccount]
    let context: SimulationContext
    var heap: EventHeap
    /// Exchanges produced so far.
    public private(set) var produced = 0

    init(accounts: [SimulatedAccount], context: SimulationContext) {
        self.accounts = accounts
        self.context = context
        heap = EventHeap(capacity: accounts.count)
        for i in self.accounts.indices {
            let start = self.accounts[i].activeFrom - 1
            guard let arrival = self.accounts[i].nextArrival(after: start, context: context) else { continue }
            self.accounts[i].plan(arrival: arrival)
            heap.push(key: arrival + Int64(self.accounts[i].pending.latencyMilliseconds), index: Int32(i))
        }
    }

    public mutating func next() -> Exchange? {
        guard let top = heap.popMin() else { return nil }
        let i = Int(top.index)
        let exchange = accounts[i].render(context: context)
        let arrival = accounts[i].pending.arrival
        if let nextArrival = accounts[i].nextArrival(after: arrival, context: context) {
            accounts[i].plan(arrival: nextArrival)
            // Never earlier than the line just written: keeps log order monotonic and the
            // disorder of `time` within one latency.
            let key = max(top.key, nextArrival + Int64(accounts[i].pending.latencyMilliseconds))
            heap.push(key: key, index: top.index)
        }
        produced += 1
        return exchange
    }
}

/// A binary min-heap of (key, account index): the simulator's event queue.
/// (Core uses swift-collections' `Heap`; this module keeps its own 40 lines rather than add
/// a dependency for one use.)
struct EventHeap: Sendable {
    struct Entry: Sendable {
        var key: Int64
        var index: Int32
    }

    private var entries: [Entry] = []

    init(capacity: Int) { entries.reserveCapacity(capacity) }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// - Complexity: O(log n).
    mutating func push(key: Int64, index: Int32) {
        entries.append(Entry(key: key, index: index))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the smallest key (ties: smallest index, so the
    /// order never depends on insertion history). - Complexity: O(log n).
    mutating func popMin() -> Entry? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return first }
        entries[0] = last
        var parent = 0
        let n = entries.count
        while true {
            let left = 2 * parent + 1
            if left >= n { break }
            var smallest = left
            if left + 1 < n, less(left + 1, left) { smallest = left + 1 }
            guard less(smallest, parent) else { break }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
        return first
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        let x = entries[a], y = entries[b]
        return x.key < y.key || (x.key == y.key && x.index < y.index)
    }
}
