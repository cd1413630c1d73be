import RealModule

/// Everything the engine remembers about one account, in a fixed amount of memory.
///
/// No list of events is kept: counters, Welford moments, a 24-bucket hour-of-day
/// histogram and a 24-hour sliding window of hourly buckets summarise the traffic.
/// `MemoryLayout<AccountState>.size` is about 500 bytes whatever the account's volume.
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

    // Model pivot: traffic while a newly released model was within its pivot window.
    var pivotWindowExchanges: Int32 = 0
    var pivotNewModelExchanges: Int32 = 0
    var pivotModel: Int32 = -1

    // Content profile (prompt sketches).
    var content = ContentState()

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
