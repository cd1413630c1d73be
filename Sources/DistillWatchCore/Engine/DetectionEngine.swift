import CMemoryHints
import RealModule

/// The detection engine: a value-type state machine that takes exchanges in time order
/// and answers a ``Decision`` for each.
///
/// It does no I/O and reads no clock: the time of each exchange is the engine's time.
/// The same engine runs under `distillwatch scan` (over files) and the live server (over
/// HTTP), so the same traffic gives the same verdicts.
///
/// ```swift
/// var engine = DetectionEngine(policy: .default)
/// engine.register(AccountRecord(accountID: "acct-1", tier: "free"))
/// let decision = engine.observe(exchange)
/// if decision.verdict == .block { ... }
/// ```
///
/// - Complexity: ``observe(_:)`` is O(1) amortised (one hash lookup, fixed-size updates,
///   thirteen signals, a few key lookups for campaign linkage, and at the account's
///   milestones a few dozen pair comparisons). Memory is O(accounts + models + shared
///   keys): about 2.1 KB per account (see ``approximateBytesPerAccount``), plus the
///   linkage key index (bounded), independent of the number of exchanges.
public struct DetectionEngine: Sendable {
    public private(set) var policy: Policy
    /// Each account's slot in the per-account tables, by id.
    var accountSlots = AccountSlotTable()
    var accountIDs: [String] = []
    var states: ContiguousArray<AccountState> = []
    /// What linkage reads of each account, as of its latest exchange linked
    /// (``AccountLinkView``); derived from `states`, rebuilt on restore.
    var linkViews: ContiguousArray<AccountLinkView> = []
    /// The rest of what linkage reads of each account (``AccountWindowView``), kept only
    /// while ``keepsWindowViews`` (several engine threads: linkage cannot read the states
    /// then); empty otherwise, and linkage reads the state. Derived.
    var linkWindows: ContiguousArray<AccountWindowView> = []
    /// Whether `linkWindows` is kept (about 230 bytes per account). Configuration.
    private(set) var keepsWindowViews = false
    /// Accounts whose first flag linkage has recorded (their states learn it from
    /// ``flagLog``). Derived from the states' `firstFlaggedAt`.
    var linkFlagged: ContiguousArray<Bool> = []
    /// First flags recorded by linkage and not yet written to the account states.
    var flagLog: [FirstFlag] = []
    /// Each account's latest exchange time as the ordered first step saw it (`Int64.min`:
    /// none yet): the account's `lastSeen` before the per-account step has run. Derived.
    var latestTimes: ContiguousArray<Int64> = []
    /// `CityHash64` of each account id: its partition among N engine threads is this
    /// modulo N, as an ``AccountShard`` (ClickHouse's `cityHash64(account_id) % N`). Derived.
    var accountHashes: ContiguousArray<UInt64> = []
    var records: [AccountRecord?] = []
    var models = ModelCatalog()
    var templates = TemplateCatalog()
    /// Links between accounts and the campaigns they form.
    var linkage = LinkageGraph()
    /// Who opened accounts together (sign-up risk, ``signupRisk(for:)``).
    var signups = SignupIndex()
    /// Who was served recent reasoning-bearing exchanges (for `reasoning_replay`).
    var reasoning = ReasoningIndex()
    /// Every account's API keys (and its traffic without a key id, as key ""), judged on
    /// their own for `sudden_change` and `key_sharing`.
    var keys = KeyTable()
    /// The latest exchange time observed.
    public private(set) var clock: Timestamp?
    public private(set) var firstTime: Timestamp?
    public private(set) var exchangesObserved = 0
    /// Exchanges that arrived older than an earlier one of the same account; they are
    /// counted at that account's latest time.
    public private(set) var outOfOrderExchanges = 0
    /// Exchanges refused because a value was outside ``RecordLimits`` (readers reject such
    /// records first; this guards callers that build exchanges themselves).
    public internal(set) var refusedExchanges = 0
    /// Account records refused for the same reason.
    public private(set) var refusedAccountRecords = 0
    /// Data families some input carried, one bit per `DataFamily` case (volume and timing
    /// come with every exchange).
    private var familyBits: UInt16 = DataFamily.volume.bit | DataFamily.timing.bit
    /// What changed since the last ``takeChanges()``, when ``tracksChanges`` is on (a
    /// server publishing answers); `nil` otherwise. Transient: not in snapshots.
    var changeLog: EngineChanges?
    /// Indicators imported from other providers (empty: the `shared_indicator` signal has
    /// no data). Snapshots keep the indicators, not the sharing keys (the server's
    /// configuration gives those: ``replaceSharedIndicators(_:)`` after a restore).
    public private(set) var sharedIndicators = SharedIndicatorSet()

    public init(policy: Policy = .default) {
        self.policy = policy
    }

    // MARK: Accounts

    /// Records (or updates) what the provider knows about an account: tier, creation time,
    /// allowlisting. Fields absent from `record` keep their previous values. An analyst's
    /// `confirmed_attack` label outranks `allowlisted`: the account stays blocked. A record
    /// with a value outside ``RecordLimits`` changes nothing but ``refusedAccountRecords``.
    /// - Complexity: O(1) amortised.
    public mutating func register(_ record: AccountRecord) {
        guard record.problem == nil else {
            refusedAccountRecords += 1
            return
        }
        let i = Int(slot(for: record.accountID))
        changeLog?.accounts.append(Int32(i))
        if var existing = records[i] {
            existing.merge(record)
            records[i] = existing
        } else {
            records[i] = record
        }
        let merged = records[i]!
        let cohort = signups.place(Int32(i), signupKeys(merged))
        if !cohort.isEmpty { changeLog?.accounts.append(contentsOf: cohort) }
        states[i].hasRecord = true
        states[i].tierProfile = policy.tierProfile(merged.tier)
        states[i].created = merged.created
        let tier = merged.tier?.lowercased()
        let selfServeTier = tier == nil || tier == "free" || tier == "standard"
        states[i].verifiedOrganisation = merged.verified == true && !selfServeTier
        states[i].unverifiedSelfServe = selfServeTier && merged.verified != true
        states[i].planPriceUSD = merged.planPriceUSD ?? 0
        if merged.planPriceUSD != nil { familyBits |= DataFamily.cost.bit }
        states[i].allowlisted = merged.allowlisted == true
            || policy.allowlist.contains(accountID: merged.accountID, record: merged)
        familyBits |= DataFamily.accounts.bit
        if sharedIndicators.hasEmailDomains {
            let found = sharedIndicators.matches(merged, at: clock ?? merged.created ?? Timestamp(millisecondsSinceEpoch: 0))
            if !found.isEmpty { states[i].noteShared(found, in: sharedIndicators, at: clock ?? Timestamp(millisecondsSinceEpoch: 0)) }
        }
        if states[i].allowlisted, states[i].label != .confirmedAttack { states[i].verdict = .allow }
        refreshLinkView(i)
    }

    /// Replaces account `i`'s link view with its state as it stands (after any change to
    /// the state outside the per-exchange steps).
    mutating func refreshLinkView(_ i: Int) {
        growLinkTables(to: i + 1)
        linkViews[i] = AccountLinkView(of: &states[i])
        if keepsWindowViews { linkWindows[i] = AccountWindowView(of: states[i]) }
    }

    private mutating func slot(for accountID: String) -> Int32 {
        let hash = AccountSlotTable.hash(accountID)
        if let i = accountSlots.slot(of: accountID, hash: hash, ids: accountIDs) { return i }
        let i = Int32(states.count)
        accountSlots.insert(accountID, hash: hash, slot: i)
        accountIDs.append(accountID)
        // Set in place: a local state appended after was copied twice (1,656 bytes each).
        states.append(AccountState(tierProfile: policy.defaultTier))
        states[Int(i)].allowlisted = policy.allowlist.contains(accountID: accountID, record: nil)
        records.append(nil)
        latestTimes.append(.min)
        accountHashes.append(CityHash64.hash(accountID))
        return i
    }

    /// The slot of an account the engine knows, or `nil`.
    /// - Complexity: expected O(length of the id) (``AccountSlotTable``).
    func slot(ofAccount accountID: String) -> Int32? {
        accountSlots.slot(of: accountID, hash: AccountSlotTable.hash(accountID), ids: accountIDs)
    }

    /// Number of accounts that have sent at least one exchange.
    public var accountsWithTraffic: Int { states.reduce(0) { $0 + ($1.hasTraffic ? 1 : 0) } }

    /// Number of accounts the engine knows of (with traffic or a record).
    public var accountsKnown: Int { states.count }

    // MARK: Observing

    /// Takes one exchange into account and returns the account's decision after it.
    ///
    /// Exchanges must come in time order per account (the ``ReorderBuffer`` guarantees it
    /// for input up to its tolerance out of order); an older one is counted at the
    /// account's latest time and tallied in ``outOfOrderExchanges``. An exchange with a
    /// value outside ``RecordLimits`` (see ``Exchange/problem``) changes nothing but
    /// ``refusedExchanges``, so that no input can make the engine trap.
    /// - Complexity: O(1) amortised.
    @discardableResult
    public mutating func observe(_ e: Exchange) -> Decision {
        guard e.problem == nil else {
            refusedExchanges += 1
            return decision(for: e.accountID)
        }
        return observeAccepted(e)
    }

    /// ``observe(_:)`` for an exchange already checked against ``RecordLimits`` (the
    /// ``TrafficScanner`` checks before its reorder buffer), so the hot path checks once.
    ///
    /// The three steps every exchange takes, here one after the other (and in
    /// ``prepareBatch(_:partitions:)`` the second on partition threads):
    /// ``prepare(_:)`` (in exchange order: the account's slot, the engine's clock, the
    /// catalogues of models, templates, reasoning blocks and keys),
    /// ``observeAccount(_:keyStates:_:_:_:sharedIndicators:records:window:)`` (the
    /// account's own state and keys, and its link view), and
    /// ``linkAndSettle(_:_:view:window:)`` (in exchange order: campaign linkage and the decision).
    @discardableResult
    mutating func observeAccepted(_ e: Exchange) -> Decision {
        let p = prepare(e)
        let i = Int(p.account)
        // The engine's own properties, read in place: passing the policy and catalogue by
        // value while `states[i]` is borrowed inout copied them (callgrind, 1 December 2026).
        let (view, window) = SignalContext.with(policy: &policy, models: &models, now: p.time) { c in
            Self.observeAccount(&states[i], keyStates: &keys.states, e, p, c, sharedIndicators: sharedIndicators,
                                records: records, window: keepsWindowViews)
        }
        let decision = linkAndSettle(p, e, view: view, window: window)
        applyFlagLog()
        return decision
    }

    /// What the ordered first step learned of one exchange, for the two steps after it.
    struct PreparedExchange: Sendable {
        var account: Int32
        /// The account's key slot (-1: the key table is full).
        var keySlot: Int32
        var model: Int32
        var replay: ReplayOrigin
        /// The exchange's prompt used a split task list's template.
        var splitTemplate: Bool
        /// The exchange's time, or the account's latest when it came older.
        var time: Timestamp
        var release: (model: Int32, firstSeen: Timestamp)?
        /// The template family of a split task list, for the group's linkage.
        var splitFamily: UInt64?
        /// The account's record, at its first exchange (linkage reads it then). By
        /// reference: the 152-byte optional record carried inline was copied four times per
        /// exchange, record or not (callgrind, 1 December 2026). Taken in step 1, not read
        /// from the engine in step 3, because step 3 may run on the engine's linkage side,
        /// which holds no records (``observeOverlapped(next:waiting:partitions:keepDecisions:)``).
        var firstRecord: FirstRecord?
        /// The link keys of the exchange's address and its /24 or /48 (``AddressKeys/keys(_:)``),
        /// read here so that their buckets in the link-key index load before step 3.
        var networkKeys: (address: UInt64, subnet: UInt64?)?
    }

    /// An account's record as ``PreparedExchange/firstRecord`` carries it: one reference.
    final class FirstRecord: Sendable {
        let record: AccountRecord
        init(_ record: AccountRecord) { self.record = record }
    }

    /// A first flag recorded by linkage, for the account's state.
    struct FirstFlag: Sendable {
        var account: Int32
        var at: Timestamp
        /// The account's exchanges then.
        var exchanges: Int64
    }

    /// Writes the first flags linkage recorded into the account states.
    /// - Complexity: O(flags recorded since the last call).
    mutating func applyFlagLog() {
        guard !flagLog.isEmpty else { return }
        for f in flagLog where states[Int(f.account)].firstFlaggedAt == nil {
            states[Int(f.account)].firstFlaggedAt = f.at
            states[Int(f.account)].exchangesBeforeFlag = f.exchanges
        }
        flagLog.removeAll(keepingCapacity: true)
    }

    /// Starts or stops keeping every account's ``AccountWindowView`` (several engine
    /// threads need them; one does not).
    /// - Complexity: O(accounts) when it changes.
    mutating func keepWindowViews(_ on: Bool) {
        guard on != keepsWindowViews else { return }
        keepsWindowViews = on
        linkWindows = on ? ContiguousArray(states.prefix(linkViews.count).lazy.map { AccountWindowView(of: $0) }) : []
    }

    /// Gives linkage's per-account tables (link views and windows, first flags, the
    /// linkage graph's slots) their places up to `count` accounts.
    mutating func growLinkTables(to count: Int) {
        while linkViews.count < count {
            linkViews.append(AccountLinkView())
            if keepsWindowViews { linkWindows.append(AccountWindowView()) }
            linkFlagged.append(false)
            linkage.addAccount()
        }
    }

    /// Where a reasoning block sent back (`reasoning_replay_of`) was first served.
    enum ReplayOrigin: UInt8, Sendable {
        /// Not a replay.
        case none
        /// Served to no exchange the engine remembers, or to the account itself recently.
        case counted
        /// Served to another account.
        case foreign
        /// Served to the account more than ``staleReplayMilliseconds`` earlier.
        case stale
    }

    /// Step 1, in exchange order: everything global an exchange touches (the account's
    /// slot, data families, the model catalogue, the clock, the reasoning index, the key
    /// table's slots, the template catalogue).
    /// - Complexity: O(1) amortised (hash lookups).
    mutating func prepare(_ e: Exchange) -> PreparedExchange {
        let i = Int(slot(for: e.accountID))
        // The account's 1.7 KB state is read in step 2; with more accounts than the caches
        // hold it is cold, and its lines load while the rest of this step runs (a hint).
        states.withUnsafeBufferPointer { distillwatch_prefetch_read($0.baseAddress! + i, MemoryLayout<AccountState>.size) }
        if firstTime == nil { firstTime = e.time }
        noteFamilies(e)
        var modelIndex: Int32 = -1
        if let model = e.model {
            modelIndex = models.intern(model, at: max(e.time, clock ?? e.time), trafficStart: firstTime!, policy: policy)
            if let mt = e.maxTokens { models.noteMaxTokens(Int32(clamping: mt), model: modelIndex) }
        }
        var time = e.time
        let firstRecord = latestTimes[i] == .min ? records[i].map(FirstRecord.init) : nil
        if latestTimes[i] != .min, time.millisecondsSinceEpoch < latestTimes[i] {
            outOfOrderExchanges += 1
            time = Timestamp(millisecondsSinceEpoch: latestTimes[i])
        }
        latestTimes[i] = time.millisecondsSinceEpoch
        if clock == nil || time > clock! { clock = time }
        exchangesObserved += 1
        var replay = ReplayOrigin.none
        if let replayed = e.reasoningReplayOf { replay = replayOrigin(of: replayed, by: Int32(i), at: time) }
        if let id = e.requestID, e.thinking == true || (e.reasoningTokens ?? 0) > 0 {
            reasoning.record(requestID: id, account: Int32(i), at: time)
        }
        let keySlot = keys.slot(account: Int32(i), key: e.apiKeyID ?? "")
        if changeLog != nil {
            changeLog!.accounts.append(Int32(i))
            if let k = keySlot { changeLog!.keySlots.append(Int32(k)) }
        }
        var split = false
        var splitFamily: UInt64?
        if let content = e.content {
            // A split task list: one wrapper used by many accounts around mostly distinct
            // content (novelty across the family of at least 0.3).
            let use = templates.record(content, account: Int32(i))
            split = use.accounts >= policy.sharedTemplateAccounts && use.novelty >= 0.3
            if split { splitFamily = content.templateKey }
        }
        // The address keys' buckets and the account's link profile are read in step 3;
        // beyond the caches they are cold, and load while steps 1 and 2 run (hints).
        let networkKeys = policy.campaigns.enabled ? e.clientIP.flatMap(AddressKeys.keys) : nil
        if let networkKeys {
            linkage.keys.prefetchExchangeKey(networkKeys.address)
            if let subnet = networkKeys.subnet { linkage.keys.prefetchExchangeKey(subnet) }
        }
        if i < linkage.profiles.count {
            linkage.profiles.withUnsafeBufferPointer {
                distillwatch_prefetch_read($0.baseAddress! + i, MemoryLayout<LinkProfile>.size)
            }
        }
        return PreparedExchange(account: Int32(i), keySlot: Int32(keySlot ?? -1), model: modelIndex, replay: replay,
                                splitTemplate: split, time: time, release: models.latestRelease, splitFamily: splitFamily,
                                firstRecord: firstRecord, networkKeys: networkKeys)
    }

    /// Step 2, for one account: its state, its key's state and its link view and window
    /// after the exchange. Touches nothing but `account` and the account's own key slots in
    /// `keyStates`, so that different accounts can take this step on different threads.
    /// - Parameters:
    ///   - keyStates: the key table's states (an array, or a buffer shared by the partition
    ///     threads, each writing only its own accounts' slots).
    ///   - c: the policy and the model catalogue as of this exchange (its time is set to the
    ///     exchange's, `p.time`).
    ///   - records: the engine's account records by slot (model access rules read the
    ///     account's; passed whole, so that the 152-byte record is copied only when read).
    /// - Complexity: O(1): the state update, thirteen signals, the per-key signals.
    @inline(__always)
    static func observeAccount<Keys: MutableCollection>(
        _ account: inout AccountState, keyStates: inout Keys, _ e: Exchange, _ p: PreparedExchange, _ c: SignalContext,
        sharedIndicators: SharedIndicatorSet, records: [AccountRecord?], window: Bool
    ) -> (AccountLinkView, AccountWindowView?) where Keys.Element == KeyState, Keys.Index == Int {
        let time = p.time
        var context = c
        context.now = time
        switch p.replay {
        case .none: break
        case .counted: account.replays.incrementSaturating()
        case .foreign:
            account.replays.incrementSaturating()
            account.foreignReplays.incrementSaturating()
        case .stale:
            account.replays.incrementSaturating()
            account.staleReplays.incrementSaturating()
        }
        update(&account, with: e, at: time, model: p.model, release: p.release, pivotWindowHours: c.policy.pivotWindowHours)
        if p.keySlot >= 0 {
            keyStates[Int(p.keySlot)].record(at: time, asn: e.asn, country: e.country, batch: e.batchID != nil)
            if e.apiKeyID == nil { account.unkeyedSlot = p.keySlot }
        }
        if let content = e.content { account.content.update(with: content, sharedTemplate: p.splitTemplate) }
        if !sharedIndicators.isEmpty {
            let found = sharedIndicators.matches(e)
            if !found.isEmpty { account.noteShared(found, in: sharedIndicators, at: time) }
        }
        if !c.policy.modelAccess.isEmpty, let model = e.model {
            noteModelAccess(&account, model: model, country: e.country, record: records[Int(p.account)], policy: c.policy)
        }
        let unkeyed = account.unkeyedSlot
        rescore(&account, context, unkeyed: unkeyed >= 0 ? BehaviourSignals.keySignals(inPlace: &keyStates[Int(unkeyed)], context) : nil)
        if p.keySlot >= 0, e.apiKeyID != nil {
            rescoreKey(&keyStates[Int(p.keySlot)], accountAllowlisted: account.allowlisted,
                       accountExchanges: account.exchanges, context)
        }
        return (AccountLinkView(of: &account), window ? AccountWindowView(of: account) : nil)
    }

    /// Step 3, in exchange order: campaign linkage with the account's new view, and the
    /// decision (combined with its campaign's, its first flag recorded).
    /// - Complexity: O(1) amortised (see ``link(_:_:at:context:)``).
    mutating func linkAndSettle(_ p: PreparedExchange, _ e: Exchange, view: AccountLinkView,
                                window: AccountWindowView?) -> Decision {
        let i = Int(p.account)
        growLinkTables(to: i + 1)
        let context = LinkContext(
            ownScoreBefore: linkViews[i].score, pivotWindowBefore: linkViews[i].pivotWindowExchanges,
            pivotNewModelBefore: linkViews[i].pivotNewModelExchanges, splitFamily: p.splitFamily,
            networkKeys: p.networkKeys)
        let wasFlagged = linkFlagged[i]
        linkViews[i] = view
        // Tested before it is unwrapped: `if let` copied the optional (225 bytes) first, on
        // every exchange (callgrind, 1 December 2026).
        if window != nil { linkWindows[i] = window.unsafelyUnwrapped }
        link(p.account, e, at: p.time, context: context, firstRecord: p.firstRecord)
        return settle(i, at: p.time, wasFlagged: wasFlagged)
    }

    /// Where the reasoning block of exchange `replayed` was served: to another account,
    /// to this one more than ``staleReplayMilliseconds`` earlier (another session), or
    /// neither (the account's own conversation, or a block the engine does not remember).
    private func replayOrigin(of replayed: String, by i: Int32, at t: Timestamp) -> ReplayOrigin {
        guard let source = reasoning.source(of: replayed) else { return .counted }
        if source.account != i { return .foreign }
        return t.milliseconds(since: source.time) > Self.staleReplayMilliseconds ? .stale : .counted
    }

    /// A reasoning block sent back more than 6 hours after it was served comes from
    /// another session.
    static let staleReplayMilliseconds: Int64 = 6 * Timestamp.millisecondsPerHour

    private mutating func noteFamilies(_ e: Exchange) {
        var bits: UInt16 = 0
        if e.outputTokens != nil { bits |= DataFamily.tokens.bit }
        if e.maxTokens != nil || e.temperature != nil || e.thinking != nil || e.messageCount != nil || e.toolCount != nil {
            bits |= DataFamily.parameters.bit
        }
        if e.model != nil { bits |= DataFamily.models.bit }
        if e.status != nil { bits |= DataFamily.status.bit }
        if e.clientIP != nil { bits |= DataFamily.network.bit }
        if e.prompt != nil || e.content != nil { bits |= DataFamily.content.bit }
        if e.reasoningReplayOf != nil { bits |= DataFamily.reasoningReplay.bit }
        if e.costUSD != nil { bits |= DataFamily.cost.bit }
        familyBits |= bits
    }

    static func update(
        _ s: inout AccountState, with e: Exchange, at t: Timestamp, model: Int32,
        release: (model: Int32, firstSeen: Timestamp)?, pivotWindowHours: Double
    ) {
        let hour = t.hourIndex
        let existed = s.hasTraffic
        // A provider-run batch is paced by the provider: its gaps and minutes say nothing
        // about the customer's client.
        let batch = e.batchID != nil
        if batch { s.batchExchanges.incrementSaturating() }
        if existed {
            let gapSeconds = Double(t.milliseconds(since: s.lastSeen)) / 1000
            if !batch, gapSeconds <= 3600 {
                s.gapCount.incrementSaturating()
                let delta = gapSeconds - s.gapMean
                s.gapMean += delta / Double(s.gapCount)
                s.gapM2 += delta * (gapSeconds - s.gapMean)
            }
        } else {
            s.firstSeen = t
            s.windowHour = hour
        }

        // Model pivot: the account was active before a new model appeared, and this
        // exchange falls in that model's pivot window.
        if let release, existed, s.firstSeen < release.firstSeen,
           t.milliseconds(since: release.firstSeen) < Int64(clamping: pivotWindowHours * Double(Timestamp.millisecondsPerHour)) {
            s.pivotWindowExchanges.incrementSaturating()
            s.pivotModel = release.model
            if model == release.model { s.pivotNewModelExchanges.incrementSaturating() }
        }

        s.exchanges.incrementSaturating()
        s.lastSeen = t
        let output = Int64(max(0, e.outputTokens ?? 0))
        s.outputTokens.addSaturating(output)
        s.inputTokens.addSaturating(Int64(max(0, e.inputTokens ?? 0)))
        s.reasoningTokens.addSaturating(Int64(max(0, e.reasoningTokens ?? 0)))

        // Sliding window of hourly buckets.
        if hour > s.windowHour {
            let advance = min(24, hour - s.windowHour)
            for k in 1...advance {
                let b = Int(floorModulo(s.windowHour + k, 24))
                s.windowExchangeSum -= Int64(s.windowExchanges[b])
                s.windowOutputTokenSum -= Int64(s.windowOutputTokens[b])
                s.windowExchanges[b] = 0
                s.windowOutputTokens[b] = 0
            }
            s.windowHour = hour
        }
        let bucket = Int(floorModulo(hour, 24))
        s.windowExchanges[bucket].incrementSaturating()
        s.windowExchangeSum.incrementSaturating()
        let tokenRoom = UInt32.max - s.windowOutputTokens[bucket]
        let added = UInt32(min(Int64(tokenRoom), output))
        s.windowOutputTokens[bucket] += added
        s.windowOutputTokenSum += Int64(added)

        // Time of day and active hours.
        let hod = t.hourOfDay
        let c = Double(s.hourOfDayCounts[hod])
        s.hourOfDayCLogC += (c + 1) * Double.log(c + 1) - (c > 0 ? c * Double.log(c) : 0)
        s.hourOfDayCounts[hod].incrementSaturating()
        if hour != s.lastActiveHour {
            s.activeHours.incrementSaturating()
            s.lastActiveHour = hour
        }

        // Rate limits (a provider-run batch is paced by the provider, not the customer).
        if e.effectiveStatus == 429 { s.status429.incrementSaturating() }
        let minute = t.minuteIndex
        let early = t.milliseconds(since: s.firstSeen) < BehaviourSignals.earlyTrafficMilliseconds
        if !batch {
            if minute != s.currentMinute {
                s.currentMinute = minute
                s.currentMinuteCount = 0
                s.minutesActive.incrementSaturating()
                if early { s.earlyMinutes.incrementSaturating() }
            }
            s.currentMinuteCount.incrementSaturating()
            let nearLimit = max(1, UInt32(clamping: (s.tierProfile.requestsPerMinute * BehaviourSignals.nearLimitFraction).rounded(.up)))
            if s.currentMinuteCount == nearLimit {
                s.minutesNearLimit.incrementSaturating()
                if early { s.earlyMinutesNearLimit.incrementSaturating() }
            }
        }

        // Who the account serves and what it costs.
        if let user = e.endUserID {
            s.endUserExchanges.incrementSaturating()
            s.endUsers.insert(hash: stableHash(user, salt: 0xE2D0))
        }
        if let system = e.content?.systemKey { s.systemPrompts.insert(hash: system) }
        if let cost = e.costUSD, cost.isFinite, cost >= 0 {
            s.costUSD += cost
            s.costExchanges.incrementSaturating()
        }

        // Parameters.
        if model >= 0 { s.lastModel = model }
        if let mt = e.maxTokens {
            let v = Int32(clamping: mt)
            if s.maxTokensSeen > 0, v != s.lastMaxTokens { s.maxTokensChanges.incrementSaturating() }
            s.lastMaxTokens = v
            s.maxTokensSeen.incrementSaturating()
        }
        if let thinking = e.thinking {
            s.thinkingSeen.incrementSaturating()
            if thinking { s.thinkingOn.incrementSaturating() }
        }
        if let temperature = e.temperature {
            if s.temperatureSeen > 0, temperature != s.lastTemperature { s.temperatureChanges.incrementSaturating() }
            s.lastTemperature = temperature
            s.temperatureSeen.incrementSaturating()
        }
        if let messages = e.messageCount {
            s.messageCountSeen.incrementSaturating()
            if messages == 1 { s.singleTurn.incrementSaturating() }
            if messages >= 3, (e.toolCount ?? 0) == 0 { s.conversational.incrementSaturating() }
        }
        if let tools = e.toolCount {
            s.toolCountSeen.incrementSaturating()
            if tools > 0 { s.toolUse.incrementSaturating() }
        }
        if let stream = e.stream {
            s.streamSeen.incrementSaturating()
            if stream { s.streamOn.incrementSaturating() }
        }
    }

    /// Scores a key of an account on the per-key signals, as of `c.now`, and records its
    /// first flag. Takes the two values it reads of the account, not the account: a state
    /// read from the table and passed by value is copied whole (1,656 bytes).
    static func rescoreKey(_ key: inout KeyState, accountAllowlisted: Bool, accountExchanges: Int64, _ c: SignalContext) {
        let r = BehaviourSignals.keyScore(key, c)
        key.score = r.score
        key.strongestSignal = r.strongest
        var verdict = key.exchanges < Int64(c.policy.minimumExchanges) ? .allow : c.policy.thresholds.verdict(for: r.score)
        if accountAllowlisted { verdict = .allow }
        key.verdict = verdict
        if verdict.isFlagged, key.firstFlaggedAt == nil {
            key.firstFlaggedAt = c.now
            key.accountExchangesAtFlag = accountExchanges
        }
    }

    /// The decision for one API key of an account: the account's decision, raised to the
    /// key's own when that is stricter (a leaked or resold key is throttled or blocked
    /// without its owner's other keys). An unknown key, or `nil`, gets the account's.
    /// - Complexity: O(length of the key id) for the lookup.
    public func decision(for accountID: String, key: String?) -> Decision {
        var d = decision(for: accountID)
        guard let key, let i = slot(ofAccount: accountID), let k = keys.find(account: i, key: key) else { return d }
        let ks = keys.states[k]
        if ks.verdict > d.verdict {
            d.verdict = ks.verdict
            d.score = max(d.score, ks.score)
            d.strongestSignal = ks.strongestSignal
        }
        return d
    }

    /// What the engine judged of one API key.
    public struct KeySummary: Sendable, Equatable {
        public var apiKeyID: String
        public var verdict: Verdict
        public var score: Double
        public var exchanges: Int
        public var firstFlaggedAt: Timestamp?
        /// The account's exchanges (all keys) when the key was first flagged.
        public var accountExchangesBeforeFlag: Int?
        /// The per-key signals (`sudden_change`, `key_sharing`) with their contributions.
        public var readings: [SignalReading]
        /// The per-key signal that contributed most, if any did.
        public var strongestSignal: SignalKind? = nil
    }

    /// A key's verdict, score and per-key readings, as of its latest exchange; `nil` for a
    /// key the engine has not seen on that account.
    public func keySummary(for accountID: String, key: String) -> KeySummary? {
        guard let i = slot(ofAccount: accountID), let k = keys.find(account: i, key: key) else { return nil }
        return keySummary(at: k)
    }

    /// The account's keys whose own verdict is not `allow`, most severe first.
    /// - Complexity: O(keys of all accounts): for reports, not the decide path.
    public func flaggedKeys(of accountID: String) -> [KeySummary] {
        guard let i = slot(ofAccount: accountID) else { return [] }
        return keys.states.indices.filter { keys.states[$0].accountIndex == i && keys.states[$0].verdict.isFlagged && !keys.states[$0].keyID.isEmpty }
            .map(keySummary(at:)).sorted { $0.verdict != $1.verdict ? $0.verdict > $1.verdict : $0.apiKeyID < $1.apiKeyID }
    }

    /// Every flagged key of every account, by account index (for reports and evaluation).
    /// - Complexity: O(keys).
    public var flaggedKeysByAccount: [String: [KeySummary]] {
        var out: [String: [KeySummary]] = [:]
        for k in keys.states.indices where keys.states[k].verdict.isFlagged && !keys.states[k].keyID.isEmpty {
            out[accountIDs[Int(keys.states[k].accountIndex)], default: []].append(keySummary(at: k))
        }
        return out
    }

    /// Keys not tracked because the key table was full (they are judged with their account).
    public var untrackedKeys: Int { keys.untrackedKeys }

    func keySummary(at k: Int) -> KeySummary {
        let ks = keys.states[k]
        let readings = SignalContext.reading(policy: policy, models: models, now: ks.lastSeen) { c in
            SignalKind.perKey.map { kind in
                let value = kind == .suddenChange ? BehaviourSignals.suddenChange(ks, c).value : BehaviourSignals.keySharing(ks).value
                return SignalReading(kind: kind, value: value, contribution: value * policy.weight(kind),
                                     detail: "key \(ks.keyID): " + BehaviourSignals.keyDetail(kind, ks, c))
            }
        }
        return KeySummary(apiKeyID: ks.keyID, verdict: ks.verdict, score: ks.score, exchanges: Int(ks.exchanges),
                          firstFlaggedAt: ks.firstFlaggedAt,
                          accountExchangesBeforeFlag: ks.firstFlaggedAt == nil ? nil : Int(ks.accountExchangesAtFlag),
                          readings: readings, strongestSignal: ks.strongestSignal)
    }

    /// The account's traffic without a key id, as a key, if it has any.
    func unkeyedKey(of i: Int) -> KeyState? {
        let k = states[i].unkeyedSlot
        return k >= 0 ? keys.states[Int(k)] : nil
    }

    /// Scores the account on its own evidence (its campaign's verdict is combined later).
    static func rescore(_ s: inout AccountState, at t: Timestamp, policy: Policy, models: ModelCatalog,
                        unkeyed: KeyState?) {
        SignalContext.reading(policy: policy, models: models, now: t) { context in
            rescore(&s, context, unkeyed: unkeyed.map { BehaviourSignals.keySignals($0, context) })
        }
    }

    /// As ``rescore(_:at:policy:models:unkeyed:)`` with the context built and the unkeyed
    /// traffic's signals read (``BehaviourSignals/keySignals(_:_:)``): the per-exchange path.
    static func rescore(_ s: inout AccountState, _ c: SignalContext, unkeyed: BehaviourSignals.KeySignals?) {
        let all = BehaviourSignals.values(inPlace: &s, c, unkeyed: unkeyed)
        // Read through a span: subscripting the InlineArray itself with a computed index
        // copied all of it (160 bytes) at every access, 21 times an exchange (callgrind,
        // 30 November 2026).
        let values = all.span
        var remaining = 1.0
        var strongest: SignalKind?
        var strongestContribution = 0.0
        for kind in SignalKind.all {
            // Evidence an analyst dismissed does not count again; only what exceeds it does.
            let value = max(0, values[kind.ordinal] - s.dismissed[kind.ordinal])
            let contribution = min(1, max(0, c.policy.weight(kind) * value))
            remaining *= 1 - contribution
            if contribution > strongestContribution {
                strongestContribution = contribution
                strongest = kind
            }
        }
        let score = 1 - remaining
        s.score = score
        s.strongestSignal = strongest
        var verdict = c.policy.thresholds.verdict(for: score)
        // An account whose prompts match a partner's approved campaign (two of them, a
        // quarter of its prompts) is judged like a member of a known campaign: without
        // waiting for the minimum of exchanges.
        let knownCampaign = !s.sharedEvidence.isEmpty && BehaviourSignals.sharedIndicator(s, at: c.now).isKnownCampaign
        if s.allowlisted || (s.exchanges < Int64(c.policy.minimumExchanges) && !knownCampaign) { verdict = .allow }
        if s.label == .confirmedAttack { verdict = .block }
        s.verdict = verdict
    }

    // MARK: Analyst feedback

    /// Applies an analyst's label to an account, as of `time` (the account's state is
    /// re-scored then).
    ///
    /// - `legitimate`: the current value of every signal is dismissed: those values no
    ///   longer count, only evidence beyond them does. The verdict drops accordingly.
    /// - `confirmedAttack`: the account is blocked from now on, whatever its score.
    ///
    /// Labels are part of the engine's input: replaying exchanges and labels in the same
    /// order gives the same state.
    /// - Complexity: O(1).
    @discardableResult
    public mutating func applyLabel(_ label: AnalystLabel, to accountID: String, at time: Timestamp) -> Decision {
        let i = Int(slot(for: accountID))
        changeLog?.accounts.append(Int32(i))
        let now = max(time, states[i].lastSeen)
        switch label {
        case .legitimate:
            states[i].dismissed = states[i].hasTraffic
                ? SignalContext.reading(policy: policy, models: models, now: states[i].lastSeen, unkeyed: unkeyedKey(of: i)) {
                    BehaviourSignals.values(states[i], $0)
                }
                : InlineArray(repeating: 0)
        case .confirmedAttack:
            states[i].dismissed = InlineArray(repeating: 0)
        }
        let scoreBefore = states[i].score
        states[i].label = label
        Self.rescore(&states[i], at: now, policy: policy, models: models, unkeyed: unkeyedKey(of: i))
        refreshLinkView(i)
        switch label {
        case .legitimate: detachFromCampaign(Int32(i), ownScoreBefore: scoreBefore, at: now)
        case .confirmedAttack:
            let r = linkage.find(Int32(i))
            linkage.groups[r]?.ownScoreSum += states[i].score - scoreBefore
        }
        var decision = settle(i, at: now, wasFlagged: true)
        applyFlagLog()
        decision.newlyFlagged = false
        return decision
    }

    /// The label an analyst gave the account, if any.
    public func label(for accountID: String) -> AnalystLabel? {
        slot(ofAccount: accountID).flatMap { states[Int($0)].label }
    }

    // MARK: Reading state

    /// The engine has seen traffic or a record for the account. - Complexity: O(1).
    public func knows(_ accountID: String) -> Bool {
        slot(ofAccount: accountID) != nil
    }

    /// The account's current decision, as of its latest exchange; `unknownAccount` for an
    /// account never seen.
    /// - Complexity: O(1).
    public func decision(for accountID: String) -> Decision {
        guard let i = slot(ofAccount: accountID) else { return .unknownAccount }
        return combinedDecision(Int(i))
    }

    /// Every signal's reading for an account, as of its latest exchange.
    /// - Complexity: O(1) plus the cost of formatting the details.
    public func readings(for accountID: String) -> [SignalReading] {
        guard let i = slot(ofAccount: accountID) else { return [] }
        let s = states[Int(i)]
        var readings = SignalContext.reading(policy: policy, models: models, now: s.lastSeen,
                                             unkeyed: unkeyedKey(of: Int(i)), record: records[Int(i)],
                                             sharedIndicators: s.sharedEvidence.isEmpty ? nil : sharedIndicators) {
            BehaviourSignals.readings(s, $0)
        }
        for k in readings.indices {
            let dismissed = s.dismissed[readings[k].kind.ordinal]
            guard dismissed > 0 else { continue }
            readings[k].contribution = max(0, readings[k].value - dismissed) * policy.weight(readings[k].kind)
            readings[k].detail += " (analyst dismissed evidence up to \(Wording.rounded(dismissed, digits: 2)))"
        }
        return readings
    }

    /// The account record registered for an account, if any.
    public func record(for accountID: String) -> AccountRecord? {
        slot(ofAccount: accountID).flatMap { records[Int($0)] }
    }

    /// Signal families for which no record carried data.
    public var signalFamiliesWithoutData: [DataFamily] {
        let bits = familyBits | (sharedIndicators.isEmpty ? 0 : DataFamily.sharedIndicators.bit)
        return DataFamily.allCases.filter { bits & $0.bit == 0 }
    }

    /// Replaces the indicators shared by other providers (an import, a revocation, a
    /// pulled feed). Accounts already matched forget indicators no longer in `set` and are
    /// rescored at the engine's clock; accounts with an e-mail domain are matched against
    /// the new set's domain fingerprints. Exchanges already seen are not matched again
    /// (their text is gone): new indicators act on traffic from now on.
    /// - Complexity: O(accounts with matches + accounts with records, when the set has
    ///   e-mail domain fingerprints).
    public mutating func replaceSharedIndicators(_ set: SharedIndicatorSet) {
        sharedIndicators = set
        growLinkTables(to: states.count)
        let now = clock ?? Timestamp(millisecondsSinceEpoch: 0)
        for i in states.indices {
            var changed = states[i].refreshShared(against: set)
            if set.hasEmailDomains, let record = records[i] {
                let found = set.matches(record, at: now).filter { m in !states[i].sharedEvidence.contains { $0.id == m.id } }
                if !found.isEmpty {
                    states[i].noteShared(found, in: set, at: now)
                    changed = true
                }
            }
            guard changed else { continue }
            changeLog?.accounts.append(Int32(i))
            let wasFlagged = linkFlagged[i]
            Self.rescore(&states[i], at: now, policy: policy, models: models, unkeyed: unkeyedKey(of: i))
            refreshLinkView(i)
            _ = settle(i, at: now, wasFlagged: wasFlagged)
        }
        applyFlagLog()
    }

    /// Summaries of every account, in first-seen order.
    public var accountSummaries: [AccountSummary] {
        states.indices.map { summary(at: $0) }
    }

    /// The summary of one account, or `nil` when the engine has never heard of it.
    public func summary(for accountID: String) -> AccountSummary? {
        slot(ofAccount: accountID).map { summary(at: Int($0)) }
    }

    private func summary(at i: Int) -> AccountSummary {
        let s = states[i]
        let d = combinedDecision(i)
        return AccountSummary(
            accountID: accountIDs[i], verdict: d.verdict, score: d.score, allowlisted: s.allowlisted,
            campaignID: campaignID(ofAccountAt: i),
            firstSeen: s.hasTraffic ? s.firstSeen : nil, lastSeen: s.hasTraffic ? s.lastSeen : nil,
            firstFlaggedAt: s.firstFlaggedAt,
            exchangesBeforeFlag: s.firstFlaggedAt == nil ? nil : Int(s.exchangesBeforeFlag),
            exchanges: Int(s.exchanges), outputTokens: Int(s.outputTokens), label: s.label,
            capabilities: Dictionary(uniqueKeysWithValues: s.content.capabilityShares.map { ($0.0.rawValue, $0.1) }))
    }

    /// Bytes of engine state per account: the fixed-size state, the linkage profile and
    /// union-find slots, plus the index entry, the id, and the record slot. Strings longer
    /// than 15 bytes add their heap storage; linked groups and shared keys add their own
    /// (see ``LinkageGraph``).
    public static var approximateBytesPerAccount: Int {
        MemoryLayout<AccountState>.stride + MemoryLayout<AccountLinkView>.stride + MemoryLayout<Bool>.stride
            + 2 * MemoryLayout<Int64>.stride
            + MemoryLayout<LinkProfile>.stride + 2 * MemoryLayout<Int32>.stride
            + MemoryLayout<String>.stride * 2 + MemoryLayout<Int32>.stride
            + MemoryLayout<AccountRecord?>.stride + 16
    }
}

/// The numbers the report shows for one account.
public struct AccountSummary: Sendable, Equatable {
    public var accountID: String
    public var verdict: Verdict
    public var score: Double
    public var allowlisted: Bool
    /// The campaign the account belongs to, when its group is a numbered campaign.
    public var campaignID: String?
    public var firstSeen: Timestamp?
    public var lastSeen: Timestamp?
    public var firstFlaggedAt: Timestamp?
    public var exchangesBeforeFlag: Int?
    public var exchanges: Int
    public var outputTokens: Int
    public var label: AnalystLabel?
    /// Share of the account's prompts in each capability (empty without prompt text).
    public var capabilities: [String: Double]
}

// MARK: Snapshot

extension DetectionEngine {
    /// Stored properties, all written but the policy (the server's configuration gives it,
    /// and a snapshot taken under another policy is not used), the account index (rebuilt
    /// from the ids), the transient change log, and three per-account tables derived from
    /// the states and ids (link views, windows and first flags, latest times, account hashes:
    /// rebuilt; windows kept only for several engine threads, a setting), and the first flags
    /// not yet written to the states (empty between calls). Of
    /// the shared indicators, the indicators are written, not the sharing keys.
    static var snapshotFieldCount: Int { 27 }

    func write(to w: inout SnapshotWriter) {
        w.section("engine")
        w.array(accountIDs) { $0.string($1) }
        w.array(states)
        w.array(records) { w, record in w.optional(record) { $0.value($1) } }
        w.value(models)
        w.value(templates)
        w.value(linkage)
        w.value(reasoning)
        w.value(keys)
        w.optional(clock) { $0.timestamp($1) }
        w.optional(firstTime) { $0.timestamp($1) }
        w.int(Int64(exchangesObserved))
        w.int(Int64(outOfOrderExchanges))
        w.int(Int64(refusedExchanges))
        w.int(Int64(refusedAccountRecords))
        w.int(familyBits)
        w.array(sharedIndicators.indicators)
        w.value(signups)
        w.section("engine end")
    }

    /// Reads what ``write(to:)`` wrote, under `policy` (the one it was written under).
    init(policy: Policy, from r: inout SnapshotReader) throws(SnapshotError) {
        self.init(policy: policy)
        try r.section("engine")
        accountIDs = try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        states = ContiguousArray(try r.array(AccountState.self, minimumElementSize: 256))
        records = try r.array(minimumElementSize: 1) { (r: inout SnapshotReader) throws(SnapshotError) in
            try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.value(AccountRecord.self) }
        }
        models = try r.value()
        templates = try r.value()
        linkage = try r.value()
        reasoning = try r.value()
        keys = try r.value()
        clock = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        firstTime = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        exchangesObserved = Int(try r.int(Int64.self))
        outOfOrderExchanges = Int(try r.int(Int64.self))
        refusedExchanges = Int(try r.int(Int64.self))
        refusedAccountRecords = Int(try r.int(Int64.self))
        familyBits = try r.int()
        sharedIndicators = SharedIndicatorSet(try r.array(SharedIndicator.self, minimumElementSize: 24))
        signups = try r.value()
        try r.section("engine end")
        let n = accountIDs.count
        guard states.count == n, records.count == n, linkage.profiles.count == n,
              keys.states.allSatisfy({ $0.accountIndex >= 0 && Int($0.accountIndex) < n }),
              states.allSatisfy({ $0.unkeyedSlot >= -1 && Int($0.unkeyedSlot) < keys.states.count }),
              linkage.groups.values.allSatisfy({ $0.members.allSatisfy { $0 >= 0 && Int($0) < n } }),
              signups.accountKeys.keys.allSatisfy({ $0 >= 0 && Int($0) < n }),
              signups.domainHours.values.allSatisfy({ $0.allSatisfy { $0 >= 0 && Int($0) < n } }),
              signups.payments.values.allSatisfy({ $0.allSatisfy { $0 >= 0 && Int($0) < n } }),
              linkage.firstLinks.allSatisfy({ $0.key >= 0 && Int($0.key) < n && $0.value.partner >= 0 && Int($0.value.partner) < n }),
              models.models.count < Int(Int32.max), states.allSatisfy({ $0.lastModel < Int32(models.models.count) && $0.pivotModel < Int32(models.models.count) })
        else {
            throw SnapshotError("the engine's tables disagree on the number of accounts, keys or models (\(n) ids)")
        }
        accountSlots.reserveCapacity(n)
        for (i, id) in accountIDs.enumerated() {
            let hash = AccountSlotTable.hash(id)
            guard accountSlots.slot(of: id, hash: hash, ids: accountIDs) == nil else {
                throw SnapshotError("account \(id) appears twice")
            }
            accountSlots.insert(id, hash: hash, slot: Int32(i))
        }
        rebuildDerivedTables()
    }

    /// The per-account tables derived from the states and ids (after a restore).
    /// - Complexity: O(accounts).
    mutating func rebuildDerivedTables() {
        linkViews = []
        linkViews.reserveCapacity(states.count)
        for i in states.indices { linkViews.append(AccountLinkView(of: &states[i])) }
        linkWindows = []
        keepsWindowViews = false
        linkFlagged = ContiguousArray(states.lazy.map { $0.firstFlaggedAt != nil })
        latestTimes = ContiguousArray(states.lazy.map { $0.hasTraffic ? $0.lastSeen.millisecondsSinceEpoch : .min })
        accountHashes = ContiguousArray(accountIDs.lazy.map(CityHash64.hash))
    }
}
