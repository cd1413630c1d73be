/// What campaign linkage and settling read of an account's own state, as of the account's
/// latest exchange: the engine keeps one per account (``DetectionEngine``'s `linkViews`),
/// replaced after every change to the account's state.
///
/// Linkage is the one part of the engine that reads *other* accounts' states, and it must
/// read each of them as it stood at the exchange being linked. With the view in between,
/// linkage never reads an ``AccountState``: the per-account step can run ahead of it on
/// other threads (``DetectionEngine/observeOverlapped(next:waiting:partitions:keepDecisions:)``), and the
/// sequential engine gives the same verdicts because it goes through the same views. The
/// view also keeps what a pair comparison reads together, in 80 bytes instead of the
/// scattered fields of a 1.6 KB state, with the request-parameter fingerprint computed
/// once per exchange instead of once per comparison.
///
/// About 80 bytes, what pair comparisons and decisions read; the hourly window and the
/// hour-of-day counts that a lone account brings into the group it joins are its
/// ``AccountWindowView``, kept apart so that comparisons touch two cache lines per account.
struct AccountLinkView: Sendable {
    var exchanges: Int64 = 0
    /// The account's own score and verdict (before its campaign's is combined).
    var score: Double = 0
    /// Exchanges in the last 24 hours (the sliding window's sum).
    var windowExchangeSum: Int64 = 0
    /// Minutes from the account's first to its latest exchange, at least 1.
    var spanMinutes: Int64 = 1
    /// The request-parameter fingerprint (``AccountState/parameterKey(of:)``).
    var parameters: UInt64?
    /// The content key of the account's latest system prompt, when it sent one.
    var systemPrompt: UInt64?
    var pivotWindowExchanges: Int32 = 0
    var pivotNewModelExchanges: Int32 = 0
    var verdict: Verdict = .allow
    var strongestSignal: SignalKind?
    /// Exempt from campaign verdicts and linkage (changed by account records only).
    var allowlisted = false
    /// An analyst's label (changed by labels only).
    var label: AnalystLabel?

    init() {}

    /// The view of `state` as it stands. `inout` only so that the state is read where it
    /// lies (nothing is changed): taken `borrowing`, the state was copied whole (1,656
    /// bytes) before its fields were read, on every exchange, because the request-parameter
    /// fingerprint, a getter, was handed the copy (callgrind and the disassembly, 30
    /// November and 1 December 2026). Always inlined.
    /// - Complexity: O(1).
    @inline(__always)
    init(of state: inout AccountState) {
        exchanges = state.exchanges
        score = state.score
        verdict = state.verdict
        strongestSignal = state.strongestSignal
        windowExchangeSum = state.windowExchangeSum
        spanMinutes = max(1, state.lastSeen.minuteIndex - state.firstSeen.minuteIndex + 1)
        parameters = AccountState.parameterKey(of: &state)
        systemPrompt = state.content.systemPromptExchanges > 0 ? state.content.lastSystemKey : nil
        pivotWindowExchanges = state.pivotWindowExchanges
        pivotNewModelExchanges = state.pivotNewModelExchanges
        allowlisted = state.allowlisted
        label = state.label
    }
}

/// The rest of what linkage reads of an account's state as of its latest exchange: what a
/// lone account brings into the group it joins (``CampaignState/absorb(member:view:window:profile:)``).
/// About 230 bytes.
struct AccountWindowView: Sendable {
    var outputTokens: Int64 = 0
    var firstSeen = Timestamp(millisecondsSinceEpoch: 0)
    var lastSeen = Timestamp(millisecondsSinceEpoch: 0)
    var windowHour: Int64 = 0
    var windowExchanges = InlineArray<24, UInt32>(repeating: 0)
    var hourOfDayCounts = InlineArray<24, UInt32>(repeating: 0)

    init() {}

    /// The window of `state` as it stands (always inlined). It reads stored fields only, no
    /// getter: `observeAccepted`'s disassembly shows no copy of the state for it (unlike
    /// ``AccountLinkView/init(of:)`` taken `borrowing`).
    @inline(__always)
    init(of state: borrowing AccountState) {
        outputTokens = state.outputTokens
        firstSeen = state.firstSeen
        lastSeen = state.lastSeen
        windowHour = state.windowHour
        windowExchanges = state.windowExchanges
        hourOfDayCounts = state.hourOfDayCounts
    }
}

extension AccountState {
    /// An account's request parameters, once they have been the same for 16 exchanges:
    /// `max_tokens`, temperature, and whether thinking, tools and streaming are always,
    /// never or sometimes on (not the model, which customers switch between); `nil` before.
    /// `inout` only to read the state in place (see ``AccountLinkView/init(of:)``).
    @inline(__always)
    static func parameterKey(of s: inout AccountState) -> UInt64? {
        guard s.exchanges >= 16, s.maxTokensSeen >= 16, s.maxTokensChanges == 0, s.temperatureChanges == 0 else { return nil }
        func habit(_ on: Int32, of seen: Int32) -> UInt64 { seen == 0 ? 0 : (on == 0 ? 1 : (on == seen ? 2 : 3)) }
        let thinking = habit(s.thinkingOn, of: s.thinkingSeen)
        let tools = habit(s.toolUse, of: s.toolCountSeen)
        let stream = habit(s.streamOn, of: s.streamSeen)
        var h = stableHash(UInt64(UInt32(bitPattern: s.lastMaxTokens)), salt: 0x9A2A)
        h = finalMix(h ^ (s.temperatureSeen > 0 ? s.lastTemperature.bitPattern : 0x7FF8_DEAD))
        h = finalMix(h ^ (thinking << 8 | tools << 4 | stream << 12))
        return h
    }
}
