import CMemoryHints
import DequeModule
import HeapModule

/// Puts exchanges that arrive slightly out of order (as logs merged from several gateway
/// nodes do) back in time order before the engine sees them.
///
/// Every exchange waits, keyed by (time, arrival number), until the *watermark* — the
/// latest time seen minus the tolerance — passes it. Keys that arrive in order (not
/// before the last key so kept) wait in a first-in-first-out *run*; the others in a
/// min-heap; the next released is the smaller of the two minima. Gateway logs are mostly
/// in order, so most exchanges never touch the heap: its sifting was about 550
/// instructions per exchange on an in-order file (callgrind, 1 December 2026), the run's
/// append and removal a few dozen. The release order is the same either way. With input that is
/// never more than `tolerance` out of order, the output is exactly the input sorted by
/// (time, arrival number), however the input was split into batches. An exchange older
/// than the watermark on arrival is released at once and counted in ``lateExchanges``.
///
/// With ``mergesRequestIDs`` on, an exchange whose account and `request_id` are already
/// waiting is not a second exchange but more of the same one: its fields are merged into
/// the waiting record (``Exchange/supplement(with:)``), which keeps its place. This joins
/// the two views a gateway can give of one request (a LiteLLM guardrail call before the
/// request, its logging payload after) and absorbs a redelivered batch. An account and
/// `request_id` released in the last ``releasedIDsRemembered`` exchanges is dropped once
/// as a duplicate. Both are counted; both are deterministic in the input order, so a
/// replay merges the same way.
///
/// A request has two views at most, so a waiting record takes one merge and a released
/// one absorbs one duplicate: a third exchange with the same id is a new exchange. A
/// client that sets its own request ids (an `x-request-id` a gateway passes through) can
/// thus halve its count, never hide its traffic; ids are keyed by account, so no one can
/// merge into another account's exchanges.
///
/// - Complexity: O(1) per exchange that arrives in order, O(log n) per other one, n being
///   the exchanges inside one tolerance window;
///   with ``mergesRequestIDs``, O(1) expected more per exchange with a `request_id`, and
///   O(``releasedIDsRemembered``) memory.
public struct ReorderBuffer: Sendable {
    /// Heap entries stay small (24 bytes): the exchanges themselves wait in a slab (one
    /// reference each, the record's fields in their own buffer), so sifting moves keys.
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
    /// Keys that arrived out of order (before the run's last key).
    private var heap = Heap<Entry>()
    /// Keys that arrived in order, ascending: the run's first is its minimum.
    private var run = Deque<Entry>()
    private var slab: [Exchange?] = []
    private var freeSlots: [Int32] = []
    private var sequence = 0
    private var latest: Timestamp?
    /// Exchanges that arrived more than the tolerance behind the latest one.
    public private(set) var lateExchanges = 0
    /// Whether exchanges with the same `request_id` are merged (see the type's discussion).
    public let mergesRequestIDs: Bool
    /// Released `request_id`s remembered to drop later duplicates.
    public let releasedIDsRemembered: Int
    /// Exchanges merged into one already waiting with the same `request_id`.
    public private(set) var mergedExchanges = 0
    /// Exchanges dropped because their `request_id` had already been released.
    public private(set) var duplicateExchanges = 0
    /// Exchanges released before the watermark passed them because the buffer was full
    /// (``releaseOldest(keeping:release:)``).
    public private(set) var overflowReleases = 0
    /// Waiting records by account and `request_id` (``mergeKey(_:)``).
    private var waitingSlots: [MergeKey: Int32] = [:]
    /// Whether the record in a slot has taken its one merge.
    private var slotMerged: [Bool] = []
    /// With merging on, the key of the record in each slot, kept from its arrival so that
    /// its release does not hash its strings again (rebuilt from the records when a
    /// snapshot is read).
    private var slotKeys: [MergeKey?] = []
    private var released = RecentIdentifiers<MergeKey>(capacity: 0)

    /// Five minutes, the disorder that traffic format v1 allows.
    public static let defaultToleranceMilliseconds: Int64 = 5 * 60_000

    /// - Parameters:
    ///   - toleranceMilliseconds: how far out of order input may be (ms).
    ///   - mergesRequestIDs: merge exchanges that share a `request_id`.
    ///   - releasedIDsRemembered: with merging on, how many released `request_id`s are
    ///     remembered to drop duplicates that arrive after their first copy was released.
    public init(toleranceMilliseconds: Int64 = ReorderBuffer.defaultToleranceMilliseconds,
                mergesRequestIDs: Bool = false, releasedIDsRemembered: Int = 1 << 16) {
        self.toleranceMilliseconds = toleranceMilliseconds
        self.mergesRequestIDs = mergesRequestIDs
        self.releasedIDsRemembered = mergesRequestIDs ? max(0, releasedIDsRemembered) : 0
        released = RecentIdentifiers(capacity: self.releasedIDsRemembered)
    }

    public var count: Int { heap.count + run.count }

    /// The next key to release: the smaller of the run's first and the heap's minimum.
    @inline(__always)
    private var next: Entry? {
        guard let first = run.first else { return heap.min }
        guard let min = heap.min, min < first else { return first }
        return min
    }

    /// Removes and returns ``next``.
    @inline(__always)
    private mutating func popNext() -> Entry? {
        guard let first = run.first else { return heap.popMin() }
        if let min = heap.min, min < first { return heap.removeMin() }
        return run.removeFirst()
    }

    /// Keeps `entry` in the run when it is not before the run's last key, else in the heap.
    @inline(__always)
    private mutating func insert(_ entry: Entry) {
        if let last = run.last, entry < last {
            heap.insert(entry)
        } else {
            run.append(entry)
        }
    }

    /// Adds an exchange and calls `release` with every exchange the watermark has passed,
    /// in time order.
    public mutating func push(_ exchange: consuming Exchange, release: (Exchange) -> Void) {
        let key = mergesRequestIDs ? Self.mergeKey(exchange) : nil
        if let key {
            if let index = waitingSlots.index(forKey: key) {
                let slot = waitingSlots.values[index]
                if !slotMerged[Int(slot)] {
                    slab[Int(slot)]!.supplement(with: exchange)
                    slotMerged[Int(slot)] = true
                    mergedExchanges += 1
                    return
                }
            } else if released.remove(key) {
                duplicateExchanges += 1
                return
            }
        }
        let time = exchange.time
        if let latest, time.milliseconds(since: latest) < 0 &- toleranceMilliseconds {
            lateExchanges += 1
        }
        if latest == nil || time > latest! { latest = time }
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slab[Int(free)] = consume exchange
            slotMerged[Int(free)] = false
            if mergesRequestIDs { slotKeys[Int(free)] = key }
        } else {
            slot = Int32(slab.count)
            slab.append(consume exchange)
            slotMerged.append(false)
            if mergesRequestIDs { slotKeys.append(key) }
        }
        if let key { waitingSlots[key] = slot }
        insert(Entry(time: time.millisecondsSinceEpoch, sequence: sequence, slot: slot))
        sequence += 1
        // Saturating: a caller that pushes times outside RecordLimits (TrafficScanner does
        // not) must not make the buffer trap.
        let watermark = latest!.millisecondsSinceEpoch.subtractingSaturating(toleranceMilliseconds)
        while let next, next.time <= watermark {
            release(take(popNext()!))
        }
        prefetchNext()
    }

    /// Asks the processor to load the record released next (``next``) while the
    /// caller goes on. The buffer holds a tolerance window of records (five minutes of 300
    /// exchanges a second is about 45 MB of record buffers): the next one to leave was
    /// written minutes ago and is no longer in any cache, and reading it cold was the
    /// buffer's main cost at scale. A hint only: nothing read or released depends on it.
    @inline(__always)
    private func prefetchNext() {
        guard let next else { return }
        slab.withUnsafeBufferPointer { records in
            // The slot holds one reference (an `Exchange` is its buffer's address; `nil`
            // is zero). Read it as a word: binding it as an `Exchange` would retain the
            // cold buffer, an atomic write that waits for the very miss the hint hides.
            assert(MemoryLayout<Exchange?>.size == MemoryLayout<UnsafeRawPointer?>.size)
            let address = UnsafeRawPointer(records.baseAddress! + Int(next.slot)).load(as: UnsafeRawPointer?.self)
            if let address { distillwatch_prefetch_read(address, Exchange.storedSize) }
        }
    }

    private mutating func take(_ entry: Entry) -> Exchange {
        let exchange = slab[Int(entry.slot)].take()!
        freeSlots.append(entry.slot)
        if mergesRequestIDs, let key = slotKeys[Int(entry.slot)].take() {
            // A newer record may hold the key (a third view); only this one's goes.
            if let index = waitingSlots.index(forKey: key), waitingSlots.values[index] == entry.slot {
                waitingSlots.remove(at: index)
            }
            released.insert(key)
        }
        return exchange
    }

    /// Account and `request_id`, or `nil` without an id.
    static func mergeKey(_ e: Exchange) -> MergeKey? {
        guard let id = e.requestID else { return nil }
        return MergeKey(account: e.accountID, requestID: id)
    }

    /// An account and `request_id`, with the hash of both computed once: an exchange takes
    /// part in up to six table operations (its lookup, the released ids, its insertion, its
    /// removal at release, the ring's insertion and eviction), and hashing the two strings
    /// at each one cost about 8,400 instructions an exchange (callgrind, 2 December 2026).
    /// Equality compares the fingerprints first, then both strings, so that two keys are
    /// equal exactly when their strings are.
    struct MergeKey: Hashable, Sendable {
        let account: String
        let requestID: String
        /// Swift's `Hasher` (seeded per process) over both strings: not predictable from
        /// outside, never written to a snapshot (recomputed when one is read).
        let fingerprint: Int

        init(account: String, requestID: String) {
            self.account = account
            self.requestID = requestID
            var hasher = Hasher()
            hasher.combine(account)
            hasher.combine(requestID)
            fingerprint = hasher.finalize()
        }

        static func == (a: MergeKey, b: MergeKey) -> Bool {
            a.fingerprint == b.fingerprint && a.account == b.account && a.requestID == b.requestID
        }

        func hash(into hasher: inout Hasher) { hasher.combine(fingerprint) }
    }

    /// Releases the oldest waiting exchanges, in time order, until at most `limit` wait:
    /// the bound that keeps memory fixed when exchange times stop advancing (a gateway
    /// whose clock stalled, a backfill of one old hour) and the watermark with them. Each
    /// is counted in ``overflowReleases``. Deterministic in the input order, so a replay
    /// with the same limit releases the same exchanges.
    /// - Returns: the number released. - Complexity: O(k log n) for k released.
    @discardableResult
    public mutating func releaseOldest(keeping limit: Int, release: (Exchange) -> Void) -> Int {
        var n = 0
        while count > max(0, limit), let entry = popNext() {
            release(take(entry))
            n += 1
        }
        overflowReleases += n
        return n
    }

    /// Releases everything still buffered, in time order (end of input).
    public mutating func drain(release: (Exchange) -> Void) {
        while let entry = popNext() { release(take(entry)) }
    }
}

/// The last `capacity` identifiers inserted, for membership tests: a ring and a set.
/// - Complexity: O(1) expected per operation; O(capacity) memory.
struct RecentIdentifiers<ID: Hashable & Sendable>: Sendable {
    private var ring: [ID?]
    private var members: Set<ID> = []
    private var next = 0

    init(capacity: Int) {
        ring = Array(repeating: nil, count: capacity)
    }

    func contains(_ id: ID) -> Bool { members.contains(id) }

    /// Forgets `id` (its ring entry stays until overwritten); whether it was there.
    mutating func remove(_ id: ID) -> Bool { members.remove(id) != nil }

    mutating func insert(_ id: ID) {
        // Two set operations, not three: insert first, then forget the place's former
        // identifier unless it is this one (a removed id keeps its place in the ring).
        guard !ring.isEmpty, members.insert(id).inserted else { return }
        if let old = ring[next], old != id { members.remove(old) }
        ring[next] = id
        next = next + 1 == ring.count ? 0 : next + 1
    }
}

// MARK: Snapshot

extension ReorderBuffer: SnapshotCodable {
    /// Stored properties, each written (the heap and the run as one list of keys).
    static var snapshotFieldCount: Int { 16 }

    func write(to w: inout SnapshotWriter) {
        w.section("reorder buffer")
        w.int(toleranceMilliseconds)
        w.bool(mergesRequestIDs)
        w.int(Int64(releasedIDsRemembered))
        // The order among entries is total (time, then arrival), so neither the heap's
        // layout nor which entries were in the run need be kept: the same entries release
        // in the same order. Written sorted, so that the same waiting exchanges always
        // give the same bytes; read back as one run.
        w.array((Array(heap.unordered) + Array(run)).sorted()) { w, e in
            w.int(e.time)
            w.int(Int64(e.sequence))
            w.int(e.slot)
        }
        w.array(slab) { w, e in w.optional(e) { $0.value($1) } }
        w.array(freeSlots) { $0.int($1) }
        w.int(Int64(sequence))
        w.optional(latest) { $0.timestamp($1) }
        w.int(Int64(lateExchanges))
        w.int(Int64(mergedExchanges))
        w.int(Int64(duplicateExchanges))
        w.int(Int64(overflowReleases))
        w.array(waitingSlots.sorted { $0.value < $1.value }) { w, entry in
            w.string(entry.key.account)
            w.string(entry.key.requestID)
            w.int(entry.value)
        }
        w.array(slotMerged) { $0.bool($1) }
        w.value(released)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        try r.section("reorder buffer")
        let tolerance: Int64 = try r.int()
        let merges = try r.bool()
        let remembered = Int(try r.int(Int64.self))
        self.init(toleranceMilliseconds: tolerance, mergesRequestIDs: merges, releasedIDsRemembered: remembered)
        // Sorted again on reading: a snapshot written before the run existed lists the
        // heap's layout.
        run = Deque(try r.array(minimumElementSize: 20) { (r: inout SnapshotReader) throws(SnapshotError) in
            Entry(time: try r.int(), sequence: Int(try r.int(Int64.self)), slot: try r.int())
        }.sorted())
        slab = try r.array(minimumElementSize: 1) { (r: inout SnapshotReader) throws(SnapshotError) in
            try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.value(Exchange.self) }
        }
        freeSlots = try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        sequence = Int(try r.int(Int64.self))
        latest = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        lateExchanges = Int(try r.int(Int64.self))
        mergedExchanges = Int(try r.int(Int64.self))
        duplicateExchanges = Int(try r.int(Int64.self))
        overflowReleases = Int(try r.int(Int64.self))
        let waiting = try r.array(minimumElementSize: 12) { (r: inout SnapshotReader) throws(SnapshotError) in
            (MergeKey(account: try r.string(), requestID: try r.string()), try r.int(Int32.self))
        }
        waitingSlots = Dictionary(waiting, uniquingKeysWith: { a, _ in a })
        slotMerged = try r.array(minimumElementSize: 1) { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        if merges { slotKeys = slab.map { $0.flatMap(Self.mergeKey) } }
        released = try r.value()
        let slots = slab.count
        guard slotMerged.count == slots, run.allSatisfy({ $0.slot >= 0 && Int($0.slot) < slots && slab[Int($0.slot)] != nil }),
              freeSlots.allSatisfy({ $0 >= 0 && Int($0) < slots }), waitingSlots.values.allSatisfy({ $0 >= 0 && Int($0) < slots }) else {
            throw SnapshotError("the reorder buffer's slots do not match its \(slots) records")
        }
    }
}

extension RecentIdentifiers: SnapshotCodable where ID == ReorderBuffer.MergeKey {
    static var snapshotFieldCount: Int { 3 }

    /// Each ring place with its identifier and whether it is still a member (a removed
    /// identifier keeps its place until overwritten).
    func write(to w: inout SnapshotWriter) {
        w.array(ring) { w, id in
            w.optional(id) { w, id in
                w.string(id.account)
                w.string(id.requestID)
                w.bool(members.contains(id))
            }
        }
        w.int(Int64(next))
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        var members: Set<ID> = []
        ring = try r.array(minimumElementSize: 1) { (r: inout SnapshotReader) throws(SnapshotError) in
            try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in
                let id = ReorderBuffer.MergeKey(account: try r.string(), requestID: try r.string())
                if try r.bool() { members.insert(id) }
                return id
            }
        }
        self.members = members
        next = Int(try r.int(Int64.self))
        guard next >= 0, next < max(1, ring.count) else { throw SnapshotError("the ring's next place \(next) is outside its \(ring.count)") }
    }
}
