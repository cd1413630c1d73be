/// How signals become a verdict: weights, thresholds, allowlists, and the per-tier
/// expectations that volume and rate-limit signals compare against.
///
/// The built-in ``default`` is tuned on the project's scenarios (see
/// Documentation/Scenarios.md); a YAML file can override any part of it
/// (see Documentation/Policy.md).
///
/// Scoring is a weighted noisy-OR: `score = 1 - Π (1 - weight_i × value_i)`. Each weight is
/// the score one signal at full strength gives on its own; independent signals reinforce
/// each other, and no number of weak signals reaches 1.
public struct Policy: Sendable, Equatable {
    /// Expected usage of a customer tier.
    public struct TierProfile: Sendable, Equatable {
        /// Exchanges per day that a typical established account of the tier sends.
        public var dailyExchanges: Double
        /// Output tokens per day that a typical established account of the tier receives.
        public var dailyOutputTokens: Double
        /// The tier's rate limit in requests per minute.
        public var requestsPerMinute: Double

        public init(dailyExchanges: Double, dailyOutputTokens: Double, requestsPerMinute: Double) {
            self.dailyExchanges = dailyExchanges
            self.dailyOutputTokens = dailyOutputTokens
            self.requestsPerMinute = requestsPerMinute
        }
    }

    public struct Thresholds: Sendable, Equatable {
        public var review: Double
        public var throttle: Double
        public var block: Double

        public init(review: Double, throttle: Double, block: Double) {
            self.review = review
            self.throttle = throttle
            self.block = block
        }

        public func verdict(for score: Double) -> Verdict {
            if score >= block { return .block }
            if score >= throttle { return .throttle }
            if score >= review { return .review }
            return .allow
        }
    }

    public struct Allowlist: Sendable, Equatable {
        public var accounts: Set<String>
        public var paymentFingerprints: Set<String>
        public var emailDomains: Set<String>

        public init(accounts: Set<String> = [], paymentFingerprints: Set<String> = [], emailDomains: Set<String> = []) {
            self.accounts = accounts
            self.paymentFingerprints = paymentFingerprints
            self.emailDomains = emailDomains
        }

        public func contains(accountID: String, record: AccountRecord?) -> Bool {
            if accounts.contains(accountID) { return true }
            if let p = record?.paymentFingerprint, paymentFingerprints.contains(p) { return true }
            if let d = record?.emailDomain, emailDomains.contains(d.lowercased()) { return true }
            return false
        }
    }

    /// Weight of each signal, in `SignalKind.allCases` order.
    private var weightTable: [Double]
    public var thresholds: Thresholds
    /// An account needs this many exchanges before it can be flagged at all.
    public var minimumExchanges: Int
    public var allowlist: Allowlist
    /// Expectations per tier name (`free`, `standard`, ...).
    public var tiers: [String: TierProfile]
    /// Expectations for accounts with no record or an unknown tier.
    public var defaultTier: TierProfile
    /// Known output limits per model; where a model is missing, the largest `max_tokens`
    /// seen for it so far stands in.
    public var modelMaxTokens: [String: Int]
    /// How long after a new model's first appearance traffic to it counts as a pivot.
    public var pivotWindowHours: Double
    /// A model first seen within this many hours of the start of the traffic was already
    /// there, not newly released.
    public var releaseGraceHours: Double
    /// A template family used by at least this many accounts counts as shared.
    public var sharedTemplateAccounts: Double = 10
    /// How accounts are linked into campaigns and how campaigns are scored.
    public var campaigns = CampaignPolicy.default
    /// What a verified organisation's behaviour signals (volume, output volume,
    /// round-the-clock, timing, model pivot, rate limits) count of their value: its
    /// identity is known and it signed terms, while what it asks for counts in full.
    public var verifiedOrganisationFactor: Double = 0.5
    /// How verdicts and signals become graduated countermeasures (directives a gateway
    /// applies). It changes what gateways are told, never a score or verdict.
    public var countermeasures = CountermeasurePolicy.default
    /// How a sign-up is scored before its first request (``SignupRisk``).
    public var signup = SignupPolicy.default
    /// Who may use which model (countries, tiers); empty: every model for everyone.
    public var modelAccess = ModelAccessPolicy()

    public init(
        weights: [SignalKind: Double], thresholds: Thresholds, minimumExchanges: Int,
        allowlist: Allowlist, tiers: [String: TierProfile], defaultTier: TierProfile,
        modelMaxTokens: [String: Int], pivotWindowHours: Double, releaseGraceHours: Double
    ) {
        self.weightTable = SignalKind.allCases.map { weights[$0] ?? 0 }
        self.thresholds = thresholds
        self.minimumExchanges = minimumExchanges
        self.allowlist = allowlist
        self.tiers = tiers
        self.defaultTier = defaultTier
        self.modelMaxTokens = modelMaxTokens
        self.pivotWindowHours = pivotWindowHours
        self.releaseGraceHours = releaseGraceHours
    }

    /// The weight of one signal.
    /// - Complexity: O(1).
    public func weight(_ kind: SignalKind) -> Double {
        weightTable[kind.ordinal]
    }

    public mutating func setWeight(_ weight: Double, for kind: SignalKind) {
        weightTable[kind.ordinal] = weight
    }

    public var weights: [SignalKind: Double] {
        Dictionary(uniqueKeysWithValues: SignalKind.allCases.map { ($0, weightTable[$0.ordinal]) })
    }

    public func tierProfile(_ tier: String?) -> TierProfile {
        guard let tier else { return defaultTier }
        return tiers[tier.lowercased()] ?? defaultTier
    }

    /// The built-in policy.
    public static let `default` = Policy(
        weights: [
            .volume: 0.45,
            .outputVolume: 0.40,
            .roundTheClock: 0.30,
            .timingRegularity: 0.30,
            .parameterFingerprint: 0.35,
            .modelPivot: 0.40,
            .rateLimitPressure: 0.35,
            .cotElicitation: 0.35,
            .rubricGrading: 0.40,
            .sensitiveRewriting: 0.35,
            .syntheticDataGeneration: 0.35,
            .templateSharing: 0.25,
            .coverageSweep: 0.30,
            .relay: 0.55,
            .reasoningReplay: 0.6,
            .quotaRacing: 0.4,
            .planValue: 0.65,
            .suddenChange: 0.95,
            .keySharing: 0.8,
            .sharedIndicator: 0.8,
            .accessEvasion: 0.8,
        ],
        thresholds: Thresholds(review: 0.5, throttle: 0.75, block: 0.9),
        minimumExchanges: 20,
        allowlist: Allowlist(),
        tiers: [
            "free": TierProfile(dailyExchanges: 40, dailyOutputTokens: 40_000, requestsPerMinute: 20),
            "standard": TierProfile(dailyExchanges: 400, dailyOutputTokens: 400_000, requestsPerMinute: 200),
            "startup": TierProfile(dailyExchanges: 2_000, dailyOutputTokens: 2_000_000, requestsPerMinute: 500),
            "education": TierProfile(dailyExchanges: 200, dailyOutputTokens: 200_000, requestsPerMinute: 100),
            "research": TierProfile(dailyExchanges: 3_000, dailyOutputTokens: 3_000_000, requestsPerMinute: 1_000),
            "enterprise": TierProfile(dailyExchanges: 50_000, dailyOutputTokens: 50_000_000, requestsPerMinute: 4_000),
        ],
        defaultTier: TierProfile(dailyExchanges: 400, dailyOutputTokens: 400_000, requestsPerMinute: 200),
        modelMaxTokens: [:],
        pivotWindowHours: 24,
        releaseGraceHours: 24
    )
}

extension SignalKind {
    /// `allCases`, stored once: the synthesised `allCases` builds a new array per call,
    /// which the hot path cannot afford.
    public static let all: [SignalKind] = allCases

    /// Position in `allCases`, for table lookups on the hot path.
    @inlinable
    public var ordinal: Int {
        switch self {
        case .volume: return 0
        case .outputVolume: return 1
        case .roundTheClock: return 2
        case .timingRegularity: return 3
        case .parameterFingerprint: return 4
        case .modelPivot: return 5
        case .rateLimitPressure: return 6
        case .cotElicitation: return 7
        case .rubricGrading: return 8
        case .sensitiveRewriting: return 9
        case .syntheticDataGeneration: return 10
        case .templateSharing: return 11
        case .coverageSweep: return 12
        case .relay: return 13
        case .reasoningReplay: return 14
        case .quotaRacing: return 15
        case .planValue: return 16
        case .suddenChange: return 17
        case .keySharing: return 18
        case .sharedIndicator: return 19
        case .accessEvasion: return 20
        }
    }
}

// MARK: Snapshot

extension Policy.TierProfile: SnapshotCodable {
    static var snapshotFieldCount: Int { 3 }

    func write(to w: inout SnapshotWriter) {
        w.double(dailyExchanges)
        w.double(dailyOutputTokens)
        w.double(requestsPerMinute)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        self.init(dailyExchanges: try r.double(), dailyOutputTokens: try r.double(), requestsPerMinute: try r.double())
    }
}
