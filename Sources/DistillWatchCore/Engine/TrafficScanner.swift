/// The engine behind its reorder buffer: what `scan`, `eval` and the server feed records
/// into. Input may be up to the tolerance (5 minutes) out of order; the engine sees it in
/// time order.
///
/// - Complexity: O(log w) per exchange for the buffer (w: exchanges within the
///   tolerance window) plus the engine's O(1).
public struct TrafficScanner: Sendable {
    /// The engine, with every exchange the reorder buffer released observed. With several
    /// ``engineThreads``, batches may be waiting: then this is a copy that observes them
    /// first (O(state): read it after ``finish(generatedAt:includeAllAccounts:)`` or
    /// ``flush(decided:)``, which observe them in place).
    public var engine: DetectionEngine {
        // Yielded in place (the server reads it on every decision): no copy of the engine.
        _read {
            if pending.isEmpty, waiting == nil {
                yield core
            } else {
                var settled = self
                settled.settle()
                yield settled.core
            }
        }
    }
    /// The engine itself (``engine`` observes waiting batches first).
    private var core: DetectionEngine
    public private(set) var buffer: ReorderBuffer
    /// Sketches exchanges that arrive with prompt text but no ``ContentFeatures`` (built in
    /// memory, e.g. by the simulator); `nil` leaves them as they are.
    public let sketcher: ContentSketcher?
    /// Hourly totals and sightings of every exchange accepted, when set (`scan --html`,
    /// `screen`); `nil` (the default) costs nothing. Not part of snapshots.
    public var activity: HourlyActivityLedger?
    /// Threads the engine runs on (see ``DetectionEngine/observeOverlapped(next:waiting:partitions:keepDecisions:)``):
    /// 1 (the default) observes each exchange as the reorder buffer releases it; with N > 1,
    /// released exchanges are gathered in batches of ``engineBatchSize``, campaign linkage
    /// of each batch runs on one thread while the next batch's accounts are updated on the
    /// other N - 1, partitioned by `CityHash64(account_id) % (N - 1)`. Verdicts, decisions
    /// and reports are the same for every N. Configuration, not state.
    public var engineThreads = 1 {
        didSet {
            settle()
            core.keepWindowViews(engineThreads > 1)
        }
    }
    /// Exchanges released by the buffer and not yet observed (several engine threads only).
    private var pending: [Exchange] = []
    /// The batch whose campaign linkage waits for the next batch (several engine threads).
    private var waiting: DetectionEngine.PreparedBatch?
    /// Exchanges per batch with several engine threads (at least 1): the default, 2,048, is
    /// enough that starting threads (a few microseconds) is small beside a batch's work, and
    /// few enough to stay in cache. Any size gives the same verdicts. Configuration.
    public var engineBatchSize = 2_048
    /// Whether the records the engine has observed are kept, for the caller to free on
    /// another thread (``takeRetiredRecords()``), rather than freed here as they go. Off by
    /// default. Configuration, not state: not in snapshots.
    ///
    /// Why: a record's last release destroys its fields (17 string references) and frees
    /// its buffer into the decoding thread's heap, about 700 instructions an exchange on
    /// the engine thread that sets a scan's pace (callgrind, 1 December 2026: the scanner's
    /// own work fell from 1,172 to 464 instructions an exchange). `scan` hands them back to
    /// its decoding thread, which has time to spare and allocated them.
    public var retiresRecords = false {
        didSet { if !retiresRecords { retiredRecords = []; retiredBatches = [] } }
    }
    /// Records observed since the last ``takeRetiredRecords()`` (one engine thread).
    private var retiredRecords: [Exchange] = []
    /// Batches observed since then (several engine threads).
    private var retiredBatches: [[Exchange]] = []

    /// - Parameter mergesRequestIDs: join exchanges that share a `request_id` (see
    ///   ``ReorderBuffer``): on in the server, where a gateway can report one request twice.
    public init(policy: Policy = .default, toleranceMilliseconds: Int64 = ReorderBuffer.defaultToleranceMilliseconds,
                sketcher: ContentSketcher? = nil, mergesRequestIDs: Bool = false) {
        core = DetectionEngine(policy: policy)
        buffer = ReorderBuffer(toleranceMilliseconds: toleranceMilliseconds, mergesRequestIDs: mergesRequestIDs)
        self.sketcher = sketcher
    }

    public mutating func register(_ account: AccountRecord) {
        settle()
        core.register(account)
    }

    /// Buffers an exchange; the engine observes it once the watermark passes it. An
    /// exchange outside ``RecordLimits`` is refused before the buffer (its time must not
    /// move the watermark) and counted in the engine's ``DetectionEngine/refusedExchanges``;
    /// one a decoder already checked (``Exchange/isCheckedWithinLimits``) is not checked again.
    public mutating func observe(_ exchange: consuming Exchange) {
        guard exchange.isCheckedWithinLimits || exchange.problem == nil else { core.refusedExchanges += 1; return }
        if activity != nil { activity!.record(exchange) }
        if let sketcher, exchange.content == nil { exchange = exchange.sketched(by: sketcher) }
        if engineThreads > 1 {
            buffer.push(consume exchange) { pending.append($0) }
            if pending.count >= max(1, engineBatchSize) {
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                let linked = waiting
                waiting = core.observeOverlapped(next: batch, waiting: linked, partitions: engineThreads - 1).next
                if retiresRecords, let linked { retiredBatches.append(linked.exchanges) }
            }
        } else {
            buffer.push(consume exchange) { released in
                core.observeAccepted(released)
                if retiresRecords { retiredRecords.append(released) }
            }
        }
    }

    /// The records observed since the last call, when ``retiresRecords`` is on (in no
    /// particular grouping), for the caller to free where it likes: dropping the arrays
    /// frees them. Empty when it is off.
    /// - Complexity: O(1).
    public mutating func takeRetiredRecords() -> [[Exchange]] {
        if !retiredRecords.isEmpty {
            let count = retiredRecords.count
            retiredBatches.append(retiredRecords)
            retiredRecords = []
            retiredRecords.reserveCapacity(count)
        }
        defer { retiredBatches = [] }
        return retiredBatches
    }

    /// Observes everything released and not yet observed (several engine threads), calling
    /// `decided` with each exchange of the pending batch and its decision (the waiting
    /// batch's decisions were not asked for).
    private mutating func settle(decided: (Exchange, Decision) -> Void = { _, _ in }) {
        if let batch = waiting {
            waiting = nil
            core.linkBatch(batch)
        }
        guard !pending.isEmpty else { return }
        let batch = core.prepareBatch(pending, partitions: max(1, engineThreads - 1))
        pending.removeAll(keepingCapacity: true)
        core.linkBatch(batch) { j, decision in decided(batch.exchanges[j], decision) }
    }

    /// Like ``observe(_:)``, and calls `decided` with each exchange the engine observed as a
    /// result, with its decision.
    /// With several ``engineThreads``, the exchanges released are observed before this
    /// returns.
    public mutating func observe(_ exchange: consuming Exchange, decided: (Exchange, Decision) -> Void) {
        guard exchange.problem == nil else { core.refusedExchanges += 1; return }
        if activity != nil { activity!.record(exchange) }
        if let sketcher, exchange.content == nil { exchange = exchange.sketched(by: sketcher) }
        if engineThreads > 1 {
            settle()
            buffer.push(consume exchange) { pending.append($0) }
            settle(decided: decided)
            return
        }
        buffer.push(consume exchange) { released in decided(released, core.observeAccepted(released)) }
    }

    /// Applies an analyst's label at `time` (see ``DetectionEngine/applyLabel(_:to:at:)``).
    /// Exchanges still in the reorder buffer are observed later, after the label, as they
    /// would be by any scanner fed the same sequence.
    @discardableResult
    public mutating func applyLabel(_ label: AnalystLabel, to accountID: String, at time: Timestamp) -> Decision {
        settle()
        return core.applyLabel(label, to: accountID, at: time)
    }

    /// Applies an analyst's label to a campaign (see
    /// ``DetectionEngine/applyCampaignLabel(_:toCampaign:at:)``); `false` if there is none.
    @discardableResult
    public mutating func applyCampaignLabel(_ label: AnalystLabel, toCampaign number: Int, at time: Timestamp) -> Bool {
        settle()
        return core.applyCampaignLabel(label, toCampaign: number, at: time)
    }

    /// Whether the engine lists what changes (``DetectionEngine/tracksChanges``).
    public var tracksChanges: Bool {
        get { core.tracksChanges }
        set {
            settle()
            core.tracksChanges = newValue
        }
    }

    /// What changed since the last call (``DetectionEngine/takeChanges()``).
    public mutating func takeChanges() -> EngineChanges {
        settle()
        return core.takeChanges()
    }

    /// Replaces the indicators shared by other providers
    /// (``DetectionEngine/replaceSharedIndicators(_:)``).
    public mutating func replaceSharedIndicators(_ set: SharedIndicatorSet) {
        settle()
        core.replaceSharedIndicators(set)
    }

    /// Lets the engine observe the oldest buffered exchanges until at most `limit` wait
    /// (see ``ReorderBuffer/releaseOldest(keeping:release:)``). - Returns: how many.
    @discardableResult
    public mutating func releaseOverflow(keeping limit: Int) -> Int {
        guard engineThreads > 1 else { return buffer.releaseOldest(keeping: limit) { core.observeAccepted($0) } }
        let released = buffer.releaseOldest(keeping: limit) { pending.append($0) }
        settle()
        return released
    }

    /// Lets the engine observe everything still buffered (end of input).
    public mutating func flush(decided: (Exchange, Decision) -> Void = { _, _ in }) {
        guard engineThreads > 1 else {
            buffer.drain { released in decided(released, core.observeAccepted(released)) }
            return
        }
        settle()
        buffer.drain { pending.append($0) }
        settle(decided: decided)
    }

    /// Flushes the buffer and builds the v1 report.
    public mutating func finish(generatedAt: Timestamp, includeAllAccounts: Bool = false) -> ScanReport {
        flush()
        var report = ScanReport(engine: core, generatedAt: generatedAt, includeAllAccounts: includeAllAccounts,
                                lateExchanges: buffer.lateExchanges)
        if buffer.mergesRequestIDs {
            report.input.mergedExchanges = buffer.mergedExchanges
            report.input.duplicateExchanges = buffer.duplicateExchanges
        }
        return report
    }
}

// MARK: Snapshot

extension TrafficScanner {
    /// The scanner's whole state (engine and reorder buffer) in the binary snapshot form
    /// of ``engineSnapshotFormat``: what a restart loads instead of replaying the log up to
    /// this point. The policy and the sketcher are configuration, not state: they are not
    /// written, and the caller must restore under the same ones.
    /// - Complexity: O(state): about the engine's memory, plus O(k log k) to sort the k
    ///   keys of its hash tables (the same state always gives the same bytes).
    public func snapshot() -> [UInt8] {
        guard pending.isEmpty, waiting == nil else {
            // Exchanges released to a batch are observed first, on a copy.
            var settled = self
            settled.settle()
            return settled.snapshot()
        }
        var w = SnapshotWriter(reservingCapacity: core.accountsKnown * 1_900 + (1 << 22))
        w.section("traffic scanner")
        core.write(to: &w)
        buffer.write(to: &w)
        w.section("traffic scanner end")
        return w.bytes
    }

    /// Restores a scanner from ``snapshot()``'s bytes. Continuing it with the inputs that
    /// followed gives exactly the state of a scanner that never stopped.
    /// - Parameters:
    ///   - policy, sketcher: the ones the snapshot was taken under.
    ///   - toleranceMilliseconds, mergesRequestIDs: what the caller expects; a snapshot
    ///     taken with other settings is refused (`nil` tolerance: the snapshot's own is
    ///     kept).
    /// - Throws: ``SnapshotError`` naming the byte and the problem when the bytes are not
    ///   such a snapshot (truncated, damaged, of another layout) or were taken with other
    ///   reorder settings.
    public init(snapshot bytes: [UInt8], policy: Policy, toleranceMilliseconds: Int64?, sketcher: ContentSketcher? = nil,
                mergesRequestIDs: Bool = false) throws(SnapshotError) {
        var r = SnapshotReader(bytes)
        try r.section("traffic scanner")
        core = try DetectionEngine(policy: policy, from: &r)
        buffer = try ReorderBuffer(from: &r)
        try r.section("traffic scanner end")
        guard r.isAtEnd else { throw SnapshotError("byte \(r.offset): \(bytes.count - r.offset) bytes follow the end of the state") }
        guard buffer.toleranceMilliseconds == toleranceMilliseconds ?? buffer.toleranceMilliseconds,
              buffer.mergesRequestIDs == mergesRequestIDs else {
            throw SnapshotError("""
                taken with a reorder tolerance of \(buffer.toleranceMilliseconds) ms\(buffer.mergesRequestIDs ? " merging request ids" : ""); \
                this scanner uses \(toleranceMilliseconds.map { "\($0)" } ?? "any") ms\(mergesRequestIDs ? " merging request ids" : "")
                """)
        }
        self.sketcher = sketcher
    }
}
