import Dispatch

/// The engine on several threads, with the sequential engine's verdicts.
///
/// Of the three steps an exchange takes (``DetectionEngine/observeAccepted(_:)``), only the
/// second is per account: the first (the account's slot, the clock, the catalogues of
/// models, templates, reasoning blocks and keys) and the third (campaign linkage, which
/// compares the account with others, and the decision) read and write what many accounts
/// share, in exchange order. So exchanges are taken in batches:
///
/// - step 1 over a batch in order, then step 2 with the accounts *partitioned* across
///   threads: each takes, in order, the exchanges of the accounts whose
///   `CityHash64(account_id) % partitions` is its own (the partitioning of
///   ``AccountShard`` and of ClickHouse's sharding key), and writes the account's
///   ``AccountLinkView`` and ``AccountWindowView`` after each of its exchanges;
/// - step 3 over the batch in order, on another thread *while the next batch takes steps 1
///   and 2*: linkage reads other accounts only through their views as of each exchange,
///   and the two sides of the engine share no mutable state (the engine value is split
///   for the overlap: the linkage side, ``DetectionEngine/linkage``, the views, the first
///   flags, goes to one thread, the accounts side stays; first flags reach the account
///   states through ``DetectionEngine/flagLog`` once the two are joined).
///
/// Two things step 2 reads are global and change in step 1: the model catalogue (a new
/// model, a larger `max_tokens`) and the latest release. Step 2 is run before step 1 goes
/// past an exchange that would change the catalogue, so that every exchange's step 2 sees
/// it as of that exchange. Account records, labels and shared indicators reach the engine
/// between batches (the ``TrafficScanner`` runs what is pending first).
extension DetectionEngine {
    /// A batch that has taken steps 1 and 2 and waits for step 3.
    struct PreparedBatch: Sendable {
        var exchanges: [Exchange]
        var prepared: [PreparedExchange]
        var views: [AccountLinkView]
        var windows: [AccountWindowView?]

        var count: Int { exchanges.count }
    }

    /// Steps 1 and 2 of `batch`, step 2 on `partitions` threads (one: on this thread).
    /// - Complexity: O(batch × partitions) to deal exchanges to partitions (a comparison
    ///   each), plus the sequential engine's steps 1 and 2, step 2 divided among threads.
    mutating func prepareBatch(_ batch: [Exchange], partitions: Int) -> PreparedBatch {
        keepWindowViews(true)
        var out = PreparedBatch(
            exchanges: batch, prepared: [], views: [AccountLinkView](repeating: AccountLinkView(), count: batch.count),
            windows: [AccountWindowView?](repeating: nil, count: batch.count))
        out.prepared.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            // Step 1, up to the next change of the model catalogue.
            var end = start
            while end < batch.count {
                if end > start, let model = batch[end].model, models.wouldChange(name: model, maxTokens: batch[end].maxTokens) {
                    break
                }
                out.prepared.append(prepare(batch[end]))
                end += 1
            }
            // Step 2 of those exchanges (one partition: on this thread).
            let context = AccountStepContext(policy: policy, models: models, sharedIndicators: sharedIndicators,
                                             records: records, accountHashes: accountHashes)
            let range = start..<end
            let n = max(1, partitions)
            states.withUnsafeMutableBufferPointer { accounts in
                keys.states.withUnsafeMutableBufferPointer { keyStates in
                    out.prepared.withUnsafeBufferPointer { prepared in
                        out.views.withUnsafeMutableBufferPointer { views in
                            out.windows.withUnsafeMutableBufferPointer { windows in
                                let step = PartitionStep(
                                    accounts: accounts, keyStates: keyStates, prepared: prepared, views: views, windows: windows)
                                if n == 1 {
                                    step.run(part: 0, of: 1, range: range, batch: batch, context: context)
                                } else {
                                    DispatchQueue.concurrentPerform(iterations: n) { part in
                                        step.run(part: part, of: n, range: range, batch: batch, context: context)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            start = end
        }
        return out
    }

    /// Step 3 of a prepared batch, in order; `decided` gets each exchange's position in the
    /// batch and its decision.
    /// - Complexity: the sequential engine's step 3 per exchange.
    mutating func linkBatch(_ batch: PreparedBatch, decided: (Int, Decision) -> Void = { _, _ in }) {
        linkSteps(of: batch, decided: decided)
        applyFlagLog()
    }

    /// Step 3 alone: the first flags stay in ``flagLog`` (this may be the linkage side of a
    /// split engine, which has no account states).
    private mutating func linkSteps(of batch: PreparedBatch, decided: (Int, Decision) -> Void) {
        for j in 0..<batch.count {
            decided(j, linkAndSettle(batch.prepared[j], batch.exchanges[j], view: batch.views[j], window: batch.windows[j]))
        }
    }

    /// Takes `next` through steps 1 and 2 (step 2 on `partitions` threads) while `waiting`
    /// takes step 3 on another thread. The engine ends as the sequential engine would after
    /// `waiting`, with `next` half-way.
    /// - Returns: `next`, now waiting for its step 3, and the decisions of `waiting`'s
    ///   exchanges, in order (empty when `keepDecisions` is off).
    ///
    /// The engine is split for the overlap into its linkage side (linkage graph, link views
    /// and windows, first flags) and its accounts side (everything else), each owned by one
    /// thread, and joined after: O(1), no state is copied.
    mutating func observeOverlapped(next: [Exchange], waiting: PreparedBatch?, partitions: Int,
                                    keepDecisions: Bool = false) -> (next: PreparedBatch, decisions: [Decision]) {
        guard let waiting, !waiting.exchanges.isEmpty else { return (prepareBatch(next, partitions: partitions), []) }
        guard changeLog == nil else {
            // Linkage lists what it changes: one after the other, on this engine's own list.
            var decisions: [Decision] = []
            linkBatch(waiting) { _, d in if keepDecisions { decisions.append(d) } }
            return (prepareBatch(next, partitions: partitions), decisions)
        }
        var linker = self
        // Each side keeps only what it works on, so that neither copies the other's tables.
        linkage = LinkageGraph()
        linkViews = []
        linkWindows = []
        linkFlagged = []
        linker.states = []
        linker.records = []
        linker.accountIDs = []
        linker.accountSlots = AccountSlotTable()
        linker.keys = KeyTable()
        linker.templates = TemplateCatalog()
        linker.reasoning = ReasoningIndex()
        linker.signups = SignupIndex()
        linker.models = ModelCatalog()
        linker.latestTimes = []
        linker.accountHashes = []
        var result: PreparedBatch?
        var decisions: [Decision] = []
        if keepDecisions { decisions.reserveCapacity(waiting.count) }
        withUnsafeMutablePointer(to: &linker) { linker in
            withUnsafeMutablePointer(to: &self) { engine in
                withUnsafeMutablePointer(to: &result) { result in
                    withUnsafeMutablePointer(to: &decisions) { decisions in
                        let sides = OverlapSides(linker: linker, engine: engine, result: result, decisions: decisions)
                        DispatchQueue.concurrentPerform(iterations: 2) { side in
                            if side == 0 {
                                sides.linker.pointee.linkSteps(of: waiting) { _, d in
                                    if keepDecisions { sides.decisions.pointee.append(d) }
                                }
                            } else {
                                sides.result.pointee = sides.engine.pointee.prepareBatch(next, partitions: partitions)
                            }
                        }
                    }
                }
            }
        }
        linkage = linker.linkage
        linkViews = linker.linkViews
        linkWindows = linker.linkWindows
        linkFlagged = linker.linkFlagged
        flagLog = linker.flagLog
        applyFlagLog()
        return (result!, decisions)
    }

    /// The two halves of a split engine and the place for the accounts side's result: each
    /// pointer is used by one thread only.
    struct OverlapSides: @unchecked Sendable {
        let linker: UnsafeMutablePointer<DetectionEngine>
        let engine: UnsafeMutablePointer<DetectionEngine>
        let result: UnsafeMutablePointer<PreparedBatch?>
        let decisions: UnsafeMutablePointer<[Decision]>
    }

    /// What step 2 reads of the engine: constant during a batch's step 2.
    struct AccountStepContext: Sendable {
        let policy: Policy
        let models: ModelCatalog
        let sharedIndicators: SharedIndicatorSet
        let records: [AccountRecord?]
        let accountHashes: ContiguousArray<UInt64>
    }

    /// The memory step 2 writes: account and key states (each partition only its own
    /// accounts' and their keys'), and one view and window per exchange (each partition only
    /// its own exchanges').
    struct PartitionStep: @unchecked Sendable {
        let accounts: UnsafeMutableBufferPointer<AccountState>
        let keyStates: UnsafeMutableBufferPointer<KeyState>
        let prepared: UnsafeBufferPointer<PreparedExchange>
        let views: UnsafeMutableBufferPointer<AccountLinkView>
        let windows: UnsafeMutableBufferPointer<AccountWindowView?>

        func run(part: Int, of partitions: Int, range: Range<Int>, batch: [Exchange], context: AccountStepContext) {
            let n = UInt64(partitions), mine = UInt64(part)
            var accounts = self.accounts, keys = keyStates
            // Copied once per batch, to be read in place on every exchange.
            var policy = context.policy, models = context.models
            SignalContext.with(policy: &policy, models: &models, now: .init(millisecondsSinceEpoch: 0)) { signals in
                for j in range {
                    let p = prepared[j]
                    let i = Int(p.account)
                    guard context.accountHashes[i] % n == mine else { continue }
                    (views[j], windows[j]) = DetectionEngine.observeAccount(
                        &accounts[i], keyStates: &keys, batch[j], p, signals, sharedIndicators: context.sharedIndicators,
                        records: context.records, window: true)
                }
            }
        }
    }
}
