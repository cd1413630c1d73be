import RealModule

/// One signal's reading for one account, as shown in reports.
public struct SignalReading: Sendable, Equatable, Codable {
    public var kind: SignalKind
    /// Strength in [0, 1].
    public var value: Double
    /// What the policy's weight makes of it: `weight × value`.
    public var contribution: Double
    /// The numbers behind the value, in words.
    public var detail: String

    public init(kind: SignalKind, value: Double, contribution: Double, detail: String) {
        self.kind = kind
        self.value = value
        self.contribution = contribution
        self.detail = detail
    }
}

extension Sequence<SignalReading> {
    /// The readings that added to the score, strongest first: what a verdict is explained by.
    /// - Complexity: O(n log n).
    public var contributing: [SignalReading] {
        filter { $0.contribution > 0 }.sorted { $0.contribution > $1.contribution }
    }
}

/// What the behaviour signals read besides the account's own state: the policy and the
/// model catalogue, the time, and for reports the account's unkeyed traffic and record.
///
/// A context refers to what it reads by address, so that building one copies nothing. The
/// context it replaces held copies (the policy 264 bytes, the catalogue 129, an optional
/// key state 272 and an optional record 152): building it, with the policy and catalogue
/// copied again to be passed to it, took eight copies an exchange (callgrind, 1 December
/// 2026). A context is valid only inside the closure given it by
/// ``with(policy:models:now:_:)`` or ``reading(policy:models:now:unkeyed:record:_:)``, and
/// must not escape it.
struct SignalContext {
    private let policyAddress: UnsafePointer<Policy>
    private let modelsAddress: UnsafePointer<ModelCatalog>
    private let unkeyedAddress: UnsafePointer<KeyState>?
    private let recordAddress: UnsafePointer<AccountRecord>?
    private let sharedAddress: UnsafePointer<SharedIndicatorSet>?
    /// The time the signals are read at (the exchange's, or the account's latest).
    var now: Timestamp

    private init(policy: UnsafePointer<Policy>, models: UnsafePointer<ModelCatalog>, now: Timestamp,
                 unkeyed: UnsafePointer<KeyState>? = nil, record: UnsafePointer<AccountRecord>? = nil,
                 shared: UnsafePointer<SharedIndicatorSet>? = nil) {
        policyAddress = policy
        modelsAddress = models
        unkeyedAddress = unkeyed
        recordAddress = record
        sharedAddress = shared
        self.now = now
    }

    /// The detection policy, read where it lies.
    var policy: Policy { unsafeAddress { policyAddress } }
    /// The model catalogue as of this exchange, read where it lies.
    var models: ModelCatalog { unsafeAddress { modelsAddress } }
    /// The account's traffic without a key id, as a key: what its own `sudden_change` and
    /// `key_sharing` details quote (keyed traffic is judged per key). Reports only.
    var unkeyed: KeyState? { unkeyedAddress?.pointee }
    /// The account's record, for details that quote it. Reports only.
    var record: AccountRecord? { recordAddress?.pointee }
    /// The indicators shared by other providers, for details that quote an indicator's
    /// marking (TLP). Reports only.
    var sharedIndicators: SharedIndicatorSet? { sharedAddress?.pointee }

    /// Calls `body` with a context reading `policy` and `models` in place: the per-exchange
    /// path. The two are `inout` only so that their addresses are the engine's own (a
    /// borrowed value may be copied to give it an address); neither is written.
    @inline(__always)
    static func with<Result>(policy: inout Policy, models: inout ModelCatalog, now: Timestamp,
                             _ body: (SignalContext) -> Result) -> Result {
        withUnsafePointer(to: &policy) { p in
            withUnsafePointer(to: &models) { m in body(SignalContext(policy: p, models: m, now: now)) }
        }
    }

    /// Calls `body` with a context reading the given values, and for reports the account's
    /// unkeyed traffic and record and the shared indicators. May copy its arguments once to
    /// address them.
    static func reading<Result>(policy: Policy, models: ModelCatalog, now: Timestamp, unkeyed: KeyState? = nil,
                                record: AccountRecord? = nil, sharedIndicators: SharedIndicatorSet? = nil,
                                _ body: (SignalContext) -> Result) -> Result {
        withUnsafePointer(to: policy) { p in
            withUnsafePointer(to: models) { m in
                withOptionalPointer(to: unkeyed) { k in
                    withOptionalPointer(to: record) { r in
                        withOptionalPointer(to: sharedIndicators) { x in
                            body(SignalContext(policy: p, models: m, now: now, unkeyed: k, record: r, shared: x))
                        }
                    }
                }
            }
        }
    }

    private static func withOptionalPointer<Value, Result>(to value: Value?, _ body: (UnsafePointer<Value>?) -> Result) -> Result {
        guard let value else { return body(nil) }
        return withUnsafePointer(to: value) { body($0) }
    }
}

/// The behaviour signals: pure functions of an ``AccountState`` and a ``SignalContext``.
///
/// `values` runs on every exchange, so it does arithmetic only (no allocation, a few
/// logarithms); `readings` builds the human-readable details for reports.
///
/// Each signal waits for a minimum of evidence before it speaks (a value of 0 below it):
/// 20 exchanges for parameters and rate limits, 30 gaps for timing regularity, two days
/// of history for round-the-clock activity, 10 exchanges inside a pivot window.
enum BehaviourSignals {
    static let minimumParameterSamples: Int32 = 20
    static let minimumGaps: Int32 = 30
    static let minimumHoursForRoundTheClock: Int64 = 48
    static let minimumPivotExchanges: Int32 = 10
    static let nearLimitFraction = 0.8

    /// All signal values (behaviour and content), indexed by ``SignalKind/ordinal``.
    /// - Complexity: O(1) (content novelty reads two 64-register sketches).
    static func values(_ s: AccountState, _ c: SignalContext) -> SignalValues {
        values(s, c, unkeyed: c.unkeyed.map { keySignals($0, c) })
    }

    /// What the account's unkeyed traffic, judged as a key, gives its own signals.
    struct KeySignals {
        var suddenChange: Double
        var keySharing: Double
    }

    /// `sudden_change` and `key_sharing` of the account's unkeyed traffic, read where the
    /// key lies: putting a copy of it in ``SignalContext/unkeyed`` (1,656 bytes) cost several
    /// copies on every exchange of an account without key ids (callgrind, 1 December 2026).
    /// - Complexity: O(1).
    @inline(__always)
    static func keySignals(_ key: borrowing KeyState, _ c: SignalContext) -> KeySignals {
        KeySignals(suddenChange: suddenChange(key, c).value, keySharing: keySharing(key).value)
    }

    /// ``keySignals(_:_:)`` of a key read where it lies (in the key table): `inout` only for
    /// its address, nothing is written. Read through a collection's getter, the key was
    /// copied out with its references retained and released (callgrind, 1 December 2026);
    /// given to ``keySignals(_:_:)`` out of line, it was still copied whole, so that and the
    /// two signals are inlined here and read the key's fields in place (52 instructions an
    /// exchange of `memcpy`, callgrind, 2 December 2026).
    /// - Complexity: O(1).
    static func keySignals(inPlace key: inout KeyState, _ c: SignalContext) -> KeySignals {
        keySignals(key, c)
    }

    /// As ``values(_:_:)``, with the unkeyed traffic's signals already read
    /// (``keySignals(_:_:)``); `c.unkeyed` is not read. For reports: it copies the state
    /// once (the per-exchange path reads it in place, ``values(inPlace:_:unkeyed:)``).
    static func values(_ s: AccountState, _ c: SignalContext, unkeyed: KeySignals?) -> SignalValues {
        var state = s
        return values(inPlace: &state, c, unkeyed: unkeyed)
    }

    /// ``values(_:_:unkeyed:)`` of a state read where it lies (in the engine's table):
    /// `inout` only for its address, nothing is written.
    ///
    /// Swift copies a struct read from memory (an `inout` parameter, an array element,
    /// `UnsafePointer.pointee`) to pass it by value to a call that is not inlined, so the
    /// signals it reads are all inlined here (`@inline(__always)`) and read the state's
    /// fields in place. Passed by value, the 1,656-byte state was copied on every exchange:
    /// 184 instructions an exchange of `memcpy` in `rescore` (callgrind, 2 December 2026).
    /// Kept out of line so that the signals are inlined into this function alone, not into
    /// every caller. The shared indicator and model-access evasion still take a copy, on
    /// the exchanges of accounts that have them.
    /// - Complexity: O(1) (content novelty reads two 64-register sketches).
    @inline(never)
    static func values(inPlace s: inout AccountState, _ c: SignalContext, unkeyed: KeySignals?) -> SignalValues {
        var v = SignalValues(repeating: 0)
        // First: read after the others, it was left out of line by the optimizer, which then
        // copied the state to pass it (callgrind, 2 December 2026).
        v[SignalKind.relay.ordinal] = relay(s).value
        let expected = expectedDaily(s, c)
        v[SignalKind.volume.ordinal] = ratioStrength(observedDailyExchanges(s, c) / expected.exchanges)
        v[SignalKind.outputVolume.ordinal] = ratioStrength(observedDailyOutputTokens(s, c) / expected.outputTokens)
        v[SignalKind.roundTheClock.ordinal] = roundTheClock(s).value
        v[SignalKind.timingRegularity.ordinal] = timingRegularity(s)
        v[SignalKind.parameterFingerprint.ordinal] = parameterFingerprint(s, c).value
        v[SignalKind.modelPivot.ordinal] = modelPivot(s)
        v[SignalKind.rateLimitPressure.ordinal] = rateLimitPressure(s).value
        ContentSignals.fill(&v, &s, c)
        v[SignalKind.reasoningReplay.ordinal] = reasoningReplay(s)
        v[SignalKind.quotaRacing.ordinal] = quotaRacing(s).value
        v[SignalKind.planValue.ordinal] = planValue(s, c).value
        if !s.sharedEvidence.isEmpty { v[SignalKind.sharedIndicator.ordinal] = sharedIndicator(s, at: c.now).value }
        if s.restrictedExchanges > 0 { v[SignalKind.accessEvasion.ordinal] = accessEvasion(s) }
        if let unkeyed {
            v[SignalKind.suddenChange.ordinal] = unkeyed.suddenChange
            v[SignalKind.keySharing.ordinal] = unkeyed.keySharing
        }
        applyHonestExplanations(&v, s, c)
        return v
    }

    // MARK: What honest accounts have that harvesters lack

    /// Lowers the signals that honest traffic explains (Documentation/Signals.md, "Hard
    /// negatives"):
    /// - many end users, each coming back (a product serving people): round-the-clock
    ///   activity and a coverage sweep are its users' doing, and half of its volume;
    /// - conversations (multi-turn without tools): coverage is what people talk about;
    /// - repeated samples of the same prompt (an evaluation team re-sampling a benchmark):
    ///   chain-of-thought cues and a model pivot are the benchmark's and the release's;
    /// - a verified organisation: its behaviour signals (volume, timing, pivot, rate limits)
    ///   count `policy.verifiedOrganisationFactor` of their value; what it asks for counts
    ///   in full.
    /// - Complexity: O(1).
    @inline(__always)
    static func applyHonestExplanations(_ v: inout SignalValues, _ s: AccountState, _ c: SignalContext) {
        let people = endUserExplanation(s)
        let conversation = s.messageCountSeen >= minimumParameterSamples
            ? min(1, Double(s.conversational) / Double(s.messageCountSeen) / 0.4) : 0
        v[SignalKind.roundTheClock.ordinal] *= 1 - people
        v[SignalKind.coverageSweep.ordinal] *= 1 - max(people, conversation)
        // Many people make volume; it still counts half (made-up ids that come back are cheap).
        v[SignalKind.volume.ordinal] *= 1 - 0.5 * people
        v[SignalKind.outputVolume.ordinal] *= 1 - 0.5 * people
        let samples = repeatedSampling(s)
        v[SignalKind.cotElicitation.ordinal] *= 1 - 0.7 * samples
        v[SignalKind.modelPivot.ordinal] *= 1 - 0.7 * samples
        if s.verifiedOrganisation {
            let f = c.policy.verifiedOrganisationFactor
            for kind in [SignalKind.volume, .outputVolume, .roundTheClock, .timingRegularity, .modelPivot, .rateLimitPressure] {
                v[kind.ordinal] *= f
            }
        }
    }

    /// How far many returning end users explain the account's traffic, in [0, 1]: 0 up to
    /// 10 distinct `end_user_id`s, 1 from 100, times how much each comes back (1.2
    /// exchanges per end user: 0, an id made up per request; 3 or more: 1) and the share of
    /// exchanges that carried an end user (full from 80%).
    @inline(__always)
    static func endUserExplanation(_ s: AccountState) -> Double {
        guard s.endUserExchanges >= minimumParameterSamples else { return 0 }
        let users = max(1, s.endUsers.estimate)
        let many = max(0, min(1, Double.log10(users / 10)))
        let perUser = Double(s.endUserExchanges) / users
        let returning = max(0, min(1, (perUser - 1.2) / 1.8))
        let carried = min(1, Double(s.endUserExchanges) / Double(max(1, s.exchanges)) / 0.8)
        return many * returning * carried
    }

    /// Share of prompts identical byte for byte to one of the account's last 8, as strength: 0 at none,
    /// 1 from 30% (a benchmark sampled several times per item), back to 0 at 95% (one
    /// prompt sent over and over is not an evaluation of anything).
    @inline(__always)
    static func repeatedSampling(_ s: AccountState) -> Double {
        guard s.content.exchanges >= ContentSignals.minimumPrompts else { return 0 }
        let rate = Double(s.content.exactRepeats) / Double(s.content.exchanges)
        return max(0, min(1, rate / 0.3, (0.95 - rate) / 0.15))
    }

    // MARK: Relays, replays, quotas, plans, jumps

    struct Relay {
        var value = 0.0
        var systemPrompts = 0.0
        var returnShare = 0.0
    }

    /// Relaying other products' requests: many distinct system prompts (0 up to 3, full
    /// from 15) interleaved: returns to a system prompt used before, estimated as the
    /// switches between consecutive system prompts beyond the `distinct − 1` that using each
    /// once in turn needs (full from 30% of exchanges), lowered by returning end users (a
    /// platform passing its own users, up to 80% off) and halved for a verified
    /// organisation. A prompt engineer moving through versions switches once per version.
    @inline(__always)
    static func relay(_ s: AccountState) -> Relay {
        var r = Relay()
        let exchanges = s.content.systemPromptExchanges
        guard exchanges >= minimumParameterSamples else { return r }
        r.systemPrompts = s.systemPrompts.estimate
        let switches = Double(exchanges - 1 - s.content.sameSystemAsPrevious)
        r.returnShare = max(0, switches - (r.systemPrompts - 1)) / Double(exchanges)
        let diversity = max(0, min(1, (r.systemPrompts - 3) / 12))
        let interleaving = min(1, r.returnShare / 0.3)
        r.value = diversity * interleaving * (1 - 0.8 * endUserExplanation(s)) * (s.verifiedOrganisation ? 0.5 : 1)
        return r
    }

    /// Replayed reasoning: the share of replays whose block was first served to another
    /// account (or, counting half, to this account more than 6 hours before), full from
    /// 20%; needs 3 replays and 2 that are foreign or stale.
    @inline(__always)
    static func reasoningReplay(_ s: AccountState) -> Double {
        let suspicious = Double(s.foreignReplays) + 0.5 * Double(s.staleReplays)
        guard s.replays >= 3, s.foreignReplays + s.staleReplays >= 2 else { return 0 }
        return min(1, suspicious / Double(s.replays) / 0.2)
    }

    /// Matching prompts that make the prompt part of `shared_indicator` full. Each is a
    /// prompt with at least two keyed band values of a template family a partner's analyst
    /// approved and the partner's other customers never sent (or an exact keyed system
    /// prompt), so two are already an operator's harness, not a coincidence.
    static let sharedPromptsForFullStrength = 2.0

    struct SharedIndicatorReading {
        var value = 0.0
        var contentMatches: Int32 = 0
        var infrastructureKinds: UInt8 = 0
        var emailDomain = false
        /// The prompt part alone, in [0, 1].
        var contentStrength = 0.0

        /// The account is the partner's campaign, judged without the minimum of exchanges:
        /// two matching prompts (the prompt part full), or one matching prompt from the
        /// campaign's own infrastructure (two or more kinds: its exits, networks, client
        /// stack).
        var isKnownCampaign: Bool {
            contentStrength >= 1 || (contentMatches >= 1 && contentStrength > 0 && infrastructureKinds.nonzeroBitCount >= 2)
        }
    }

    /// Prompt matches (template family or system prompt) against indicators still valid:
    /// full from ``sharedPromptsForFullStrength`` matching prompts that are at least a quarter of the account's prompts (an
    /// honest account whose prompts now and then share a phrase with a harness stays low);
    /// a matching sign-up e-mail domain: 0.5; infrastructure (address or
    /// prefix, autonomous system, user agent, client fingerprint): 0.15 per kind matched, at
    /// most 0.45, so that infrastructure alone (a residential proxy exit is also someone's
    /// home) never reaches `review` under the default weight 0.8. Combined as a noisy-OR.
    static func sharedIndicator(_ s: AccountState, at t: Timestamp) -> SharedIndicatorReading {
        var r = SharedIndicatorReading()
        for e in s.sharedEvidence where e.isActive(at: t) {
            r.contentMatches = r.contentMatches.addingSaturating(e.contentMatches)
            r.infrastructureKinds |= e.kinds & 0x0F
            if e.kinds & SharedIndicatorKind.emailDomain.bit != 0 { r.emailDomain = true }
        }
        let prompts = max(Double(s.content.exchanges), Double(r.contentMatches), 1)
        let content = min(1, Double(r.contentMatches) / sharedPromptsForFullStrength) * min(1, Double(r.contentMatches) / prompts / 0.25)
        r.contentStrength = content
        let infrastructure = min(0.45, 0.15 * Double(r.infrastructureKinds.nonzeroBitCount))
        let email = r.emailDomain ? 0.5 : 0
        r.value = 1 - (1 - content) * (1 - email) * (1 - infrastructure)
        return r
    }

    /// The strongest matched indicators, each with its source, campaign, TLP (read from
    /// `markings`, the set it came from) and matches.
    static func sharedIndicatorDetail(_ s: AccountState, at t: Timestamp, markings: SharedIndicatorSet? = nil) -> String {
        let active = s.sharedEvidence.filter { $0.isActive(at: t) }.sorted { $0.weight > $1.weight }
        guard !active.isEmpty else {
            return s.sharedEvidence.isEmpty ? "no shared indicator matched" : "the indicators that matched have expired"
        }
        return active.prefix(3).map { e in
            let kinds = SharedIndicatorKind.allCases.filter { e.kinds & $0.bit != 0 }.map(\.name).joined(separator: ", ")
            let campaign = e.campaign.map { " campaign \"\($0)\"" } ?? ""
            let until = e.validUntil.map { ", valid until \($0.rfc3339)" } ?? ""
            let tlp = markings?.indicator(id: e.id)?.tlp.map { ", \($0)" } ?? ""
            return "\(e.source)\(campaign) (\(e.id)\(tlp)): \(kinds) in \(e.matches) exchange\(e.matches == 1 ? "" : "s")"
                + (e.contentMatches > 0 ? ", \(e.contentMatches) by prompt" : "") + until
        }.joined(separator: "; ") + (active.count > 3 ? "; and \(active.count - 3) more" : "")
    }

    /// The first 48 hours of an account's traffic, for ``quotaRacing(_:)``.
    static let earlyTrafficMilliseconds: Int64 = 48 * Timestamp.millisecondsPerHour

    struct QuotaRacing {
        var value = 0.0
        var ageDays: Double?
        var nearShare = 0.0
        /// The record says the account was opened more than ``creationSkewToleranceDays``
        /// after its first exchange: the age is unknown.
        var createdAfterFirstExchange = false
    }

    /// How far an account's `created` may lie after its first exchange and still be read
    /// as clock skew between the provider's systems (age 0): one hour, in days.
    static let creationSkewToleranceDays = 1.0 / 24

    /// A new account at its limit: in its first 48 hours of traffic, the share of active
    /// minutes at 80% of the per-minute limit (full from 25%), times youth (opened at most
    /// 2 days before its first exchange: full; 14 days or more: 0); a verified organisation
    /// counts 30%. Needs the account's `created` and 10 active minutes.
    @inline(__always)
    static func quotaRacing(_ s: AccountState) -> QuotaRacing {
        var q = QuotaRacing()
        guard let created = s.created else { return q }
        var age = Double(s.firstSeen.milliseconds(since: created)) / Double(Timestamp.millisecondsPerDay)
        // Opened after its first exchange: the record's time is wrong (another clock, another
        // unit), and a negative age would read as the youngest account there is. Up to an
        // hour is clock skew between the systems and reads as 0; more leaves the age unknown.
        if age < 0 {
            guard age >= -Self.creationSkewToleranceDays else {
                q.createdAfterFirstExchange = true
                return q
            }
            age = 0
        }
        q.ageDays = age
        guard s.earlyMinutes >= 10 else { return q }
        q.nearShare = Double(s.earlyMinutesNearLimit) / Double(s.earlyMinutes)
        let young = max(0, min(1, (14 - age) / 12))
        q.value = young * min(1, q.nearShare / 0.25) * (s.verifiedOrganisation ? 0.3 : 1)
        return q
    }

    struct PlanValue {
        var value = 0.0
        var monthlyUSD = 0.0
        var ratio = 0.0
    }

    /// Usage value against the plan: `cost_usd` per 30 days (over at least 7 days of
    /// history) divided by `plan_price_usd`; 0 up to 3×, 0.7 at 15×, 1 from 30× (log scale).
    /// Needs 20 exchanges with a cost.
    @inline(__always)
    static func planValue(_ s: AccountState, _ c: SignalContext) -> PlanValue {
        var p = PlanValue()
        guard s.planPriceUSD > 0, s.costExchanges >= minimumParameterSamples else { return p }
        let days = max(7, Double(c.now.milliseconds(since: s.firstSeen)) / Double(Timestamp.millisecondsPerDay))
        p.monthlyUSD = s.costUSD * 30 / days
        p.ratio = p.monthlyUSD / s.planPriceUSD
        p.value = p.ratio > 3 ? max(0, min(1, Double.log10(p.ratio / 3))) : 0
        return p
    }

    struct SuddenChange {
        var value = 0.0
        var baseline = 0.0
        var observed = 0.0
    }

    /// A jump against the key's (or the account's unkeyed traffic's) own baseline:
    /// exchanges over the last 24 hours (the first 3 hours extrapolated) against the larger
    /// of its mean day so far and half its busiest day (at least 2), needing 3 completed
    /// days; 0 up to 10×, 0.54 at 50×, 0.77 at 100×, 1 from 200× (log scale), times the
    /// share of traffic outside provider-run batches. A key used in bursts (evaluation runs)
    /// has had busy days; a leaked key's owner had not.
    @inline(__always)
    static func suddenChange(_ k: KeyState, _ c: SignalContext) -> SuddenChange {
        var j = SuddenChange()
        guard k.baselineDays >= 3 else { return j }
        j.baseline = max(2, k.baselineDaily, Double(k.peakDayExchanges) / 2)
        let seenHours = Double(c.now.milliseconds(since: k.firstSeen)) / Double(Timestamp.millisecondsPerHour)
        j.observed = Double(k.windowExchangeCount(at: c.now)) * 24 / min(24, max(3, seenHours))
        let ratio = j.observed / j.baseline
        guard ratio > 10 else { return j }
        let batchShare = Double(k.batchExchanges) / Double(max(1, k.exchanges))
        j.value = max(0, min(1, (Double.log10(ratio) - 1) / 1.3)) * (1 - batchShare)
        return j
    }

    struct KeySharing {
        var value = 0.0
        var countries = 0
        var networks = 0
    }

    /// One key used by many people at once: the most countries (0 up to 2, 1 from 6) or
    /// autonomous systems (0 up to 5, 1 from 15) that used it on one UTC day, today or
    /// yesterday; needs 20 exchanges. A family or a team shares a key from one or two
    /// places, a traveller crosses a border now and then; a resold key is used from wherever
    /// its buyers are, every day.
    @inline(__always)
    static func keySharing(_ k: KeyState) -> KeySharing {
        var r = KeySharing()
        guard k.exchanges >= Int64(minimumParameterSamples) else { return r }
        let peak = k.peakDay
        r.countries = peak.countries
        r.networks = peak.networks
        r.value = max(max(0, min(1, Double(peak.countries - 2) / 4)), max(0, min(1, Double(peak.networks - 5) / 10)))
        return r
    }

    /// The key's score (noisy-OR of the per-key signals with the policy's weights) and its
    /// strongest signal. - Complexity: O(1), no allocation.
    static func keyScore(_ k: KeyState, _ c: SignalContext) -> (score: Double, strongest: SignalKind?) {
        // Two named steps, not a loop over an array literal: it runs on every keyed
        // exchange, and the array was allocated each time (its values were never read).
        let signals = keySignals(k, c)
        var remaining = 1.0
        var strongest: SignalKind?
        var best = 0.0
        func add(_ kind: SignalKind, _ value: Double) {
            let contribution = min(1, max(0, c.policy.weight(kind) * value))
            remaining *= 1 - contribution
            if contribution > best { best = contribution; strongest = kind }
        }
        add(.suddenChange, signals.suddenChange)
        add(.keySharing, signals.keySharing)
        return (1 - remaining, strongest)
    }

    /// The detail of a per-key signal for key `k`.
    static func keyDetail(_ kind: SignalKind, _ k: KeyState, _ c: SignalContext) -> String {
        switch kind {
        case .suddenChange:
            let j = suddenChange(k, c)
            guard k.baselineDays >= 3 else { return "\(k.baselineDays) completed days of history (needs 3)" }
            return "\(Wording.rounded(j.observed)) exchanges/day over the last 24 h against a baseline of "
                + "\(Wording.rounded(j.baseline, digits: 1)) a day (mean \(Wording.rounded(k.baselineDaily, digits: 1)) over "
                + "\(k.baselineDays) days, busiest day \(k.peakDayExchanges)): \(Wording.rounded(j.observed / j.baseline, digits: 1))×"
        case .keySharing:
            let r = keySharing(k)
            return "used from \(r.countries) countries and \(r.networks) networks on one day (today or yesterday)"
        default:
            return ""
        }
    }

    // MARK: Volume

    /// 0 at or below expectation, 0.5 at ten times, 1 at a hundred times.
    static func ratioStrength(_ ratio: Double) -> Double {
        guard ratio > 1, ratio.isFinite else { return ratio.isFinite ? 0 : 1 }
        return min(1, Double.log10(ratio) / 2)
    }

    /// Age in days: from the account's creation when known, else from its first exchange.
    @inline(__always)
    static func ageDays(_ s: AccountState, _ c: SignalContext) -> Double {
        let start = s.created ?? s.firstSeen
        return max(0, Double(c.now.milliseconds(since: start)) / Double(Timestamp.millisecondsPerDay))
    }

    /// The tier's daily expectation, scaled down for young accounts: a new account is
    /// expected to use a quarter of an established one's volume, growing linearly to the
    /// full amount at 30 days.
    @inline(__always)
    static func expectedDaily(_ s: AccountState, _ c: SignalContext) -> (exchanges: Double, outputTokens: Double, ageFactor: Double) {
        let ageFactor = min(1, 0.25 + 0.75 * ageDays(s, c) / 30)
        return (max(1, s.tierProfile.dailyExchanges * ageFactor), max(1, s.tierProfile.dailyOutputTokens * ageFactor), ageFactor)
    }

    /// Span of the account's history that the sliding window covers, in hours (at least 3
    /// so that a first burst is not extrapolated from minutes).
    @inline(__always)
    static func windowHours(_ s: AccountState, _ c: SignalContext) -> Double {
        let seenHours = Double(c.now.milliseconds(since: s.firstSeen)) / Double(Timestamp.millisecondsPerHour)
        return min(24, max(3, seenHours))
    }

    @inline(__always)
    static func observedDailyExchanges(_ s: AccountState, _ c: SignalContext) -> Double {
        Double(s.windowExchangeCount(at: c.now)) * 24 / windowHours(s, c)
    }

    @inline(__always)
    static func observedDailyOutputTokens(_ s: AccountState, _ c: SignalContext) -> Double {
        Double(s.windowOutputTokenCount(at: c.now)) * 24 / windowHours(s, c)
    }

    // MARK: Timing

    @inline(__always)
    static func roundTheClock(_ s: AccountState) -> (value: Double, activeShare: Double, entropy: Double, hours: Int64) {
        let hours = s.lastSeen.hourIndex - s.firstSeen.hourIndex + 1
        guard s.exchanges > 0, hours >= minimumHoursForRoundTheClock else { return (0, 0, 0, hours) }
        let activeShare = Double(s.activeHours) / Double(hours)
        let entropy = s.diurnalEntropy
        let shareStrength = max(0, min(1, (activeShare - 0.5) / 0.45))
        let entropyStrength = max(0, min(1, (entropy - 0.8) / 0.18))
        let raw = 0.7 * shareStrength + 0.3 * entropyStrength
        // People have a day: a product's load rises and falls with its users' waking hours
        // even when it never stops; a harvesting machine runs flat.
        let flatness = raw > 0 ? 1 - diurnalShape(s) : 1
        return (raw * flatness, activeShare, entropy, hours)
    }

    /// The strength of the account's daily cycle: the first harmonic of its hour-of-day
    /// histogram (the amplitude of the best-fitting 24-hour sinusoid over the mean), 0 up
    /// to 0.08 (flat, or Poisson noise) and 1 from 0.25 (a consumer audience's evening
    /// peak is about 0.3).
    /// - Complexity: O(24).
    @inline(__always)
    static func diurnalShape(_ s: AccountState) -> Double {
        max(0, min(1, (diurnalAmplitude(s) - 0.08) / 0.17))
    }

    @inline(__always)
    static func diurnalAmplitude(_ s: AccountState) -> Double {
        var re = 0.0, im = 0.0, total = 0.0
        for h in 0..<24 {
            let c = Double(s.hourOfDayCounts[h])
            re += c * hourCosines[h]
            im += c * hourSines[h]
            total += c
        }
        guard total > 0 else { return 0 }
        return (re * re + im * im).squareRoot() / total * 2
    }

    static let hourCosines: [Double] = (0..<24).map { Double.cos(2 * Double.pi * Double($0) / 24) }
    static let hourSines: [Double] = (0..<24).map { Double.sin(2 * Double.pi * Double($0) / 24) }

    /// 1 when gaps vary by at most 20% of their mean, 0 from 80% (a Poisson process has 100%,
    /// people are burstier still).
    @inline(__always)
    static func timingRegularity(_ s: AccountState) -> Double {
        guard s.gapCount >= minimumGaps, let cv = s.gapCoefficientOfVariation else { return 0 }
        return max(0, min(1, (0.8 - cv) / 0.6))
    }

    // MARK: Parameters

    struct ParameterFingerprint {
        var value: Double = 0
        var maxTokensAtLimit = false
        var maxTokensConstancy: Double = 0
        var modelLimit: Int?
        var thinkingShare: Double = 0
        var temperatureConstancy: Double = 0
        var singleTurnShare: Double = 0
        var toolUseShare: Double = 0
    }

    static func constancy(changes: Int32, samples: Int32) -> Double {
        samples > 1 ? 1 - Double(changes) / Double(samples - 1) : 0
    }

    @inline(__always)
    static func parameterFingerprint(_ s: AccountState, _ c: SignalContext) -> ParameterFingerprint {
        var f = ParameterFingerprint()
        var weightSum = 0.0
        var total = 0.0
        if s.maxTokensSeen >= minimumParameterSamples {
            f.maxTokensConstancy = constancy(changes: s.maxTokensChanges, samples: s.maxTokensSeen)
            f.modelLimit = c.models.maxTokensLimit(model: s.lastModel)
            if let limit = f.modelLimit, limit > 0 {
                f.maxTokensAtLimit = Double(s.lastMaxTokens) >= 0.95 * Double(limit)
            }
            total += 0.35 * (f.maxTokensAtLimit ? f.maxTokensConstancy : 0)
            weightSum += 0.35
        }
        if s.thinkingSeen >= minimumParameterSamples {
            f.thinkingShare = Double(s.thinkingOn) / Double(s.thinkingSeen)
            total += 0.30 * f.thinkingShare * f.thinkingShare
            weightSum += 0.30
        }
        if s.temperatureSeen >= minimumParameterSamples {
            f.temperatureConstancy = constancy(changes: s.temperatureChanges, samples: s.temperatureSeen)
            total += 0.15 * f.temperatureConstancy
            weightSum += 0.15
        }
        if s.messageCountSeen >= minimumParameterSamples {
            f.singleTurnShare = Double(s.singleTurn) / Double(s.messageCountSeen)
            total += 0.20 * f.singleTurnShare
            weightSum += 0.20
        }
        if s.toolCountSeen > 0 {
            f.toolUseShare = Double(s.toolUse) / Double(s.toolCountSeen)
        }
        // Only parameters with data count; missing ones neither accuse nor excuse, but a
        // fingerprint from one parameter alone is weak, so the total is not renormalised
        // beyond the share of the evidence that was seen.
        f.value = weightSum > 0 ? total / max(weightSum, 0.65) : 0
        f.value = min(1, f.value)
        return f
    }

    // MARK: Model pivot

    @inline(__always)
    static func modelPivot(_ s: AccountState) -> Double {
        guard s.pivotWindowExchanges >= minimumPivotExchanges else { return 0 }
        return Double(s.pivotNewModelExchanges) / Double(s.pivotWindowExchanges)
    }

    // MARK: Rate limits

    @inline(__always)
    static func rateLimitPressure(_ s: AccountState) -> (value: Double, share429: Double, nearLimitShare: Double) {
        guard s.exchanges >= Int64(minimumParameterSamples) else { return (0, 0, 0) }
        let share429 = Double(s.status429) / Double(s.exchanges)
        let nearShare = s.minutesActive >= 10 ? Double(s.minutesNearLimit) / Double(s.minutesActive) : 0
        let value = max(min(1, share429 / 0.25), min(1, nearShare / 0.3))
        return (value, share429, nearShare)
    }

    // MARK: Explanations

    static func readings(_ s: AccountState, _ c: SignalContext) -> [SignalReading] {
        let v = values(s, c)
        var out: [SignalReading] = []
        for kind in SignalKind.allCases {
            let value = v[kind.ordinal]
            out.append(SignalReading(
                kind: kind, value: value, contribution: value * c.policy.weight(kind),
                detail: detail(kind, s, c)))
        }
        return out
    }

    static func detail(_ kind: SignalKind, _ s: AccountState, _ c: SignalContext) -> String {
        switch kind {
        case .volume:
            let e = expectedDaily(s, c)
            return "\(Wording.rounded(observedDailyExchanges(s, c))) exchanges/day against \(Wording.rounded(e.exchanges)) expected "
                + "for \(tierDescription(s)) aged \(Wording.rounded(ageDays(s, c))) days"
        case .outputVolume:
            let e = expectedDaily(s, c)
            return "\(Wording.rounded(observedDailyOutputTokens(s, c))) output tokens/day against \(Wording.rounded(e.outputTokens)) expected; "
                + "\(Wording.counted(Int(clamping: s.outputTokens), "output token")) in all"
        case .roundTheClock:
            let r = roundTheClock(s)
            if r.hours < minimumHoursForRoundTheClock {
                return "only \(r.hours) h of history (needs \(minimumHoursForRoundTheClock) h)"
            }
            return "active in \(Wording.percent(r.activeShare, digits: 0)) of the \(r.hours) hours since first seen; "
                + "hour-of-day entropy \(Wording.rounded(r.entropy, digits: 2)) of 1; daily cycle amplitude "
                + "\(Wording.rounded(diurnalAmplitude(s), digits: 2)) (people's day from 0.25)" + endUserDetail(s)
        case .timingRegularity:
            guard s.gapCount >= minimumGaps, let cv = s.gapCoefficientOfVariation else {
                return "\(s.gapCount) inter-arrival gaps under an hour (needs \(minimumGaps))"
            }
            return "gaps between requests average \(Wording.rounded(s.gapMean)) s and vary by \(Wording.percent(cv, digits: 0)) "
                + "(people and Poisson traffic vary by 100% or more)"
        case .parameterFingerprint:
            let f = parameterFingerprint(s, c)
            var parts: [String] = []
            if s.maxTokensSeen >= minimumParameterSamples {
                let limit = f.modelLimit.map { " (model limit \($0))" } ?? ""
                parts.append("max_tokens \(s.lastMaxTokens)\(limit) "
                    + (f.maxTokensAtLimit ? "at the limit" : "below the limit")
                    + ", unchanged in \(Wording.percent(f.maxTokensConstancy, digits: 0))")
            }
            if s.thinkingSeen >= minimumParameterSamples { parts.append("thinking on in \(Wording.percent(f.thinkingShare, digits: 0))") }
            if s.temperatureSeen >= minimumParameterSamples {
                parts.append("temperature \(Wording.rounded(s.lastTemperature, digits: 2)) unchanged in \(Wording.percent(f.temperatureConstancy, digits: 0))")
            }
            if s.messageCountSeen >= minimumParameterSamples { parts.append("single-turn \(Wording.percent(f.singleTurnShare, digits: 0))") }
            if s.toolCountSeen > 0 { parts.append("tools sent in \(Wording.percent(f.toolUseShare, digits: 0))") }
            return parts.isEmpty ? "fewer than \(minimumParameterSamples) requests with parameters" : parts.joined(separator: "; ")
        case .modelPivot:
            guard s.pivotWindowExchanges > 0 else { return "no traffic during a new model's first 24 h" }
            let name = c.models.name(s.pivotModel) ?? "the new model"
            return "\(Wording.percent(Double(s.pivotNewModelExchanges) / Double(s.pivotWindowExchanges), digits: 0)) of "
                + "\(s.pivotWindowExchanges) exchanges in the \(Wording.rounded(c.policy.pivotWindowHours)) h after \(name) "
                + "first appeared went to it"
        case .rateLimitPressure:
            let r = rateLimitPressure(s)
            return "\(Wording.percent(r.share429, digits: 0)) of requests answered 429; \(s.minutesNearLimit) of \(s.minutesActive) "
                + "active minutes at 80% or more of the \(Wording.rounded(s.tierProfile.requestsPerMinute)) requests/min limit"
        case .cotElicitation, .rubricGrading, .sensitiveRewriting, .syntheticDataGeneration, .templateSharing, .coverageSweep:
            return ContentSignals.detail(kind, s.content, c) + honestDetail(kind, s)
        case .relay:
            let r = relay(s)
            guard s.content.systemPromptExchanges >= minimumParameterSamples else {
                return "\(s.content.systemPromptExchanges) exchanges with a system prompt (needs \(minimumParameterSamples))"
            }
            return "about \(Wording.rounded(r.systemPrompts)) distinct system prompts in \(s.content.systemPromptExchanges) exchanges; "
                + "\(Wording.percent(r.returnShare, digits: 0)) go back to an earlier one (interleaved products, estimated from the switches)"
                + endUserDetail(s) + (s.verifiedOrganisation ? "; verified organisation" : "")
        case .reasoningReplay:
            if s.replays == 0 { return "no request sent a reasoning block back" }
            return "\(s.replays) requests sent a reasoning block back: \(s.foreignReplays) first served to another account, "
                + "\(s.staleReplays) to this account more than 6 h earlier"
        case .quotaRacing:
            let q = quotaRacing(s)
            if q.createdAfterFirstExchange, let created = s.created {
                return "the account record says it was opened \(created.rfc3339), after its first exchange "
                    + "(\(s.firstSeen.rfc3339)): its age is unknown, and the signal is not counted"
            }
            guard let age = q.ageDays else { return "account creation time unknown" }
            return "first exchange \(Wording.rounded(age, digits: 1)) days after the account was opened; in its first 48 h, "
                + "\(s.earlyMinutesNearLimit) of \(s.earlyMinutes) active minutes at 80% or more of the "
                + "\(Wording.rounded(s.tierProfile.requestsPerMinute)) requests/min limit"
        case .planValue:
            let p = planValue(s, c)
            guard s.planPriceUSD > 0 else { return "no plan price on the account record" }
            return "usage worth \(Wording.rounded(p.monthlyUSD)) USD per 30 days (\(s.costExchanges) exchanges with a cost) "
                + "on a plan of \(Wording.rounded(s.planPriceUSD)) USD: \(Wording.rounded(p.ratio, digits: 1))×"
        case .sharedIndicator:
            return sharedIndicatorDetail(s, at: c.now, markings: c.sharedIndicators)
        case .accessEvasion:
            return accessEvasionDetail(s, record: c.record)
        case .suddenChange, .keySharing:
            guard let key = c.unkeyed else { return "judged per API key (every exchange carried api_key_id)" }
            return keyDetail(kind, key, c) + (s.exchanges > key.exchanges ? " (exchanges without api_key_id; keyed ones are judged per key)" : "")
        }
    }

    /// The end users behind the account, when it passes them.
    static func endUserDetail(_ s: AccountState) -> String {
        guard s.endUserExchanges > 0 else { return "" }
        return "; about \(Wording.rounded(s.endUsers.estimate)) end users in \(s.endUserExchanges) exchanges "
            + "(explains \(Wording.percent(endUserExplanation(s), digits: 0)) of 24/7 activity and coverage)"
    }

    /// What lowered a content signal, if anything did.
    static func honestDetail(_ kind: SignalKind, _ s: AccountState) -> String {
        switch kind {
        case .coverageSweep:
            let conversation = s.messageCountSeen > 0 ? Double(s.conversational) / Double(s.messageCountSeen) : 0
            return endUserDetail(s) + (conversation > 0 ? "; \(Wording.percent(conversation, digits: 0)) multi-turn conversations" : "")
        case .cotElicitation:
            let samples = repeatedSampling(s)
            return samples > 0 ? "; \(Wording.percent(Double(s.content.exactRepeats) / Double(max(1, s.content.exchanges)), digits: 0)) repeat a recent prompt exactly (re-sampled items)" : ""
        default:
            return ""
        }
    }

    static func tierDescription(_ s: AccountState) -> String {
        s.hasRecord ? "its tier" : "an account with no record"
    }
}

extension AccountState {
    /// Exchanges in the 24 hours before `now`.
    @inline(__always)
    func windowExchangeCount(at now: Timestamp) -> Int64 {
        Self.windowSum(windowExchanges, runningSum: windowExchangeSum, newestHour: windowHour, at: now)
    }

    /// Output tokens in the 24 hours before `now`.
    @inline(__always)
    func windowOutputTokenCount(at now: Timestamp) -> Int64 {
        Self.windowSum(windowOutputTokens, runningSum: windowOutputTokenSum, newestHour: windowHour, at: now)
    }

    /// Sum of the buckets still inside the 24 hours before `now`. O(1) when `now` is in the
    /// newest bucket's hour (every exchange); O(24) for a later decide call.
    static func windowSum(_ buckets: InlineArray<24, UInt32>, runningSum: Int64, newestHour: Int64, at now: Timestamp) -> Int64 {
        let age = now.hourIndex - newestHour
        if age <= 0 { return runningSum }
        if age >= 24 { return 0 }
        var sum: Int64 = 0
        for k in 0..<(24 - Int(age)) {
            sum += Int64(buckets[Int(((newestHour - Int64(k)) % 24 + 24) % 24)])
        }
        return sum
    }
}
