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

/// What the behaviour signals read besides the account's own state.
struct SignalContext {
    var policy: Policy
    var now: Timestamp
    var models: ModelCatalog
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
        var v = SignalValues(repeating: 0)
        let expected = expectedDaily(s, c)
        v[SignalKind.volume.ordinal] = ratioStrength(observedDailyExchanges(s, c) / expected.exchanges)
        v[SignalKind.outputVolume.ordinal] = ratioStrength(observedDailyOutputTokens(s, c) / expected.outputTokens)
        v[SignalKind.roundTheClock.ordinal] = roundTheClock(s).value
        v[SignalKind.timingRegularity.ordinal] = timingRegularity(s)
        v[SignalKind.parameterFingerprint.ordinal] = parameterFingerprint(s, c).value
        v[SignalKind.modelPivot.ordinal] = modelPivot(s)
        v[SignalKind.rateLimitPressure.ordinal] = rateLimitPressure(s).value
        ContentSignals.fill(&v, s.content, c)
        return v
    }

    // MARK: Volume

    /// 0 at or below expectation, 0.5 at ten times, 1 at a hundred times.
    static func ratioStrength(_ ratio: Double) -> Double {
        guard ratio > 1, ratio.isFinite else { return ratio.isFinite ? 0 : 1 }
        return min(1, Double.log10(ratio) / 2)
    }

    /// Age in days: from the account's creation when known, else from its first exchange.
    static func ageDays(_ s: AccountState, _ c: SignalContext) -> Double {
        let start = s.created ?? s.firstSeen
        return max(0, Double(c.now.milliseconds(since: start)) / Double(Timestamp.millisecondsPerDay))
    }

    /// The tier's daily expectation, scaled down for young accounts: a new account is
    /// expected to use a quarter of an established one's volume, growing linearly to the
    /// full amount at 30 days.
    static func expectedDaily(_ s: AccountState, _ c: SignalContext) -> (exchanges: Double, outputTokens: Double, ageFactor: Double) {
        let ageFactor = min(1, 0.25 + 0.75 * ageDays(s, c) / 30)
        return (max(1, s.tierProfile.dailyExchanges * ageFactor), max(1, s.tierProfile.dailyOutputTokens * ageFactor), ageFactor)
    }

    /// Span of the account's history that the sliding window covers, in hours (at least 3
    /// so that a first burst is not extrapolated from minutes).
    static func windowHours(_ s: AccountState, _ c: SignalContext) -> Double {
        let seenHours = Double(c.now.milliseconds(since: s.firstSeen)) / Double(Timestamp.millisecondsPerHour)
        return min(24, max(3, seenHours))
    }

    static func observedDailyExchanges(_ s: AccountState, _ c: SignalContext) -> Double {
        Double(s.windowExchangeCount(at: c.now)) * 24 / windowHours(s, c)
    }

    static func observedDailyOutputTokens(_ s: AccountState, _ c: SignalContext) -> Double {
        Double(s.windowOutputTokenCount(at: c.now)) * 24 / windowHours(s, c)
    }

    // MARK: Timing

    static func roundTheClock(_ s: AccountState) -> (value: Double, activeShare: Double, entropy: Double, hours: Int64) {
        let hours = s.lastSeen.hourIndex - s.firstSeen.hourIndex + 1
        guard s.exchanges > 0, hours >= minimumHoursForRoundTheClock else { return (0, 0, 0, hours) }
        let activeShare = Double(s.activeHours) / Double(hours)
        let entropy = s.diurnalEntropy
        let shareStrength = max(0, min(1, (activeShare - 0.5) / 0.45))
        let entropyStrength = max(0, min(1, (entropy - 0.8) / 0.18))
        return (0.7 * shareStrength + 0.3 * entropyStrength, activeShare, entropy, hours)
    }

    /// 1 when gaps vary by at most 20% of their mean, 0 from 80% (a Poisson process has 100%,
    /// people are burstier still).
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

    static func modelPivot(_ s: AccountState) -> Double {
        guard s.pivotWindowExchanges >= minimumPivotExchanges else { return 0 }
        return Double(s.pivotNewModelExchanges) / Double(s.pivotWindowExchanges)
    }

    // MARK: Rate limits

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
                + "hour-of-day entropy \(Wording.rounded(r.entropy, digits: 2)) of 1"
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
            return ContentSignals.detail(kind, s.content, c)
        }
    }

    static func tierDescription(_ s: AccountState) -> String {
        s.hasRecord ? "its tier" : "an account with no record"
    }
}

extension AccountState {
    /// Exchanges in the 24 hours before `now`.
    func windowExchangeCount(at now: Timestamp) -> Int64 {
        Self.windowSum(windowExchanges, runningSum: windowExchangeSum, newestHour: windowHour, at: now)
    }

    /// Output tokens in the 24 hours before `now`.
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
