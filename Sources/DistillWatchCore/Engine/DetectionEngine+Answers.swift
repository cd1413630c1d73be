/// The parts a decision is made of, for a server that publishes its answers ahead of the
/// questions: the account's own part, its campaign's part, and its keys' parts each change
/// on their own, and ``DetectionEngine/compose(_:_:)`` puts them together exactly as
/// ``DetectionEngine/decision(for:)`` does (a parity test checks it on every account of a
/// scenario). With ``DetectionEngine/tracksChanges`` on, the engine lists what changed,
/// so the server republishes only that after each batch.

/// An account's own part of its decision.
public struct AccountAnswer: Sendable, Equatable {
    public var accountID: String
    /// The account's own decision (no campaign in it).
    public var own: Decision
    public var label: AnalystLabel?
    /// Its own readings that contributed, strongest first (empty when its score is 0).
    public var reasons: [SignalReading]
    /// The number of its group's campaign when a campaign verdict can apply to it (it is
    /// not allowlisted, labelled legitimate or detached, and the group has a number).
    public var campaignNumber: Int32?
    /// How it first joined another account, if it did.
    public var firstLink: CampaignLink?
    /// It passed identity verification (its account record says `verified`).
    public var verified: Bool = false
    /// Its sign-up risk (``SignupRisk/score``), 0 without a record.
    public var signupRisk: Double = 0
    /// What the model access policy judges of its record (tier, declared and payment
    /// country), when the policy has rules.
    public var accessRecord: AccountRecord? = nil
}

/// A numbered campaign's part of its members' decisions.
public struct CampaignAnswer: Sendable, Equatable {
    public var number: Int32
    public var verdict: Verdict
    public var score: Double
    public var accounts: Int
    public var strongest: CampaignSignalKind?
    /// Its verdict raises its members' (campaigns on, and enough members or confirmed).
    public var raisesMembers: Bool
}

/// What changed since the engine last handed its changes over: accounts (their own part,
/// campaign number or first link), key slots, and groups (by root) that were rescored.
/// Indices may repeat.
public struct EngineChanges: Sendable, Equatable {
    public var accounts: [Int32] = []
    public var keySlots: [Int32] = []
    public var campaignRoots: [Int32] = []

    public init(accounts: [Int32] = [], keySlots: [Int32] = [], campaignRoots: [Int32] = []) {
        self.accounts = accounts
        self.keySlots = keySlots
        self.campaignRoots = campaignRoots
    }

    public var isEmpty: Bool { accounts.isEmpty && keySlots.isEmpty && campaignRoots.isEmpty }
}

extension DetectionEngine {
    /// Whether the engine lists what changes (for ``takeChanges()``). Off by default:
    /// `scan` and `eval` do not pay for it.
    public var tracksChanges: Bool {
        get { changeLog != nil }
        set { changeLog = newValue ? (changeLog ?? EngineChanges()) : nil }
    }

    /// What changed since the last call, and starts a new list.
    /// - Complexity: O(1).
    public mutating func takeChanges() -> EngineChanges {
        guard let log = changeLog else { return EngineChanges() }
        changeLog = EngineChanges()
        return log
    }

    /// Accounts known (indices 0..<count), for publishing everything once.
    public var accountIndices: Range<Int32> { 0..<Int32(states.count) }
    /// Key slots held (indices 0..<count).
    public var keySlotIndices: Range<Int32> { 0..<Int32(keys.states.count) }
    /// Roots of linked groups.
    public var campaignRoots: [Int32] { Array(linkage.groups.keys) }

    /// Account `i`'s own part. - Complexity: O(1), plus formatting its contributing
    /// signals when its score is above 0.
    public func accountAnswer(at i: Int32) -> AccountAnswer {
        let ii = Int(i)
        let s = states[ii]
        let own = Decision(verdict: s.verdict, score: s.score, allowlisted: s.allowlisted,
                           strongestSignal: s.strongestSignal, newlyFlagged: false)
        var number: Int32?
        if campaignApplies(to: ii), let g = linkage.group(of: i), g.number > 0 { number = g.number }
        return AccountAnswer(accountID: accountIDs[ii], own: own, label: s.label,
                             reasons: s.score > 0 ? readings(for: accountIDs[ii]).contributing : [],
                             campaignNumber: number, firstLink: firstLink(of: i), verified: records[ii]?.verified == true,
                             signupRisk: signupRisk(at: ii).score, accessRecord: accessRecord(at: ii))
    }

    /// The part of the group rooted at `root`, when it has a campaign number.
    public func campaignAnswer(root: Int32) -> CampaignAnswer? {
        guard let g = linkage.groups[root], g.number > 0 else { return nil }
        let raises = policy.campaigns.enabled && (g.members.count >= policy.campaigns.minimumAccounts || g.confirmed)
        return CampaignAnswer(number: g.number, verdict: g.verdict, score: g.score, accounts: g.members.count,
                              strongest: g.strongest, raisesMembers: raises)
    }

    /// The key in `slot`: its account's id and its summary.
    public func keyAnswer(slot: Int32) -> (accountID: String, key: KeySummary) {
        let ks = keys.states[Int(slot)]
        return (accountIDs[Int(ks.accountIndex)], keySummary(at: Int(slot)))
    }

    /// The decision and the flagged campaign membership that an account's part and its
    /// campaign's part make: what ``decision(for:)`` and ``campaignMembership(of:)`` give.
    public static func compose(_ a: AccountAnswer, _ c: CampaignAnswer?) -> (decision: Decision, campaign: CampaignMembership?) {
        var d = a.own
        guard let c, let number = a.campaignNumber, c.number == number else { return (d, nil) }
        if c.raisesMembers {
            d.campaign = number
            if c.verdict > d.verdict {
                d.verdict = c.verdict
                d.score = max(d.score, c.score)
            }
        }
        let membership = c.verdict.isFlagged
            ? CampaignMembership(campaignID: "campaign-\(number)", verdict: c.verdict, score: c.score, accounts: c.accounts,
                                 strongest: c.strongest, firstLink: a.firstLink)
            : nil
        return (d, membership)
    }

    /// The decision for one of the account's keys: the account's, raised to the key's own
    /// verdict when that is stricter (what ``decision(for:key:)`` gives).
    public static func compose(_ d: Decision, key: KeySummary?) -> Decision {
        guard let key, key.verdict > d.verdict else { return d }
        var out = d
        out.verdict = key.verdict
        out.score = max(d.score, key.score)
        out.strongestSignal = key.strongestSignal
        return out
    }
}
