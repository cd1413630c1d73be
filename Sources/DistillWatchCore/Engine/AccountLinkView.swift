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
    /// The request-parameter fingerprint (``AccountState/parameterKey``).
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

    /// The view of `state` as it stands. Always inlined (about 85 instructions an exchange
    /// fewer, callgrind, 30 November 2026). Called with an `inout` state (`observeAccount`),
    /// the compiler still copies the state (1,656 bytes) first, about 200 instructions an
    /// exchange; inlining did not remove that copy.
    /// - Complexity: O(1).
    @inline(__always)
    init(of state: borrowing AccountState) {
        exchanges = state.exchanges
        score = state.score
        verdict = state.verdict
        strongestSignal = state.strongestSignal
        windowExchangeSum = state.windowExchangeSum
        spanMinutes = max(1, state.lastSeen.minuteIndex - state.firstSeen.minuteIndex + 1)
        parameters = state.parameterKey
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

    /// The window of `state` as it stands (always inlined; see ``AccountLinkView/init(of:)``
    /// on the copy).
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
    var parameterKey: UInt64? {
        guard exchanges >= 16, maxTokensSeen >= 16, maxTokensChanges == 0, temperatureChanges == 0 else { return nil }
        func habit(_ on: Int32, of seen: Int32) -> UInt64 { seen == 0 ? 0 : (on == 0 ? 1 : (on == seen ? 2 : 3)) }
        let thinking = habit(thinkingOn, of: thinkingSeen)
        let tools = habit(toolUse, of: toolCountSeen)
        let stream = habit(streamOn, of: streamSeen)
        var h = stableHash(UInt64(UInt32(bitPattern: lastMaxTokens)), salt: 0x9A2A)
        h = finalMix(h ^ (temperatureSeen > 0 ? lastTemperature.bitPattern : 0x7FF8_DEAD))
        h = finalMix(h ^ (thinking << 8 | tools << 4 | stream << 12))
        return h
    }
}
