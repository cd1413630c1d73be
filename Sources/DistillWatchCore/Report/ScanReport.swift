/// The scan report, traffic format v1 §4 (`distillwatch.report.v1`).
///
/// Encoded with any `JSONEncoder`; field names and shapes are the spec's. Two extra fields
/// (allowed by the spec) help analysts: `allowlisted` on accounts, and `late_exchanges` and
/// `malformed_lines` in `input`.
public struct ScanReport: Sendable, Codable, Equatable {
    public static let formatName = "distillwatch.report.v1"

    public var format: String
    public var generatedAt: Timestamp
    public var input: Input
    public var accounts: [Account]
    public var campaigns: [Campaign]

    public struct Input: Sendable, Codable, Equatable {
        public var exchanges: Int
        public var accounts: Int
        public var firstTime: Timestamp?
        public var lastTime: Timestamp?
        public var signalsWithoutData: [String]
        public var lateExchanges: Int
        public var malformedLines: Int
        /// With exchanges merged by `request_id` (the server always; `scan
        /// --merge-request-ids`): exchanges joined to one already waiting with the same account
        /// and `request_id` (a guardrail call and its log), and repeats dropped as duplicates.
        /// Absent from the report when the scan does not merge.
        public var mergedExchanges: Int?
        public var duplicateExchanges: Int?

        enum CodingKeys: String, CodingKey {
            case exchanges, accounts
            case firstTime = "first_time"
            case lastTime = "last_time"
            case signalsWithoutData = "signals_without_data"
            case lateExchanges = "late_exchanges"
            case malformedLines = "malformed_lines"
            case mergedExchanges = "merged_exchanges"
            case duplicateExchanges = "duplicate_exchanges"
        }
    }

    public struct Signal: Sendable, Codable, Equatable {
        public var name: String
        public var value: Double
        public var detail: String
        public var contribution: Double

        public init(name: String, value: Double, detail: String, contribution: Double) {
            self.name = name
            self.value = value
            self.detail = detail
            self.contribution = contribution
        }
    }

    public struct Account: Sendable, Codable, Equatable {
        public var accountID: String
        public var verdict: Verdict
        public var score: Double
        public var allowlisted: Bool
        public var campaignID: String?
        public var firstFlaggedAt: Timestamp?
        public var exchangesBeforeFlag: Int?
        public var exchanges: Int
        public var outputTokens: Int
        public var signals: [Signal]
        /// An analyst's label, when one was given (server only).
        public var analystLabel: AnalystLabel?
        /// What the account's prompts target (shares summing to 1; absent without prompt text).
        public var capabilities: [String: Double]?
        /// The account's API keys with a verdict of their own other than allow (absent when
        /// none): a leaked or resold key is flagged without its owner's other keys.
        public var keys: [Key]?
        /// The countermeasures the policy calls for (absent when none do).
        public var directives: [DirectiveEntry]? = nil
        /// The sign-up risk and its factors (absent when no factor reads above 0).
        public var signup: Signup? = nil

        enum CodingKeys: String, CodingKey {
            case keys
            case directives, signup
            case accountID = "account_id"
            case analystLabel = "analyst_label"
            case capabilities
            case verdict, score, allowlisted
            case campaignID = "campaign_id"
            case firstFlaggedAt = "first_flagged_at"
            case exchangesBeforeFlag = "exchanges_before_flag"
            case exchanges
            case outputTokens = "output_tokens"
            case signals
        }
    }

    /// An account's sign-up risk (``SignupRisk``): `{"score": 0.84, "factors": [{"name":
    /// "throwaway_domain", "value": 1, "detail": "..."}]}`.
    public struct Signup: Sendable, Codable, Equatable {
        public var score: Double
        public var factors: [Signal]
    }

    /// One flagged API key of an account.
    public struct Key: Sendable, Codable, Equatable {
        public var apiKeyID: String
        public var verdict: Verdict
        public var score: Double
        public var exchanges: Int
        public var firstFlaggedAt: Timestamp?
        /// The account's exchanges (all keys) when the key was first flagged.
        public var accountExchangesBeforeFlag: Int?
        public var signals: [Signal]

        enum CodingKeys: String, CodingKey {
            case apiKeyID = "api_key_id"
            case verdict, score, exchanges, signals
            case firstFlaggedAt = "first_flagged_at"
            case accountExchangesBeforeFlag = "account_exchanges_before_flag"
        }
    }

    public struct Evidence: Sendable, Codable, Equatable {
        public var kind: String
        public var detail: String
        public var accounts: Int

        public init(kind: String, detail: String, accounts: Int) {
            self.kind = kind
            self.detail = detail
            self.accounts = accounts
        }
    }

    /// A campaign: the spec's fields, plus its `verdict`, the campaign `signals` behind its
    /// score, and an analyst's label when one was given.
    public struct Campaign: Sendable, Codable, Equatable {
        public var campaignID: String
        public var score: Double
        public var verdict: Verdict?
        public var accounts: [String]
        public var firstSeen: Timestamp?
        public var firstFlaggedAt: Timestamp?
        public var lastSeen: Timestamp?
        public var exchanges: Int
        public var outputTokens: Int
        public var capabilities: [String: Double]
        public var evidence: [Evidence]
        public var signals: [Signal]?
        public var analystLabel: AnalystLabel?

        enum CodingKeys: String, CodingKey {
            case campaignID = "campaign_id"
            case analystLabel = "analyst_label"
            case score, verdict, accounts, signals
            case firstSeen = "first_seen"
            case firstFlaggedAt = "first_flagged_at"
            case lastSeen = "last_seen"
            case exchanges
            case outputTokens = "output_tokens"
            case capabilities, evidence
        }
    }

    enum CodingKeys: String, CodingKey {
        case format
        case generatedAt = "generated_at"
        case input, accounts, campaigns
    }
}

extension ScanReport {
    /// Builds the report from the engine's state.
    ///
    /// Lists every flagged account, and allowlisted accounts whose score would have flagged
    /// them (so an analyst sees what the allowlist suppressed); every account with
    /// `includeAllAccounts`. Accounts are sorted by score, highest first. Each account's
    /// signals are those that contributed to its score, strongest first.
    public init(engine: DetectionEngine, generatedAt: Timestamp, includeAllAccounts: Bool,
                lateExchanges: Int = 0, malformedLines: Int = 0) {
        let summaries = engine.accountSummaries.filter { $0.exchanges > 0 || includeAllAccounts }
        let review = engine.policy.thresholds.review
        let flaggedKeys = engine.flaggedKeysByAccount
        var listed: [Account] = []
        for s in summaries {
            let suppressed = s.allowlisted && s.score >= review
            let keys = flaggedKeys[s.accountID] ?? []
            guard includeAllAccounts || s.verdict.isFlagged || suppressed || s.label != nil || !keys.isEmpty else { continue }
            listed.append(Account(engine: engine, summary: s, keys: keys))
        }
        listed.sort { $0.score != $1.score ? $0.score > $1.score : $0.accountID < $1.accountID }
        self.init(
            format: Self.formatName, generatedAt: generatedAt,
            input: Input(
                exchanges: engine.exchangesObserved, accounts: engine.accountsWithTraffic,
                firstTime: engine.firstTime, lastTime: engine.clock,
                signalsWithoutData: engine.signalFamiliesWithoutData.map(\.rawValue),
                lateExchanges: lateExchanges, malformedLines: malformedLines),
            accounts: listed, campaigns: engine.campaignSummaries.map(Campaign.init))
    }

    /// Counts of accounts by verdict among those listed.
    public var verdictCounts: [Verdict: Int] {
        var counts: [Verdict: Int] = [:]
        for a in accounts { counts[a.verdict, default: 0] += 1 }
        return counts
    }
}

extension ScanReport.Account {
    /// The entry without signals, capabilities or keys: the verdict, score, campaign and
    /// volume only (lists that show many accounts and details for a few).
    /// - Complexity: O(1).
    public static func brief(_ s: AccountSummary) -> ScanReport.Account {
        ScanReport.Account(accountID: s.accountID, verdict: s.verdict, score: rounded(s.score), allowlisted: s.allowlisted,
                           campaignID: s.campaignID, firstFlaggedAt: s.firstFlaggedAt, exchangesBeforeFlag: s.exchangesBeforeFlag,
                           exchanges: s.exchanges, outputTokens: s.outputTokens, signals: [], analystLabel: s.label,
                           capabilities: nil, keys: nil)
    }

    /// The report's entry for one account, as of the engine's state: its verdict, score and
    /// flag, and the signals that contributed, strongest first. The server's account view
    /// is built from the same entry.
    public init(engine: DetectionEngine, summary s: AccountSummary) {
        self.init(engine: engine, summary: s, keys: engine.flaggedKeys(of: s.accountID))
    }

    /// The entry with the account's flagged keys given (the report computes them for every
    /// account at once).
    init(engine: DetectionEngine, summary s: AccountSummary, keys: [DetectionEngine.KeySummary]) {
        let readings = engine.readings(for: s.accountID).contributing
        let membership = engine.campaignMembership(of: s.accountID)
        var signals = readings.map(ScanReport.Signal.init)
        if let c = membership, c.verdict.isFlagged {
            signals.insert(ScanReport.Signal(name: "campaign_membership", value: rounded(c.score), detail: c.detail,
                                             contribution: rounded(c.score)), at: 0)
        }
        self.init(
            accountID: s.accountID, verdict: s.verdict, score: rounded(s.score), allowlisted: s.allowlisted,
            campaignID: s.campaignID, firstFlaggedAt: s.firstFlaggedAt, exchangesBeforeFlag: s.exchangesBeforeFlag,
            exchanges: s.exchanges, outputTokens: s.outputTokens, signals: signals, analystLabel: s.label,
            capabilities: s.capabilities.isEmpty ? nil : s.capabilities.mapValues(rounded),
            keys: keys.isEmpty ? nil : keys.sorted { $0.apiKeyID < $1.apiKeyID }.map { k in
                ScanReport.Key(apiKeyID: k.apiKeyID, verdict: k.verdict, score: rounded(k.score), exchanges: k.exchanges,
                               firstFlaggedAt: k.firstFlaggedAt, accountExchangesBeforeFlag: k.accountExchangesBeforeFlag,
                               signals: k.readings.contributing.map(ScanReport.Signal.init))
            })
        let measures = engine.countermeasures(for: s.accountID, readings: readings, campaign: membership)
        if !measures.isEmpty { directives = measures.entries }
        let risk = engine.signupRisk(for: s.accountID)
        if risk.score > 0 {
            let weights = engine.policy.signup
            signup = ScanReport.Signup(score: rounded(risk.score), factors: risk.readings.map {
                ScanReport.Signal(name: $0.factor.rawValue, value: rounded($0.value), detail: $0.detail,
                                  contribution: rounded(weights.weight($0.factor) * $0.value))
            })
        }
    }
}

extension ScanReport.Signal {
    /// A reading as the report writes it (four decimals).
    init(_ r: SignalReading) {
        self.init(name: r.kind.rawValue, value: rounded(r.value), detail: r.detail, contribution: rounded(r.contribution))
    }
}

/// Four decimals: enough to rank, short enough to read.
func rounded(_ x: Double) -> Double {
    (x * 10_000).rounded() / 10_000
}

extension ScanReport.Campaign {
    /// The report's entry for one campaign.
    public init(_ c: CampaignSummary) {
        self.init(
            campaignID: c.campaignID, score: rounded(c.score), verdict: c.verdict, accounts: c.accountIDs,
            firstSeen: c.firstSeen, firstFlaggedAt: c.firstFlaggedAt, lastSeen: c.lastSeen,
            exchanges: c.exchanges, outputTokens: c.outputTokens, capabilities: c.capabilities.mapValues(rounded),
            evidence: c.evidence.map { ScanReport.Evidence(kind: $0.kind.rawValue, detail: $0.detail, accounts: $0.accounts) },
            signals: c.signals.map { ScanReport.Signal(name: $0.kind.rawValue, value: rounded($0.value), detail: $0.detail,
                                                       contribution: rounded($0.contribution)) },
            analystLabel: c.label)
    }
}
