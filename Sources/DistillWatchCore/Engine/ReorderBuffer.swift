import HeapModule

/// Puts exchanges that arrive slightly out of order (as logs merged from several gateway
/// nodes do) back in time order before the engine sees them.
///
/// Every exchange waits in a min-heap keyed by (time, arrival number) until the
/// *watermark* — the latest time seen minus the tolerance — passes it. With input that is
/// never more than `tolerance` out of order, the output is exactly the input sorted by
/// (time, arrival number), however the input was split into batches. An exchange older
/// than the watermark on arrival is released at once and counted in ``lateExchanges``.
///
/// - Complexity: O(log n) per exchange, n being the exchanges inside one tolerance window.
public struct ReorderBuffer: Sendable {
    /// Heap entries stay small (24 bytes): the exchanges themselves wait in a slab, so
    /// sifting moves keys, not 400-byte records.
    struct Entry: Comparable, Sendable {
        var time: Int64
        var sequence: Int
        var slot: Int32

        static func < (a: Entry, b: Entry) -> Bool {
            a.time != b.time ? a.time < b.time : a.sequence < b.sequence
        }

        static func == (a: Entry, b: Entry) -> Bool { a.sequence == b.sequence }
    }

    public let toleranceMilliseconds: Int64
    private var heap = Heap<Entry>()
    private var slab: [Exchange?] = []
    private var freeSlots: [Int32] = []
    private var sequence = 0
    private var latest: Timestamp?
    /// Exchanges that arrived more than the tolerance behind the latest one.
    public private(set) var lateExchanges = 0

    /// Five minutes, the disorder that traffic format v1 allows.
    public static let defaultToleranceMilliseconds: Int64 = 5 * 60_000

    public init(toleranceMilliseconds: Int64 = ReorderBuffer.defaultToleranceMilliseconds) {
        self.toleranceMilliseconds = toleranceMilliseconds
    }

    public var count: Int { heap.count }

    /// Adds an exchange and calls `release` with every exchange the watermark has passed,
    /// in time order.
    public mutating func push(_ exchange: consuming Exchange, release: (Exchange) -> Void) {
        let time = exchange.time
        if let latest, time.milliseconds(since: latest) < 0 &- toleranceMilliseconds {
            lateExchanges += 1
        }
        if latest == nil || time > latest! { latest = time }
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slab[Int(free)] = consume exchange
        } else {
            slot = Int32(slab.count)
            slab.append(consume exchange)
        }
        heap.insert(Entry(time: time.millisecondsSinceEpoch, sequence: sequence, slot: slot))
        sequence += 1
        // Saturating: a caller that pushes times outside RecordLimits (TrafficScanner does
        // not) must not make the buffer trap.
        let watermark = latest!.millisecondsSinceEpoch.subtractingSaturating(toleranceMilliseconds)
        while let min = heap.min, min.time <= watermark {
            release(take(heap.removeMin()))
        }
    }

    private mutating func take(_ entry: Entry) -> Exchange {
        let exchange = slab[Int(entry.slot)].take()!
        freeSlots.append(entry.slot)
        return exchange
    }

    /// Releases everything still buffered, in time order (end of input).
    public mutating func drain(release: (Exchange) -> Void) {
        while let entry = heap.popMin() { release(take(entry)) }
    }
}
