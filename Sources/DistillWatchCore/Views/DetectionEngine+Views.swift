/// What the analyst console and the HTML report show about one account beyond its report
/// entry: volumes, the hour-of-day histogram, the request parameters it sends and the
/// hashed evidence that links it to others. Read from engine state in O(1) (no history).
public struct AccountActivityProfile: Sendable, Equatable {
    public var accountID: String
    public var exchanges: Int
    public var inputTokens: Int
    public var outputTokens: Int
    /// Tokens the model spent reasoning (a part of or in addition to output, per provider).
    public var reasoningTokens: Int
    /// Spend in US dollars over the exchanges that carried `cost_usd`.
    public var costUSD: Double
    public var firstSeen: Timestamp?
    public var lastSeen: Timestamp?
    /// Exchanges per hour of day (UTC), 24 entries, over every exchange seen.
    public var hourOfDay: [Int]
    /// Exchanges in each of the last 24 hours of the account's own window, oldest first,
    /// ending at `windowEndHour` (hours since the Unix epoch).
    public var lastDay: [Int]
    public var windowEndHour: Int64
    /// Responses with status 429 (rate limited).
    public var rateLimited: Int
    public var lastModel: String?
    public var lastMaxTokens: Int?
    /// Share of exchanges (0...1) among those that stated the field; `nil` when none did.
    public var thinkingShare: Double?
    public var streamShare: Double?
    public var toolUseShare: Double?
    public var singleTurnShare: Double?
    public var lastTemperature: Double?
    /// Times `max_tokens` changed between consecutive exchanges.
    public var maxTokensChanges: Int
    public var temperatureChanges: Int
    /// The account record, if one arrived.
    public var record: AccountRecord?
    /// Link evidence as hashed values (never the raw address, payment or e-mail value):
    /// what ties this account to others of its campaign.
    public var linkKeys: [LinkKey]

    public struct LinkKey: Sendable, Equatable, Hashable {
        public var kind: LinkEvidenceKind
        /// 64-bit keyed hash of the value (0 never appears).
        public var value: UInt64
        /// `payment #3fa2c1`: the kind's short name and the hash's first 6 hex digits.
        public var label: String {
            let hex = String(value >> 40, radix: 16)
            return "\(Self.shortName(kind)) #\(String(repeating: "0", count: max(0, 6 - hex.count)))\(hex)"
        }

        static func shortName(_ kind: LinkEvidenceKind) -> String {
            switch kind {
            case .sharedPayment: return "payment"
            case .sharedEmailDomain: return "e-mail domain"
            case .sharedUserAgent: return "user agent"
            case .sharedClientFingerprint: return "client fingerprint"
            case .sharedAddress: return "address"
            case .templateFamily, .complementaryCoverage: return "task list"
            case .signupBurst: return "sign-up hour"
            default: return kind.rawValue
            }
        }
    }
}

/// One member row of a campaign page.
public struct CampaignMemberRow: Sendable, Equatable {
    public var accountID: String
    public var verdict: Verdict
    public var score: Double
    public var exchanges: Int
    public var outputTokens: Int
    public var firstSeen: Timestamp?
    public var firstFlaggedAt: Timestamp?
    /// When the account first linked to another member (joined), if it did.
    public var joinedAt: Timestamp?
    /// The evidence kinds of that first link.
    public var joinedBy: [LinkEvidenceKind]
    public var label: AnalystLabel?
}

/// A bipartite drawing input: sampled member accounts and the hashed evidence values at
/// least two of them share (Documentation/Console.md, "Evidence graph").
public struct CampaignEvidenceGraph: Sendable, Equatable {
    public var accounts: [String]
    public var evidence: [AccountActivityProfile.LinkKey]
    /// (account index, evidence index) pairs.
    public var edges: [(Int, Int)]
    /// Members in the campaign (the sample is at most `accounts.count` of them).
    public var members: Int

    public static func == (a: Self, b: Self) -> Bool {
        a.accounts == b.accounts && a.evidence == b.evidence && a.members == b.members
            && a.edges.elementsEqual(b.edges) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

extension DetectionEngine {
    /// The activity profile of `accountID`, or `nil` for an account never seen.
    /// - Complexity: O(1).
    public func activityProfile(for accountID: String) -> AccountActivityProfile? {
        guard let i = slot(ofAccount: accountID).map(Int.init) else { return nil }
        let s = states[i]
        func share(_ on: Int32, _ seen: Int32) -> Double? { seen > 0 ? Double(on) / Double(seen) : nil }
        var lastDay = [Int](repeating: 0, count: 24)
        // windowExchanges is a ring indexed by hour % 24; the newest bucket is windowHour.
        for k in 0..<24 {
            let hour = s.windowHour - 23 + Int64(k)
            let slot = Int(((hour % 24) + 24) % 24)
            lastDay[k] = Int(s.windowExchanges[slot])
        }
        return AccountActivityProfile(
            accountID: accountID, exchanges: Int(s.exchanges), inputTokens: Int(s.inputTokens),
            outputTokens: Int(s.outputTokens), reasoningTokens: Int(s.reasoningTokens), costUSD: s.costUSD,
            firstSeen: s.hasTraffic ? s.firstSeen : nil, lastSeen: s.hasTraffic ? s.lastSeen : nil,
            hourOfDay: (0..<24).map { Int(s.hourOfDayCounts[$0]) }, lastDay: lastDay, windowEndHour: s.windowHour,
            rateLimited: Int(s.status429), lastModel: models.name(s.lastModel),
            lastMaxTokens: s.maxTokensSeen > 0 ? Int(s.lastMaxTokens) : nil,
            thinkingShare: share(s.thinkingOn, s.thinkingSeen), streamShare: share(s.streamOn, s.streamSeen),
            toolUseShare: share(s.toolUse, s.toolCountSeen), singleTurnShare: share(s.singleTurn, s.messageCountSeen),
            lastTemperature: s.temperatureSeen > 0 ? s.lastTemperature : nil,
            maxTokensChanges: Int(s.maxTokensChanges), temperatureChanges: Int(s.temperatureChanges),
            record: records[i], linkKeys: linkKeys(ofAccountAt: i))
    }

    func linkKeys(ofAccountAt i: Int) -> [AccountActivityProfile.LinkKey] {
        let p = linkage.profiles[i]
        var keys: [AccountActivityProfile.LinkKey] = []
        func add(_ kind: LinkEvidenceKind, _ value: UInt64) {
            if value != LinkProfile.empty { keys.append(.init(kind: kind, value: value)) }
        }
        add(.sharedPayment, p.paymentKey)
        add(.sharedEmailDomain, p.emailKey)
        add(.sharedUserAgent, p.userAgentKey)
        add(.sharedClientFingerprint, p.fingerprintKey)
        add(.sharedAddress, p.lastAddressKey)
        add(.templateFamily, p.splitFamilyKey)
        if let created = p.created {
            // The sign-up hour as a value of its own: accounts opened in one hour share it.
            add(.signupBurst, UInt64(bitPattern: created.hourIndex &* -7_046_029_254_386_353_131) | 1)
        }
        return keys
    }

    /// The members of campaign `campaign-<number>`, or `nil` when there is none.
    /// - Complexity: O(members); the caller sorts and pages.
    public func campaignMemberRows(number: Int) -> [CampaignMemberRow]? {
        guard let r = linkage.root(ofCampaign: number), let g = linkage.groups[r] else { return nil }
        return g.members.map { m in
            let i = Int(m)
            let s = states[i]
            let link = firstLink(of: m)
            let d = combinedDecision(i)
            return CampaignMemberRow(
                accountID: accountIDs[i], verdict: d.verdict, score: d.score,
                exchanges: Int(s.exchanges), outputTokens: Int(s.outputTokens),
                firstSeen: s.hasTraffic ? s.firstSeen : nil, firstFlaggedAt: s.firstFlaggedAt,
                joinedAt: link?.at, joinedBy: link?.kinds ?? [], label: s.label)
        }
    }

    /// A sample of at most `sample` members of campaign `campaign-<number>` (the highest
    /// scored, ties by id) and the hashed evidence values two or more of them share.
    /// - Complexity: O(members · log members).
    public func campaignEvidenceGraph(number: Int, sample: Int = 24) -> CampaignEvidenceGraph? {
        guard let r = linkage.root(ofCampaign: number), let g = linkage.groups[r] else { return nil }
        let chosen = g.members.map(Int.init).sorted { a, b in
            let (sa, sb) = (states[a].score, states[b].score)
            return sa != sb ? sa > sb : accountIDs[a] < accountIDs[b]
        }.prefix(max(0, sample))
        var holders: [AccountActivityProfile.LinkKey: [Int]] = [:]
        for (n, i) in chosen.enumerated() {
            for key in linkKeys(ofAccountAt: i) { holders[key, default: []].append(n) }
        }
        let shared = holders.filter { $0.value.count >= 2 }.sorted { a, b in
            a.value.count != b.value.count ? a.value.count > b.value.count
                : (a.key.kind.ordinal, a.key.value) < (b.key.kind.ordinal, b.key.value)
        }
        var edges: [(Int, Int)] = []
        for (e, entry) in shared.enumerated() { for a in entry.value { edges.append((a, e)) } }
        return CampaignEvidenceGraph(accounts: chosen.map { accountIDs[$0] }, evidence: shared.map(\.key),
                                     edges: edges, members: g.members.count)
    }

    /// Models seen for the first time after the policy's release grace period: (model,
    /// first seen), oldest first. Timelines mark them.
    /// - Complexity: O(models).
    public var modelReleases: [(model: String, firstSeen: Timestamp)] {
        models.models.filter(\.isNewRelease).map { ($0.name, $0.firstSeen) }
    }
}

/// Flagged accounts in brief, for an overview: how many, when they were first flagged,
/// and the full report entries of the highest scored.
public struct FlaggedOverview: Sendable, Equatable {
    public var flaggedCount: Int
    /// Accounts first flagged in each hour (the `exchanges` field holds the count).
    public var newlyFlaggedPerHour: [HourlyTotals]
    /// The `limit` highest-scored flagged accounts (score, then id), as the report lists them.
    public var top: [ScanReport.Account]
}

extension DetectionEngine {
    /// Counts flagged accounts and builds report entries for the top `limit` only.
    /// - Complexity: O(accounts + flagged · log flagged) plus `limit` report entries.
    public func flaggedOverview(top limit: Int) -> FlaggedOverview {
        var flagged: [(score: Double, i: Int)] = []
        var perHour: [Int64: Int] = [:]
        for i in states.indices where states[i].hasTraffic {
            let d = combinedDecision(i)
            guard d.verdict.isFlagged else { continue }
            flagged.append((d.score, i))
            if let t = states[i].firstFlaggedAt { perHour[t.hourIndex, default: 0] += 1 }
        }
        flagged.sort { $0.score != $1.score ? $0.score > $1.score : accountIDs[$0.i] < accountIDs[$1.i] }
        let top = flagged.prefix(max(0, limit)).compactMap { summary(for: accountIDs[$0.i]).map { ScanReport.Account(engine: self, summary: $0) } }
        return FlaggedOverview(flaggedCount: flagged.count,
                               newlyFlaggedPerHour: perHour.sorted { $0.key < $1.key }.map { HourlyTotals(hour: $0.key, exchanges: $0.value) },
                               top: top)
    }

    /// Account ids starting with `prefix`, sorted, at most `limit`.
    /// - Complexity: O(accounts).
    public func accountIDs(withPrefix prefix: String, limit: Int) -> [String] {
        guard !prefix.isEmpty else { return [] }
        var out: [String] = []
        for id in accountIDs where id.hasPrefix(prefix) { out.append(id) }
        out.sort()
        return Array(out.prefix(limit))
    }
}

/// A campaign as a list shows it: no evidence, no member ids (cheap for every campaign).
public struct CampaignListing: Sendable, Equatable {
    public var campaignID: String
    public var verdict: Verdict?
    public var score: Double
    public var members: Int
    public var exchanges: Int
    public var outputTokens: Int
    public var firstSeen: Timestamp?
    public var firstFlaggedAt: Timestamp?
    public var label: AnalystLabel?

    public init(campaignID: String, verdict: Verdict?, score: Double, members: Int, exchanges: Int, outputTokens: Int,
                firstSeen: Timestamp?, firstFlaggedAt: Timestamp?, label: AnalystLabel?) {
        self.campaignID = campaignID
        self.verdict = verdict
        self.score = score
        self.members = members
        self.exchanges = exchanges
        self.outputTokens = outputTokens
        self.firstSeen = firstSeen
        self.firstFlaggedAt = firstFlaggedAt
        self.label = label
    }

    public init(_ c: ScanReport.Campaign) {
        self.init(campaignID: c.campaignID, verdict: c.verdict, score: c.score, members: c.accounts.count, exchanges: c.exchanges,
                  outputTokens: c.outputTokens, firstSeen: c.firstSeen, firstFlaggedAt: c.firstFlaggedAt, label: c.analystLabel)
    }
}

extension DetectionEngine {
    /// Every numbered campaign in brief, in number order.
    /// - Complexity: O(groups): unlike ``campaignSummaries``, no evidence is computed.
    public var campaignListings: [CampaignListing] {
        linkage.groups.values.filter { $0.number > 0 }.sorted { $0.number < $1.number }.map { g in
            CampaignListing(campaignID: "campaign-\(g.number)", verdict: g.verdict, score: (g.score * 10_000).rounded() / 10_000,
                            members: g.members.count, exchanges: Int(g.exchanges), outputTokens: Int(g.outputTokens),
                            firstSeen: g.exchanges > 0 ? g.firstSeen : nil, firstFlaggedAt: g.firstFlaggedAt, label: g.label)
        }
    }
}
