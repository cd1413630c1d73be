import DistillWatchCore

/// What the engine decided for one account: the part of a scan report evaluation needs.
public struct AccountOutcome: Sendable, Equatable {
    public var accountID: String
    public var verdict: Verdict
    public var firstFlaggedAt: Timestamp?
    public var exchangesBeforeFlag: Int?
    /// The engine's campaign id, when it grouped the account.
    public var engineCampaign: String?

    public init(accountID: String, verdict: Verdict, firstFlaggedAt: Timestamp? = nil,
                exchangesBeforeFlag: Int? = nil, engineCampaign: String? = nil) {
        self.accountID = accountID
        self.verdict = verdict
        self.firstFlaggedAt = firstFlaggedAt
        self.exchangesBeforeFlag = exchangesBeforeFlag
        self.engineCampaign = engineCampaign
    }
}

/// How much traffic an account sent, counted while the traffic streams past.
public struct AccountTraffic: Sendable, Equatable {
    public var exchanges = 0
    public var firstTime: Timestamp?

    public init(exchanges: Int = 0, firstTime: Timestamp? = nil) {
        self.exchanges = exchanges
        self.firstTime = firstTime
    }

    /// - Complexity: O(1).
    public mutating func record(_ time: Timestamp) {
        exchanges += 1
        if firstTime == nil || time < firstTime! { firstTime = time }
    }
}

/// Detection quality for one attack campaign.
public struct CampaignResult: Sendable, Codable, Equatable {
    public var campaign: String
    public var persona: String
    /// Campaign accounts that sent traffic.
    public var accounts: Int
    /// Of those, accounts whose final verdict is not `allow`.
    public var flagged: Int
    public var blocked: Int
    public var throttled: Int
    public var recall: Double
    public var exchanges: Int
    /// Exchanges served before each account was flagged (all of an unflagged account's).
    public var exchangesServedBeforeFlag: Int
    public var shareServedBeforeFlag: Double
    public var firstExchange: Timestamp?
    public var firstFlag: Timestamp?
    /// From the campaign's first exchange to its first flagged account; `nil` if never flagged.
    public var secondsToFirstFlag: Double?

    enum CodingKeys: String, CodingKey {
        case campaign, persona, accounts, flagged, blocked, throttled, recall, exchanges
        case exchangesServedBeforeFlag = "exchanges_served_before_flag"
        case shareServedBeforeFlag = "share_served_before_flag"
        case firstExchange = "first_exchange"
        case firstFlag = "first_flag"
        case secondsToFirstFlag = "seconds_to_first_flag"
    }
}

/// False positives for one legitimate persona.
public struct PersonaResult: Sendable, Codable, Equatable {
    public var persona: String
    /// Accounts of the persona that sent traffic.
    public var accounts: Int
    public var exchanges: Int
    /// Accounts with any verdict other than `allow`.
    public var flagged: Int
    public var review: Int
    public var throttledOrBlocked: Int
    public var falsePositiveRate: Double
    /// The throttled or blocked accounts themselves, sorted, at most
    /// ``PersonaResult/listedAccounts``: the ones to look at first.
    public var throttledOrBlockedAccounts: [String] = []

    /// How many throttled or blocked accounts a persona lists.
    public static let listedAccounts = 50

    enum CodingKeys: String, CodingKey {
        case persona, accounts, exchanges, flagged, review
        case throttledOrBlocked = "throttled_or_blocked"
        case falsePositiveRate = "false_positive_rate"
        case throttledOrBlockedAccounts = "throttled_or_blocked_accounts"
    }
}

/// How well the engine's campaigns match the true campaigns.
public struct GroupingQuality: Sendable, Codable, Equatable {
    /// Campaigns the engine reported.
    public var engineCampaigns: Int
    /// Accounts the engine put in some campaign.
    public var groupedAccounts: Int
    /// Attack accounts (with traffic) the engine put in some campaign.
    public var groupedAttackAccounts: Int
    /// Share of grouped accounts whose engine campaign's majority is their own true
    /// campaign (legitimate accounts count as one class); `nil` when nothing was grouped.
    public var purity: Double?
    /// True campaigns whose grouped accounts are spread over more than one engine campaign.
    public var campaignsSplit: Int
    /// True campaigns with at least one account grouped.
    public var campaignsGrouped: Int
    public var trueCampaigns: Int

    enum CodingKeys: String, CodingKey {
        case engineCampaigns = "engine_campaigns"
        case groupedAccounts = "grouped_accounts"
        case groupedAttackAccounts = "grouped_attack_accounts"
        case purity
        case campaignsSplit = "campaigns_split"
        case campaignsGrouped = "campaigns_grouped"
        case trueCampaigns = "true_campaigns"
    }
}

/// Everything `distillwatch eval` reports.
public struct EvaluationReport: Sendable, Codable, Equatable {
    public var format = "distillwatch.eval.v1"
    public var scenario: String?
    public var scale: Double?
    public var seed: UInt64?
    public var exchanges: Int
    public var accounts: Int
    public var attackAccounts: Int
    /// Traffic accounts without a label (counted, then ignored).
    public var unlabelledAccounts: Int
    public var campaigns: [CampaignResult]
    public var personas: [PersonaResult]
    /// Allowlisted accounts whose verdict is not `allow` (must be empty).
    public var allowlistViolations: [String]
    public var grouping: GroupingQuality
    /// The engine's linkage work, to show how clustering cost grows with the traffic.
    public var linkageWork: LinkageWork?
    /// Wall-clock seconds of simulation plus scanning (not part of the metrics).
    public var seconds: Double?

    enum CodingKeys: String, CodingKey {
        case format, scenario, scale, seed, exchanges, accounts
        case attackAccounts = "attack_accounts"
        case unlabelledAccounts = "unlabelled_accounts"
        case campaigns, personas
        case allowlistViolations = "allowlist_violations"
        case grouping, seconds
        case linkageWork = "linkage_work"
    }
}

/// The evaluation metrics as a pure function of ground truth, observed traffic and the
/// engine's outcomes. No I/O, no engine: tests feed it hand-built cases.
public enum Evaluation {
    /// - Parameters:
    ///   - labels: ground truth for every account (extra labelled accounts without traffic
    ///     are ignored).
    ///   - allowlisted: accounts the provider authorised for bulk use.
    ///   - traffic: exchanges per account, as counted from the traffic.
    ///   - outcomes: the engine's decisions; an account missing here was `allow`.
    /// - Complexity: O(accounts + grouped accounts).
    public static func evaluate(
        labels: [LabelRecord], allowlisted: Set<String>, traffic: [String: AccountTraffic],
        outcomes: [String: AccountOutcome]
    ) -> EvaluationReport {
        var labelOf: [String: LabelRecord] = [:]
        for label in labels { labelOf[label.accountID] = label }

        struct CampaignTally {
            var persona = ""
            var accounts = 0, flagged = 0, blocked = 0, throttled = 0
            var exchanges = 0, servedBeforeFlag = 0
            var firstExchange: Timestamp?
            var firstFlag: Timestamp?
        }
        var campaigns: [String: CampaignTally] = [:]
        var personas: [String: PersonaResult] = [:]
        var attackAccounts = 0
        var unlabelled = 0

        for (accountID, seen) in traffic where seen.exchanges > 0 {
            guard let label = labelOf[accountID] else { unlabelled += 1; continue }
            let outcome = outcomes[accountID]
            let verdict = outcome?.verdict ?? .allow
            let flagged = verdict.isFlagged
            switch label.label {
            case .attack:
                attackAccounts += 1
                let name = label.campaign ?? "unnamed"
                var c = campaigns[name] ?? CampaignTally()
                c.persona = label.persona ?? c.persona
                c.accounts += 1
                c.exchanges += seen.exchanges
                if flagged {
                    c.flagged += 1
                    if verdict == .block { c.blocked += 1 }
                    if verdict == .throttle { c.throttled += 1 }
                    c.servedBeforeFlag += min(seen.exchanges, outcome?.exchangesBeforeFlag ?? seen.exchanges)
                    if let at = outcome?.firstFlaggedAt, c.firstFlag == nil || at < c.firstFlag! { c.firstFlag = at }
                } else {
                    c.servedBeforeFlag += seen.exchanges
                }
                if let t = seen.firstTime, c.firstExchange == nil || t < c.firstExchange! { c.firstExchange = t }
                campaigns[name] = c
            case .legit:
                let name = label.persona ?? "legit"
                var p = personas[name] ?? PersonaResult(
                    persona: name, accounts: 0, exchanges: 0, flagged: 0, review: 0, throttledOrBlocked: 0,
                    falsePositiveRate: 0)
                p.accounts += 1
                p.exchanges += seen.exchanges
                if flagged { p.flagged += 1 }
                if verdict == .review { p.review += 1 }
                if verdict == .throttle || verdict == .block {
                    p.throttledOrBlocked += 1
                    p.throttledOrBlockedAccounts.append(accountID)
                }
                personas[name] = p
            }
        }

        let campaignResults = campaigns.keys.sorted().map { name -> CampaignResult in
            let c = campaigns[name]!
            var seconds: Double?
            if let first = c.firstExchange, let flag = c.firstFlag {
                seconds = Double(flag.milliseconds(since: first)) / 1000
            }
            return CampaignResult(
                campaign: name, persona: c.persona, accounts: c.accounts, flagged: c.flagged,
                blocked: c.blocked, throttled: c.throttled,
                recall: c.accounts > 0 ? Double(c.flagged) / Double(c.accounts) : 0,
                exchanges: c.exchanges, exchangesServedBeforeFlag: c.servedBeforeFlag,
                shareServedBeforeFlag: c.exchanges > 0 ? Double(c.servedBeforeFlag) / Double(c.exchanges) : 0,
                firstExchange: c.firstExchange, firstFlag: c.firstFlag, secondsToFirstFlag: seconds)
        }
        let personaOrder = Persona.allCases.map(\.rawValue)
        let personaResults = personas.values.map { p -> PersonaResult in
            var p = p
            p.falsePositiveRate = p.accounts > 0 ? Double(p.flagged) / Double(p.accounts) : 0
            p.throttledOrBlockedAccounts = Array(p.throttledOrBlockedAccounts.sorted().prefix(PersonaResult.listedAccounts))
            return p
        }.sorted {
            let a = personaOrder.firstIndex(of: $0.persona) ?? Int.max
            let b = personaOrder.firstIndex(of: $1.persona) ?? Int.max
            return a != b ? a < b : $0.persona < $1.persona
        }
        let violations = allowlisted.filter { (outcomes[$0]?.verdict ?? .allow).isFlagged }.sorted()

        return EvaluationReport(
            scenario: nil, scale: nil, seed: nil,
            exchanges: traffic.values.reduce(0) { $0 + $1.exchanges },
            accounts: traffic.values.filter { $0.exchanges > 0 }.count,
            attackAccounts: attackAccounts, unlabelledAccounts: unlabelled,
            campaigns: campaignResults, personas: personaResults, allowlistViolations: violations,
            grouping: grouping(labelOf: labelOf, traffic: traffic, outcomes: outcomes,
                               trueCampaigns: campaigns.count),
            linkageWork: nil, seconds: nil)
    }

    /// Purity and splitting of the engine's campaigns against the true ones.
    /// - Complexity: O(grouped accounts).
    static func grouping(
        labelOf: [String: LabelRecord], traffic: [String: AccountTraffic],
        outcomes: [String: AccountOutcome], trueCampaigns: Int
    ) -> GroupingQuality {
        // Engine campaign → true class → count.
        var members: [String: [String: Int]] = [:]
        // True campaign → engine campaigns.
        var spread: [String: Set<String>] = [:]
        var groupedAttack = 0
        var grouped = 0
        for (accountID, outcome) in outcomes {
            guard let engineCampaign = outcome.engineCampaign else { continue }
            grouped += 1
            let label = labelOf[accountID]
            let trueClass = label?.label == .attack ? (label?.campaign ?? "unnamed") : "legit"
            members[engineCampaign, default: [:]][trueClass, default: 0] += 1
            if label?.label == .attack, (traffic[accountID]?.exchanges ?? 0) > 0 {
                groupedAttack += 1
                spread[trueClass, default: []].insert(engineCampaign)
            }
        }
        var majority = 0
        for classes in members.values { majority += classes.values.max() ?? 0 }
        return GroupingQuality(
            engineCampaigns: members.count, groupedAccounts: grouped, groupedAttackAccounts: groupedAttack,
            purity: grouped > 0 ? Double(majority) / Double(grouped) : nil,
            campaignsSplit: spread.values.filter { $0.count > 1 }.count,
            campaignsGrouped: spread.count, trueCampaigns: trueCampaigns)
    }
}
