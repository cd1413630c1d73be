/// A campaign as the report and the server show it.
public struct CampaignSummary: Sendable, Equatable {
    public var campaignID: String
    public var number: Int
    public var verdict: Verdict
    public var score: Double
    /// Member account ids, sorted.
    public var accountIDs: [String]
    public var firstSeen: Timestamp?
    public var firstFlaggedAt: Timestamp?
    public var lastSeen: Timestamp?
    public var exchanges: Int
    public var outputTokens: Int
    /// What the campaign's prompts target (shares summing to 1; empty without prompt text).
    public var capabilities: [String: Double]
    public var evidence: [CampaignEvidence]
    /// The campaign signals that contributed to its score, strongest first.
    public var signals: [CampaignSignalReading]
    public var label: AnalystLabel?
}

/// One typed piece of evidence linking a campaign's accounts, for a human to check.
public struct CampaignEvidence: Sendable, Equatable {
    public var kind: LinkEvidenceKind
    public var detail: String
    /// Accounts the evidence covers.
    public var accounts: Int
}

/// An account's campaign, in brief.
public struct CampaignMembership: Sendable, Equatable {
    public var campaignID: String
    public var verdict: Verdict
    public var score: Double
    public var accounts: Int
    public var strongest: CampaignSignalKind?
    /// How the account first joined another account of the group.
    public var firstLink: CampaignLink?

    public init(campaignID: String, verdict: Verdict, score: Double, accounts: Int, strongest: CampaignSignalKind? = nil,
                firstLink: CampaignLink? = nil) {
        self.campaignID = campaignID
        self.verdict = verdict
        self.score = score
        self.accounts = accounts
        self.strongest = strongest
        self.firstLink = firstLink
    }
}

extension CampaignMembership {
    /// "member of campaign-3 (42 linked accounts, verdict block, strongest: shared_payment);
    /// linked to acct_x at 2026-…Z by shared_payment + signup_burst (evidence 1.20)": the
    /// campaign and its strongest evidence, as the report and every decision answer say it.
    public var detail: String {
        let strongest = self.strongest.map { ", strongest: \($0.rawValue)" } ?? ""
        let link = firstLink.map { "; \($0.detail)" } ?? ""
        return "member of \(campaignID) (\(accounts) linked accounts, verdict \(verdict.rawValue)\(strongest))\(link)"
    }
}

/// The link that first put an account in a group with another: who with, on what evidence
/// (as it stood then) and when.
public struct CampaignLink: Sendable, Equatable {
    public var partnerID: String
    public var kinds: [LinkEvidenceKind]
    /// The evidence total then (the link threshold is 1 by default).
    public var weight: Double
    /// Below the link threshold: the account attached to an already flagged campaign.
    public var attached: Bool
    public var at: Timestamp

    /// "linked to acct_x at 2026-…Z by shared_payment + signup_burst (evidence 1.20)".
    public var detail: String {
        let how = attached ? "attached to the flagged campaign through" : "linked to"
        return "\(how) \(partnerID) at \(at.rfc3339) by \(kinds.map(\.rawValue).joined(separator: " + ")) (evidence \(Wording.rounded(weight, digits: 2)))"
    }
}

public struct CampaignSignalReading: Sendable, Equatable {
    public var kind: CampaignSignalKind
    public var value: Double
    public var contribution: Double
    public var detail: String
}

extension DetectionEngine {
    /// The linkage graph's work so far (key joins, pair comparisons, unions, scorings).
    public var linkageWork: LinkageWork {
        var w = linkage.work
        w.profileKeysHeld = linkage.keys.profileKeys.count
        w.profileKeysRefused = linkage.keys.droppedProfileKeys
        w.exchangeKeysHeld = linkage.keys.exchangeKeyCount
        return w
    }

    /// `campaign-N` for an account in a numbered campaign that applies to it.
    func campaignID(ofAccountAt i: Int) -> String? {
        guard campaignApplies(to: i), let g = linkage.group(of: Int32(i)), g.number > 0 else { return nil }
        return "campaign-\(g.number)"
    }

    /// Every campaign: linked groups that reached the review threshold at some point, in
    /// the order they did.
    /// - Complexity: O(members of those groups), plus sorting each group's evidence keys.
    public var campaignSummaries: [CampaignSummary] {
        linkage.groups.values.filter { $0.number > 0 }.sorted { $0.number < $1.number }.map(summary(of:))
    }

    /// One campaign by number (`campaign-N`), or `nil`.
    public func campaignSummary(number: Int) -> CampaignSummary? {
        linkage.root(ofCampaign: number).flatMap { linkage.groups[$0] }.map(summary(of:))
    }

    /// There is a campaign `campaign-<number>`. - Complexity: O(groups) (no evidence computed).
    public func hasCampaign(number: Int) -> Bool {
        linkage.root(ofCampaign: number) != nil
    }

    /// The campaign an account belongs to, in brief (no evidence), or `nil`.
    /// - Complexity: O(α(n)): unlike ``campaignSummary(number:)``, cheap enough per account.
    public func campaignMembership(of accountID: String) -> CampaignMembership? {
        guard let i = slot(ofAccount: accountID), campaignApplies(to: Int(i)), let g = linkage.group(of: i),
              g.number > 0 else { return nil }
        return CampaignMembership(campaignID: "campaign-\(g.number)", verdict: g.verdict, score: g.score,
                                  accounts: g.members.count, strongest: g.strongest, firstLink: firstLink(of: i))
    }

    /// How account `i` first joined another account, if it ever did.
    /// - Complexity: O(1).
    func firstLink(of i: Int32) -> CampaignLink? {
        guard let l = linkage.firstLinks[i] else { return nil }
        return CampaignLink(partnerID: accountIDs[Int(l.partner)],
                            kinds: LinkEvidenceKind.all.filter { l.kinds & $0.bit != 0 },
                            weight: Double(l.weight), attached: l.attached, at: l.at)
    }

    /// Applies an analyst's label to a whole campaign as of `time`:
    /// - `legitimate` dismisses the campaign's current evidence (only stronger evidence
    ///   flags it again); members fall back to their own verdicts.
    /// - `confirmedAttack` blocks every member, and every account that links in later.
    /// Labelling one member `legitimate` instead (``applyLabel(_:to:at:)``) splits that
    /// account off its campaign.
    /// - Returns: `false` when there is no such campaign.
    /// - Complexity: O(members) when the verdict changes.
    @discardableResult
    public mutating func applyCampaignLabel(_ label: AnalystLabel, toCampaign number: Int, at time: Timestamp) -> Bool {
        guard let r = linkage.root(ofCampaign: number), var g = linkage.groups[r] else { return false }
        switch label {
        case .legitimate:
            g.dismissed = CampaignSignals.values(g, members: g.members.count)
            g.confirmed = false
        case .confirmedAttack:
            g.dismissed = InlineArray(repeating: 0)
            g.confirmed = true
        }
        g.label = label
        linkage.groups[r] = g
        rescoreGroup(r, at: max(time, clock ?? time), force: true)
        applyFlagLog()
        return true
    }

    /// Takes an account labelled legitimate out of its group: it no longer counts in the
    /// group's member totals, gets no campaign verdict, and links no more. (The group's
    /// traffic totals keep its past exchanges.)
    mutating func detachFromCampaign(_ i: Int32, ownScoreBefore: Double, at t: Timestamp) {
        let ii = Int(i)
        guard !linkage.profiles[ii].detached else { return }
        let r = linkage.find(i)
        linkage.profiles[ii].detached = true
        guard var g = linkage.groups[r] else { return }
        if let k = g.members.firstIndex(of: i) { g.members.remove(at: k) }
        g.ownScoreSum -= ownScoreBefore
        if linkage.profiles[ii].countedProxy { g.rotatingMembers -= 1 }
        if linkage.profiles[ii].unverifiedSelfServe { g.selfServeMembers -= 1 }
        linkage.groups[r] = g
        rescoreGroup(r, at: t, force: true)
    }

    private func summary(of g: CampaignState) -> CampaignSummary {
        let n = g.members.count
        let values = CampaignSignals.values(g, members: n)
        let contributions = CampaignSignals.contributions(values, dismissed: g.dismissed, policy: policy.campaigns)
        var signals: [CampaignSignalReading] = []
        for kind in CampaignSignalKind.all {
            let value = values[kind.ordinal]
            let contribution = contributions[kind.ordinal]
            guard contribution > 0 else { continue }
            signals.append(CampaignSignalReading(kind: kind, value: value, contribution: contribution,
                                                 detail: CampaignSignals.detail(kind, g, members: n)))
        }
        signals.sort { $0.contribution > $1.contribution }
        var capabilityCounts = [Int64](repeating: 0, count: Capability.allCases.count)
        var contentExchanges: Int64 = 0
        for m in g.members {
            let c = states[Int(m)].content
            contentExchanges += Int64(c.exchanges)
            for k in capabilityCounts.indices { capabilityCounts[k] += Int64(c.capabilityCounts[k]) }
        }
        var capabilities: [String: Double] = [:]
        if contentExchanges > 0 {
            for cap in Capability.allCases where capabilityCounts[cap.ordinal] > 0 {
                capabilities[cap.rawValue] = Double(capabilityCounts[cap.ordinal]) / Double(contentExchanges)
            }
        }
        return CampaignSummary(
            campaignID: "campaign-\(g.number)", number: Int(g.number), verdict: g.verdict, score: g.score,
            accountIDs: g.members.map { accountIDs[Int($0)] }.sorted(),
            firstSeen: g.exchanges > 0 ? g.firstSeen : nil, firstFlaggedAt: g.firstFlaggedAt,
            lastSeen: g.exchanges > 0 ? g.lastSeen : nil, exchanges: Int(g.exchanges),
            outputTokens: Int(g.outputTokens), capabilities: capabilities, evidence: evidence(of: g),
            signals: signals, label: g.label)
    }

    /// The typed evidence of a group, recomputed from its members' profiles.
    /// - Complexity: O(members · log members).
    private func evidence(of g: CampaignState) -> [CampaignEvidence] {
        let members = g.members.map(Int.init)
        let n = members.count
        var out: [CampaignEvidence] = []
        let pairs = Int(g.linkedPairs)
        func pairCount(_ kind: LinkEvidenceKind) -> Int { Int(g.pairKinds[kind.ordinal]) }

        /// Members sharing a value with at least one other member, and how many values.
        func shared(_ key: (Int) -> UInt64) -> (accounts: Int, values: Int) {
            var counts: [UInt64: Int] = [:]
            for m in members { let k = key(m); if k != 0 { counts[k, default: 0] += 1 } }
            let sharedValues = counts.values.filter { $0 >= 2 }
            return (sharedValues.reduce(0, +), sharedValues.count)
        }
        let payment = shared { linkage.profiles[$0].paymentKey }
        if payment.accounts > 0 {
            out.append(CampaignEvidence(kind: .sharedPayment,
                detail: "\(payment.accounts) of \(n) accounts share \(payment.values) payment fingerprint\(payment.values == 1 ? "" : "s")",
                accounts: payment.accounts))
        }
        let email = shared { linkage.profiles[$0].emailKey }
        if email.accounts > 0 {
            out.append(CampaignEvidence(kind: .sharedEmailDomain,
                detail: "\(email.accounts) accounts share \(email.values) sign-up e-mail domain\(email.values == 1 ? "" : "s") (not common mail providers)",
                accounts: email.accounts))
        }
        let created = members.compactMap { linkage.profiles[$0].created?.millisecondsSinceEpoch }.sorted()
        if created.count >= 2 {
            var together = 0
            var busiest = 0
            var lo = 0
            for k in created.indices {
                let near = (k > 0 && created[k] - created[k - 1] <= Timestamp.millisecondsPerHour)
                    || (k + 1 < created.count && created[k + 1] - created[k] <= Timestamp.millisecondsPerHour)
                if near { together += 1 }
                while created[k] - created[lo] > Timestamp.millisecondsPerHour { lo += 1 }
                busiest = max(busiest, k - lo + 1)
            }
            if together > 0, pairCount(.signupBurst) > 0 {
                out.append(CampaignEvidence(kind: .signupBurst,
                    detail: "\(together) accounts opened within an hour of another member; up to \(busiest) in one hour",
                    accounts: together))
            }
        }
        let agents = shared { linkage.profiles[$0].userAgentKey }
        if agents.accounts > 0, pairCount(.sharedUserAgent) > 0 {
            out.append(CampaignEvidence(kind: .sharedUserAgent,
                detail: "\(agents.accounts) accounts last used \(agents.values == 1 ? "one shared user agent" : "one of \(agents.values) shared user agents"); \(pairCount(.sharedUserAgent)) linking comparisons on a rare one",
                accounts: agents.accounts))
        }
        let fingerprints = shared { linkage.profiles[$0].fingerprintKey }
        if fingerprints.accounts > 0, pairCount(.sharedClientFingerprint) > 0 {
            out.append(CampaignEvidence(kind: .sharedClientFingerprint,
                detail: "\(fingerprints.accounts) accounts share \(fingerprints.values) client fingerprint\(fingerprints.values == 1 ? "" : "s")",
                accounts: fingerprints.accounts))
        }
        for kind in [LinkEvidenceKind.sharedAddress, .sharedSubnet] where pairCount(kind) > 0 {
            let what = kind == .sharedAddress ? "the same client address" : "the same /24 or /48 subnet"
            let cap = policy.campaigns.rarity[kind]?.maximumAccounts ?? 0
            out.append(CampaignEvidence(kind: kind,
                detail: "\(pairCount(kind)) of \(pairs) linking comparisons used \(what) (one used by at most \(cap) accounts)",
                accounts: min(n, 2 * pairCount(kind))))
        }
        let rotating = members.filter { linkage.profiles[$0].countedRotating }
        if !rotating.isEmpty {
            let networks = rotating.map { linkage.profiles[$0].distinctNetworks }.sorted()
            out.append(CampaignEvidence(kind: .proxyPool,
                detail: "\(rotating.count) of \(n) accounts rotate through residential-proxy networks (median \(Int(clamping: networks[networks.count / 2].rounded())) networks each)",
                accounts: rotating.count))
        }
        let exitUsers = members.filter { linkage.profiles[$0].usesManyExits && !linkage.profiles[$0].countedRotating }
        if !exitUsers.isEmpty, pairCount(.sharedProxyExits) > 0 {
            let addresses = exitUsers.map { linkage.profiles[$0].distinctAddresses }.sorted()
            out.append(CampaignEvidence(kind: .sharedProxyExits,
                detail: "\(exitUsers.count) of \(n) accounts keep changing residential addresses (median \(Int(clamping: addresses[addresses.count / 2].rounded())) each, in 3+ networks) and share them with other members; \(pairCount(.sharedProxyExits)) of \(pairs) linking comparisons on overlapping exits",
                accounts: exitUsers.count))
        }
        if pairCount(.synchronisedActivity) > 0 {
            // Each member against the next active one: how many are active in the same minutes.
            let active = members.filter { linkage.profiles[$0].activeMinutes >= 16 }
            var synchronised = Set<Int>()
            var overlapSum = 0.0
            for k in active.indices.dropLast() {
                let overlap = LinkProfile.similarity(linkage.profiles[active[k]].minuteSketch,
                                                     linkage.profiles[active[k + 1]].minuteSketch)
                overlapSum += overlap
                if overlap >= 0.5 { synchronised.insert(active[k]); synchronised.insert(active[k + 1]) }
            }
            let mean = active.count > 1 ? overlapSum / Double(active.count - 1) : 0
            out.append(CampaignEvidence(kind: .synchronisedActivity,
                detail: "\(synchronised.count) of \(active.count) active accounts are active in the same minutes as the next member (mean minute overlap \(Wording.rounded(mean * 100, digits: 0))%); \(pairCount(.synchronisedActivity)) of \(pairs) linking comparisons synchronised",
                accounts: synchronised.count))
        }
        if pairCount(.balancedVolume) > 0 {
            out.append(CampaignEvidence(kind: .balancedVolume,
                detail: "\(pairCount(.balancedVolume)) of \(pairs) linking comparisons sent volumes within 10% of each other over 24 hours",
                accounts: min(n, 2 * pairCount(.balancedVolume))))
        }
        let params = shared { parameterKey(of: Int($0)) ?? 0 }
        if params.accounts > 0, pairCount(.parameterFingerprint) > 0 {
            out.append(CampaignEvidence(kind: .parameterFingerprint,
                detail: "\(params.accounts) accounts send identical request parameters (\(params.values) distinct sets)",
                accounts: params.accounts))
        }
        if pairCount(.proxiedFingerprint) > 0 {
            let proxied = shared { linkage.profiles[$0].countedProxy ? (parameterKey(of: Int($0)) ?? 0) : 0 }
            out.append(CampaignEvidence(kind: .proxiedFingerprint,
                detail: "\(proxied.accounts) accounts behind changing proxy exits send one of \(proxied.values) identical parameter set\(proxied.values == 1 ? "" : "s") from different client software; \(pairCount(.proxiedFingerprint)) of \(pairs) linking comparisons",
                accounts: proxied.accounts))
        }
        let systems = shared { states[$0].content.systemPromptExchanges > 0 ? states[$0].content.lastSystemKey : 0 }
        if systems.accounts > 0, pairCount(.templateFamily) > 0 {
            out.append(CampaignEvidence(kind: .templateFamily,
                detail: "\(systems.accounts) accounts use \(systems.values) shared system prompt\(systems.values == 1 ? "" : "s")",
                accounts: systems.accounts))
        }
        let split = shared { linkage.profiles[$0].splitFamilyKey }
        if split.accounts > 0, pairCount(.complementaryCoverage) > 0 {
            out.append(CampaignEvidence(kind: .complementaryCoverage,
                detail: "\(split.accounts) accounts fill \(split.values) shared template\(split.values == 1 ? "" : "s") with mostly distinct items (a task list split between them)",
                accounts: split.accounts))
        }
        return out.sorted { $0.accounts != $1.accounts ? $0.accounts > $1.accounts : $0.kind.ordinal < $1.kind.ordinal }
    }
}
