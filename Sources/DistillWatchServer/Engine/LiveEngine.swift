import DistillWatchCore
import DistillWatchStore
import Synchronization

/// The detection engine behind its reorder buffer, as the server holds it: changed only
/// by ``apply(_:lastSequence:)`` in log order, read by every endpoint.
///
/// The state is a value (the engine and its buffer) behind a mutex rather than in an
/// actor: a decide call reads it synchronously on the thread that parsed the request,
/// where an actor costs two more thread hops per call. On this 2-core machine that moved
/// the p99 of `/v1/decide` at 5,000 requests/s from 2.9-4.0 ms to 1.2-3.0 ms (noisy runs;
/// see Documentation/Server.md). Writers hold the lock for at most ``applySlice`` inputs.
///
/// It holds the same `TrafficScanner` that `scan` runs; the parity tests compare it with a
/// `TrafficScanner` fed directly.
final class LiveEngine: Sendable {
    private struct State {
        var scanner: TrafficScanner
        var appliedEvents = 0
        var lastSequence: Int64 = 0
        var acceptedExchanges = 0
    }

    private let state: Mutex<State>
    /// The answers `decide` reads (``DecisionBoard``), republished after every slice.
    let board = DecisionBoard()
    /// A live shard's verdicts from the campaign step across shards (empty otherwise).
    let campaignStep = CampaignStepVerdicts()
    /// Exchanges the reorder buffer holds at most (``ServerConfiguration/maxBufferedExchanges``).
    let maxBuffered: Int

    init(policy: Policy, toleranceMilliseconds: Int64, maxBuffered: Int = 500_000) {
        // The server joins the views a gateway gives of one request (a LiteLLM guardrail
        // call and its log share litellm_call_id) and absorbs redelivered batches.
        state = Mutex(State(scanner: TrafficScanner(policy: policy, toleranceMilliseconds: toleranceMilliseconds,
                                                    mergesRequestIDs: true)))
        self.maxBuffered = maxBuffered
    }

    /// An engine restored from a snapshot (``EngineSnapshot``): the log after
    /// `restored.lastSequence` is replayed into it next.
    init(restoring restored: EngineSnapshot.Restored, maxBuffered: Int) {
        state = Mutex(State(scanner: restored.scanner, appliedEvents: restored.appliedEvents,
                            lastSequence: restored.lastSequence, acceptedExchanges: restored.acceptedExchanges))
        self.maxBuffered = maxBuffered
    }

    /// Re-indexes the engine's shared indicators with `sharingKeys` (after a restore: a
    /// snapshot keeps the indicators, not the keys).
    func reindexSharedIndicators(sharingKeys: [SharingKey]) {
        state.withLock { s in
            let current = s.scanner.engine.sharedIndicators
            guard !current.isEmpty else { return }
            s.scanner.replaceSharedIndicators(SharedIndicatorSet(current.indicators, sharingKeys: sharingKeys))
        }
    }

    /// A copy of the state for a snapshot: O(1) under the lock (the scanner is a
    /// copy-on-write value; the tables are copied when the engine next changes them).
    /// Call it between batches (through the ``Ingestor``), so that the state is exactly
    /// that of the log up to `lastSequence`.
    func capture() -> EngineSnapshot.Restored {
        state.withLock { s in
            EngineSnapshot.Restored(scanner: s.scanner, appliedEvents: s.appliedEvents, lastSequence: s.lastSequence,
                                    acceptedExchanges: s.acceptedExchanges)
        }
    }

    /// Applies inputs in order; `lastSequence` is the log sequence of the last one.
    /// Labels apply to the engine at once; exchanges go through the reorder buffer.
    ///
    /// A large batch releases the lock every ``applySlice`` inputs so decide calls are not
    /// held up behind it; batches themselves never interleave, because the ``Ingestor``
    /// applies one at a time. The slices run on ``BackgroundLane/ingest``.
    func apply(_ inputs: [EngineInput], lastSequence: Int64) async {
        var done = 0
        while done < inputs.count {
            let start = done, end = min(inputs.count, done + Self.applySlice)
            // On the ingest lane, not the threads that answer decide (``BackgroundLane``).
            await BackgroundLane.ingest.run { [self] in
                state.withLock { s in
                    for input in inputs[start..<end] {
                        Self.apply(input, to: &s.scanner, acceptedExchanges: &s.acceptedExchanges)
                        // The bound is checked after every input, so a replay releases exactly
                        // the same exchanges early.
                        if s.scanner.buffer.count > maxBuffered { s.scanner.releaseOverflow(keeping: maxBuffered) }
                        BackgroundLane.yieldIfDue()
                    }
                    s.appliedEvents += end - start
                    if s.scanner.tracksChanges { Self.publish(s.scanner.takeChanges(), from: s.scanner.engine, to: board) }
                }
            }
            done = end
        }
        state.withLock { $0.lastSequence = max($0.lastSequence, lastSequence) }
    }

    static let applySlice = 512

    static func apply(_ input: EngineInput, to scanner: inout TrafficScanner, acceptedExchanges: inout Int) {
        switch input {
        case .exchange(let e):
            scanner.observe(e)
            acceptedExchanges += 1
        case .account(let a):
            scanner.register(a)
        case .accountLabel(let accountID, let label):
            scanner.applyLabel(label.label, to: accountID, at: labelTime(label, scanner))
        case .campaignLabel(let campaignID, let label):
            // Campaign numbers are given in log order, so a replay labels the same campaign.
            // Read leniently (`campaign-01` is campaign 1): logs written before the API took
            // only ``CampaignID``'s spelling hold labels it applied under other spellings.
            if let number = Int(campaignID.dropFirst("campaign-".count)), campaignID.hasPrefix("campaign-") {
                scanner.applyCampaignLabel(label.label, toCampaign: number, at: labelTime(label, scanner))
            }
        case .flush:
            scanner.flush()
        case .sharedIndicators(let set):
            scanner.replaceSharedIndicators(set)
        }
    }

    /// The engine applies a label as of its own time (the latest exchange it observed), so
    /// labels and traffic share one clock even when the traffic is historical; the wall
    /// time the analyst gave it is kept in the log for the record. Both are the same on
    /// replay: the engine's time at this point of the log does not change.
    static func labelTime(_ label: LabelEvent, _ scanner: TrafficScanner) -> Timestamp {
        scanner.engine.clock ?? label.at
    }

    // MARK: Publishing answers

    /// Publishes the parts of what changed (deduplicated). Runs under the engine's lock.
    /// - Complexity: O(distinct changes), plus formatting the contributing signals of
    ///   changed accounts with a score.
    private static func publish(_ changes: EngineChanges, from engine: borrowing DetectionEngine, to board: DecisionBoard) {
        guard !changes.isEmpty else { return }
        var seen = Set<Int32>()
        let accounts = changes.accounts.filter { seen.insert($0).inserted }.map { engine.accountAnswer(at: $0) }
        seen.removeAll(keepingCapacity: true)
        let keys = changes.keySlots.filter { seen.insert($0).inserted }.map { engine.keyAnswer(slot: $0) }
        seen.removeAll(keepingCapacity: true)
        let campaigns = changes.campaignRoots.filter { seen.insert($0).inserted }.compactMap { engine.campaignAnswer(root: $0) }
        board.publish(accounts: accounts, keys: keys, campaigns: campaigns)
    }

    /// Starts publishing answers: turns change tracking on, then publishes every account,
    /// key and campaign the engine holds, a chunk at a time (each under the lock, so the
    /// writer's own publications stay in order with these), and marks the board complete.
    /// Until then, a decide call for an account not yet on the board computes its answer
    /// from the engine as before. Called once the log is replayed.
    /// - Complexity: O(accounts + keys + campaigns), in chunks of `chunk`.
    func publishEverything(chunk: Int = 2_048) async {
        let (accounts, keys) = state.withLock { s -> (Range<Int32>, Range<Int32>) in
            s.scanner.tracksChanges = true
            var everyCampaign = EngineChanges()
            everyCampaign.campaignRoots = s.scanner.engine.campaignRoots
            Self.publish(everyCampaign, from: s.scanner.engine, to: board)
            return (s.scanner.engine.accountIndices, s.scanner.engine.keySlotIndices)
        }
        for (range, isKeys) in [(accounts, false), (keys, true)] {
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(range.upperBound, start + Int32(chunk))
                state.withLock { s in
                    var changes = EngineChanges()
                    if isKeys { changes.keySlots = Array(start..<end) } else { changes.accounts = Array(start..<end) }
                    Self.publish(changes, from: s.scanner.engine, to: board)
                }
                start = end
                await Task.yield()
            }
        }
        board.markComplete()
    }

    // MARK: Reading

    /// Runs `body` on the current engine state (keep it short: it holds the lock).
    func read<T>(_ body: (borrowing TrafficScanner) -> T) -> T {
        state.withLock { body($0.scanner) }
    }

    /// The account's decision (for API key `key`, when given: the key's own verdict raises
    /// the account's for that key only) and the signals that contributed, strongest first,
    /// from the published answers (``DecisionBoard``): no engine lock.
    /// - Complexity: O(1): two or three hash lookups and copying the answer.
    /// A live shard raises it to the account's verdict from the campaign step across shards
    /// (``CampaignStepVerdicts``), when that is stricter.
    func decide(_ accountID: String, key: String? = nil) -> LiveDecision {
        campaignStep.raise(ownDecision(accountID, key: key), accountID: accountID)
    }

    private func ownDecision(_ accountID: String, key: String?) -> LiveDecision {
        let complete = board.isComplete
        // While the board fills after a start, an account's keys may not be on it yet.
        if complete || key == nil, let entry = board.entry(accountID) { return board.answer(entry, key: key) }
        if complete { return LiveDecision(decision: .unknownAccount, known: false, reasons: [], label: nil) }
        // Before the board is complete (the first seconds after start): from the engine.
        return decideFromEngine(accountID, key: key)
    }

    /// ``decide(_:key:)`` computed from the engine under its lock: what the board must
    /// agree with (the parity test compares them on every account and key).
    func decideFromEngine(_ accountID: String, key: String? = nil) -> LiveDecision {
        read { scanner in
            let decision = scanner.engine.decision(for: accountID, key: key)
            guard scanner.engine.knows(accountID) else {
                return LiveDecision(decision: decision, known: false, reasons: [], label: nil)
            }
            let account = key == nil ? decision : scanner.engine.decision(for: accountID)
            var reasons = account.score > 0 ? scanner.engine.readings(for: accountID).contributing : []
            let keySummary = key.flatMap { scanner.engine.keySummary(for: accountID, key: $0) }
            if let keySummary, keySummary.score > 0 {
                // The key's own evidence first when it is what decides.
                let keyReasons = keySummary.readings.contributing
                reasons = keySummary.verdict >= account.verdict ? keyReasons + reasons : reasons + keyReasons
            }
            let campaign = scanner.engine.campaignMembership(of: accountID).flatMap { $0.verdict.isFlagged ? $0 : nil }
            return LiveDecision(decision: decision, known: true, reasons: reasons, label: scanner.engine.label(for: accountID),
                                campaign: campaign, key: keySummary,
                                verified: scanner.engine.record(for: accountID)?.verified == true,
                                signupRisk: scanner.engine.signupRisk(for: accountID).score,
                                accessRecord: scanner.engine.accessRecord(for: accountID))
        }
    }

    func summary(for accountID: String) -> AccountSummary? { read { $0.engine.summary(for: accountID) } }

    func readings(for accountID: String) -> [SignalReading] { read { $0.engine.readings(for: accountID) } }

    func record(for accountID: String) -> AccountRecord? { read { $0.engine.record(for: accountID) } }

    func label(for accountID: String) -> AnalystLabel? { read { $0.engine.label(for: accountID) } }

    /// The v1 report of the current state, as `scan` would write it for the traffic seen so
    /// far (exchanges still in the reorder buffer are not in it until flushed).
    /// - Complexity: O(accounts); the engine is copied (copy-on-write) under the lock and
    ///   the report built outside it, so decisions are not held up.
    func report(generatedAt: Timestamp, includeAllAccounts: Bool) -> ScanReport {
        let (engine, late, merged, duplicates) = read { ($0.engine, $0.buffer.lateExchanges, $0.buffer.mergedExchanges, $0.buffer.duplicateExchanges) }
        var report = ScanReport(engine: engine, generatedAt: generatedAt, includeAllAccounts: includeAllAccounts, lateExchanges: late)
        // The server always merges by request_id (as `scan --merge-request-ids` does).
        report.input.mergedExchanges = merged
        report.input.duplicateExchanges = duplicates
        return report
    }

    /// Exchanges that arrived after the reorder window had passed their time.
    func lateExchanges() -> Int { read { $0.buffer.lateExchanges } }

    func status() -> EngineStatus {
        state.withLock { s in
            EngineStatus(appliedEvents: s.appliedEvents, lastSequence: s.lastSequence, acceptedExchanges: s.acceptedExchanges,
                         observedExchanges: s.scanner.engine.exchangesObserved, buffered: s.scanner.buffer.count,
                         mergedExchanges: s.scanner.buffer.mergedExchanges, duplicateExchanges: s.scanner.buffer.duplicateExchanges,
                         overflowExchanges: s.scanner.buffer.overflowReleases, bufferLimit: maxBuffered,
                         accounts: s.scanner.engine.accountsKnown, clock: s.scanner.engine.clock)
        }
    }

    /// Counts of accounts by verdict, for the metrics gauges.
    /// - Complexity: O(accounts), under the lock (no copy of the engine).
    func verdictCounts() -> [Verdict: Int] {
        read { scanner in
            var counts: [Verdict: Int] = [:]
            for s in scanner.engine.accountSummaries where s.exchanges > 0 { counts[s.verdict, default: 0] += 1 }
            return counts
        }
    }
}

struct LiveDecision: Sendable, Equatable {
    var decision: Decision
    var known: Bool
    var reasons: [SignalReading]
    var label: AnalystLabel?
    /// The flagged campaign the account belongs to, when it has one.
    var campaign: CampaignMembership? = nil
    /// The API key asked about, when the engine knows it on this account.
    var key: DetectionEngine.KeySummary? = nil
    /// The account passed identity verification (its record says `verified`).
    var verified = false
    /// Its sign-up risk (``SignupRisk/score``).
    var signupRisk = 0.0
    /// Its tier and countries, when a model access policy is configured.
    var accessRecord: AccountRecord? = nil

    /// The key's own verdict decided (it is stricter than the account's).
    var keyDecides: Bool {
        guard let key else { return false }
        return key.verdict.isFlagged && key.verdict >= decision.verdict
    }

    /// Why a gateway refuses the account, in one sentence for the client and the logs:
    /// "DistillWatch: account acct-17 is blocked (member of campaign-3 (…); score 0.91:
    /// output_volume, cot_elicitation)", or "(confirmed by an analyst)".
    func refusal(of accountID: String) -> String {
        let verdict = decision.verdict
        let state = verdict == .block ? "blocked" : verdict == .throttle ? "throttled" : "under review"
        if keyDecides, let key {
            let signals = key.readings.filter { $0.contribution > 0 }.map(\.kind.rawValue).joined(separator: ", ")
            return "DistillWatch: API key \(key.apiKeyID) of account \(accountID) is \(state) (key score \(rounded4(key.score)): \(signals); the account's other keys are not)"
        }
        var why: [String] = []
        if label == .confirmedAttack { why.append("confirmed by an analyst") }
        if let campaign { why.append(campaign.detail) }
        if label != .confirmedAttack {
            let signals = reasons.prefix(3).map(\.kind.rawValue).joined(separator: ", ")
            why.append("score \(rounded4(decision.score))\(signals.isEmpty ? "" : ": " + signals)")
        }
        return "DistillWatch: account \(accountID) is \(state) (\(why.joined(separator: "; ")))"
    }
}

struct EngineStatus: Sendable, Codable, Equatable {
    var appliedEvents: Int
    var lastSequence: Int64
    var acceptedExchanges: Int
    var observedExchanges: Int
    var buffered: Int
    /// Exchanges merged into another with the same request id (a LiteLLM guardrail call
    /// and its logging payload), and duplicates dropped after their first copy was released.
    var mergedExchanges: Int
    var duplicateExchanges: Int
    /// Exchanges applied before their time because the buffer held its limit.
    var overflowExchanges: Int
    var bufferLimit: Int
    var accounts: Int
    var clock: Timestamp?

    enum CodingKeys: String, CodingKey {
        case appliedEvents = "applied_events"
        case lastSequence = "last_sequence"
        case acceptedExchanges = "accepted_exchanges"
        case observedExchanges = "observed_exchanges"
        case buffered = "buffered_exchanges"
        case mergedExchanges = "merged_exchanges"
        case duplicateExchanges = "duplicate_exchanges"
        case overflowExchanges = "overflow_exchanges"
        case bufferLimit = "buffer_limit"
        case accounts
        case clock = "engine_time"
    }
}
