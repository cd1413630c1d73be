import RealModule

/// Everything the engine remembers about one account, in a fixed amount of memory.
///
/// No list of events is kept: counters, Welford moments, a 24-bucket hour-of-day
/// histogram and a 24-hour sliding window of hourly buckets summarise the traffic.
/// `MemoryLayout<AccountState>.size` is about 1.6 KB whatever the account's volume.
///
/// All updates assume time order per account (the reorder buffer upstream guarantees it);
/// a record that is older than the account's last one is counted at the last time.
public struct AccountState: Sendable {
    // Registration (from the account record, if any).
    var tierProfile: Policy.TierProfile
    var created: Timestamp?
    var allowlisted = false
    var hasRecord = false

    // Volume.
    var exchanges: Int64 = 0
    var outputTokens: Int64 = 0
    var inputTokens: Int64 = 0
    var reasoningTokens: Int64 = 0
    var firstSeen = Timestamp(millisecondsSinceEpoch: 0)
    var lastSeen = Timestamp(millisecondsSinceEpoch: 0)

    // Sliding 24-hour window of hourly buckets; `windowHour` is the hour index of the newest bucket.
    var windowExchanges = InlineArray<24, UInt32>(repeating: 0)
    var windowOutputTokens = InlineArray<24, UInt32>(repeating: 0)
    var windowHour: Int64 = 0
    var windowExchangeSum: Int64 = 0
    var windowOutputTokenSum: Int64 = 0

    // Time of day.
    var hourOfDayCounts = InlineArray<24, UInt32>(repeating: 0)
    /// Σ c·ln(c) over the hour-of-day counts, kept incrementally for O(1) entropy.
    var hourOfDayCLogC: Double = 0
    var activeHours: Int32 = 0
    var lastActiveHour: Int64 = .min

    // Inter-arrival gaps of at most an hour, in seconds (Welford's online moments).
    var gapCount: Int32 = 0
    var gapMean: Double = 0
    var gapM2: Double = 0

    // Rate-limit pressure.
    var status429: Int32 = 0
    var currentMinute: Int64 = .min
    var currentMinuteCount: UInt32 = 0
    var minutesActive: Int32 = 0
    var minutesNearLimit: Int32 = 0

    // Parameter fingerprint.
    var maxTokensSeen: Int32 = 0
    var maxTokensChanges: Int32 = 0
    var lastMaxTokens: Int32 = 0
    var lastModel: Int32 = -1
    var thinkingSeen: Int32 = 0
    var thinkingOn: Int32 = 0
    var temperatureSeen: Int32 = 0
    var temperatureChanges: Int32 = 0
    var lastTemperature: Double = 0
    var messageCountSeen: Int32 = 0
    var singleTurn: Int32 = 0
    var toolCountSeen: Int32 = 0
    var toolUse: Int32 = 0
    var streamSeen: Int32 = 0
    var streamOn: Int32 = 0

    // Model pivot: traffic while a newly released model was within its pivot window.
    var pivotWindowExchanges: Int32 = 0
    var pivotNewModelExchanges: Int32 = 0
    var pivotModel: Int32 = -1

    // Content profile (prompt sketches).
    var content = ContentState()

    // Round two: who the account serves, what it pays, how it changes.
    /// A verified organisation: `verified` and a tier other than free or standard.
    var verifiedOrganisation = false
    /// Unverified, on a free or standard tier (or no record saying otherwise).
    var unverifiedSelfServe = true
    /// The flat plan's monthly price, USD (0: no plan).
    var planPriceUSD: Double = 0
    /// Model access: exchanges to country-restricted models, those from an address in a
    /// country the model is not available in while the account declared one where it is,
    /// that country (two ASCII letters, packed), and whether it pays from such a country.
    var restrictedExchanges: Int32 = 0
    var evasiveExchanges: Int32 = 0
    var evasiveCountry: UInt16 = 0
    var evasivePayment = false
    /// Distinct `end_user_id`s, and exchanges that carried one.
    var endUsers = SmallHyperLogLog()
    var endUserExchanges: Int32 = 0
    /// Distinct system prompts (a relay interleaves many products' prompts; the switches
    /// between them are counted by the content state).
    var systemPrompts = SmallHyperLogLog()
    /// Multi-turn exchanges (three messages or more) without tools: conversations.
    var conversational: Int32 = 0
    /// Exchanges run inside a provider-run batch (`batch_id`), which the provider paced.
    var batchExchanges: Int32 = 0
    /// What the provider charged, USD, and the exchanges that said.
    var costUSD: Double = 0
    var costExchanges: Int32 = 0
    /// The account's traffic without an `api_key_id`, as a key of its own in the engine's
    /// ``KeyTable`` (-1: none yet): `sudden_change` and `key_sharing` read it.
    var unkeyedSlot: Int32 = -1
    /// Age of the account (days since `created`) at its first exchange; -1 when unknown.
    var ageAtFirstExchangeDays: Double = -1
    /// Active minutes, and minutes at 80% of the rate limit, in the first 48 hours of traffic.
    var earlyMinutes: Int32 = 0
    var earlyMinutesNearLimit: Int32 = 0
    /// Requests that sent back a reasoning block (`reasoning_replay_of`); of them, blocks
    /// first served to another account, and blocks from an exchange more than 6 hours older.
    var replays: Int32 = 0
    var foreignReplays: Int32 = 0
    var staleReplays: Int32 = 0
    /// Indicators shared by other providers that this account's traffic or record matched.
    var sharedEvidence: [SharedIndicatorEvidence] = []

    // Analyst feedback: signal values dismissed by a `legitimate` label, and the label.
    var dismissed = SignalValues(repeating: 0)
    var label: AnalystLabel?

    // Verdict.
    var score: Double = 0
    var verdict: Verdict = .allow
    var strongestSignal: SignalKind?
    var firstFlaggedAt: Timestamp?
    var exchangesBeforeFlag: Int64 = 0

    init(tierProfile: Policy.TierProfile) {
        self.tierProfile = tierProfile
    }

    var hasTraffic: Bool { exchanges > 0 }

    /// Hour-of-day entropy normalised to [0, 1] (1: all 24 hours equally busy).
    var diurnalEntropy: Double {
        let n = Double(exchanges)
        guard n > 1 else { return 0 }
        let h = (Double.log(n) - hourOfDayCLogC / n)
        return max(0, min(1, h / Double.log(24)))
    }

    /// Coefficient of variation of inter-arrival gaps (standard deviation / mean).
    var gapCoefficientOfVariation: Double? {
        guard gapCount >= 2, gapMean > 0 else { return nil }
        let variance = gapM2 / Double(gapCount - 1)
        return variance.squareRoot() / gapMean
    }
}

// MARK: Snapshot

extension AccountState: SnapshotCodable {
    static var snapshotFieldCount: Int { 75 }

    func write(to w: inout SnapshotWriter) {
        w.value(tierProfile)
        w.optional(created) { $0.timestamp($1) }
        w.bool(allowlisted)
        w.bool(hasRecord)
        w.int(exchanges)
        w.int(outputTokens)
        w.int(inputTokens)
        w.int(reasoningTokens)
        w.timestamp(firstSeen)
        w.timestamp(lastSeen)
        w.inline(windowExchanges)
        w.inline(windowOutputTokens)
        w.int(windowHour)
        w.int(windowExchangeSum)
        w.int(windowOutputTokenSum)
        w.inline(hourOfDayCounts)
        w.double(hourOfDayCLogC)
        w.int(activeHours)
        w.int(lastActiveHour)
        w.int(gapCount)
        w.double(gapMean)
        w.double(gapM2)
        w.int(status429)
        w.int(currentMinute)
        w.int(currentMinuteCount)
        w.int(minutesActive)
        w.int(minutesNearLimit)
        w.int(maxTokensSeen)
        w.int(maxTokensChanges)
        w.int(lastMaxTokens)
        w.int(lastModel)
        w.int(thinkingSeen)
        w.int(thinkingOn)
        w.int(temperatureSeen)
        w.int(temperatureChanges)
        w.double(lastTemperature)
        w.int(messageCountSeen)
        w.int(singleTurn)
        w.int(toolCountSeen)
        w.int(toolUse)
        w.int(streamSeen)
        w.int(streamOn)
        w.int(pivotWindowExchanges)
        w.int(pivotNewModelExchanges)
        w.int(pivotModel)
        w.value(content)
        w.bool(verifiedOrganisation)
        w.bool(unverifiedSelfServe)
        w.double(planPriceUSD)
        w.int(restrictedExchanges)
        w.int(evasiveExchanges)
        w.int(evasiveCountry)
        w.bool(evasivePayment)
        w.value(endUsers)
        w.int(endUserExchanges)
        w.value(systemPrompts)
        w.int(conversational)
        w.int(batchExchanges)
        w.double(costUSD)
        w.int(costExchanges)
        w.int(unkeyedSlot)
        w.double(ageAtFirstExchangeDays)
        w.int(earlyMinutes)
        w.int(earlyMinutesNearLimit)
        w.int(replays)
        w.int(foreignReplays)
        w.int(staleReplays)
        w.array(sharedEvidence)
        w.inline(dismissed)
        w.optional(label) { $0.string($1.rawValue) }
        w.double(score)
        w.string(verdict.rawValue)
        w.optional(strongestSignal) { $0.string($1.rawValue) }
        w.optional(firstFlaggedAt) { $0.timestamp($1) }
        w.int(exchangesBeforeFlag)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        tierProfile = try r.value(Policy.TierProfile.self)
        created = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        allowlisted = try r.bool()
        hasRecord = try r.bool()
        exchanges = try r.int()
        outputTokens = try r.int()
        inputTokens = try r.int()
        reasoningTokens = try r.int()
        firstSeen = try r.timestamp()
        lastSeen = try r.timestamp()
        windowExchanges = try r.inline()
        windowOutputTokens = try r.inline()
        windowHour = try r.int()
        windowExchangeSum = try r.int()
        windowOutputTokenSum = try r.int()
        hourOfDayCounts = try r.inline()
        hourOfDayCLogC = try r.double()
        activeHours = try r.int()
        lastActiveHour = try r.int()
        gapCount = try r.int()
        gapMean = try r.double()
        gapM2 = try r.double()
        status429 = try r.int()
        currentMinute = try r.int()
        currentMinuteCount = try r.int()
        minutesActive = try r.int()
        minutesNearLimit = try r.int()
        maxTokensSeen = try r.int()
        maxTokensChanges = try r.int()
        lastMaxTokens = try r.int()
        lastModel = try r.int()
        thinkingSeen = try r.int()
        thinkingOn = try r.int()
        temperatureSeen = try r.int()
        temperatureChanges = try r.int()
        lastTemperature = try r.double()
        messageCountSeen = try r.int()
        singleTurn = try r.int()
        toolCountSeen = try r.int()
        toolUse = try r.int()
        streamSeen = try r.int()
        streamOn = try r.int()
        pivotWindowExchanges = try r.int()
        pivotNewModelExchanges = try r.int()
        pivotModel = try r.int()
        content = try r.value(ContentState.self)
        verifiedOrganisation = try r.bool()
        unverifiedSelfServe = try r.bool()
        planPriceUSD = try r.double()
        restrictedExchanges = try r.int()
        evasiveExchanges = try r.int()
        evasiveCountry = try r.int()
        evasivePayment = try r.bool()
        endUsers = try r.value(SmallHyperLogLog.self)
        endUserExchanges = try r.int()
        systemPrompts = try r.value(SmallHyperLogLog.self)
        conversational = try r.int()
        batchExchanges = try r.int()
        costUSD = try r.double()
        costExchanges = try r.int()
        unkeyedSlot = try r.int()
        ageAtFirstExchangeDays = try r.double()
        earlyMinutes = try r.int()
        earlyMinutesNearLimit = try r.int()
        replays = try r.int()
        foreignReplays = try r.int()
        staleReplays = try r.int()
        sharedEvidence = try r.array(SharedIndicatorEvidence.self, minimumElementSize: 40)
        guard sharedEvidence.count <= SharedIndicatorEvidence.capacity else {
            throw SnapshotError("an account carries \(sharedEvidence.count) shared-indicator matches (at most \(SharedIndicatorEvidence.capacity))")
        }
        dismissed = try r.inline()
        label = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.rawValue(AnalystLabel.self) }
        score = try r.double()
        verdict = try r.rawValue(Verdict.self)
        strongestSignal = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.rawValue(SignalKind.self) }
        firstFlaggedAt = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        exchangesBeforeFlag = try r.int()
    }
}
