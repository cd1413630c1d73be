/// What to do with an account's traffic, from least to most severe.
public enum Verdict: String, Sendable, Codable, Hashable, Comparable, CaseIterable {
    case allow
    case review
    case throttle
    case block

    private var severity: Int {
        switch self {
        case .allow: return 0
        case .review: return 1
        case .throttle: return 2
        case .block: return 3
        }
    }

    public static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.severity < rhs.severity }

    /// Any verdict but `allow` counts as flagged.
    public var isFlagged: Bool { self != .allow }
}

/// The engine's answer for one exchange (or one decide call): the account's verdict and
/// score after taking the exchange into account.
public struct Decision: Sendable, Equatable {
    public var verdict: Verdict
    public var score: Double
    /// The account is allowlisted (by its account record or the policy); the verdict is
    /// `allow` whatever the score.
    public var allowlisted: Bool
    /// The signal that contributed most to the score, if any did.
    public var strongestSignal: SignalKind?
    /// This exchange was the one that first took the account to `review` or worse.
    public var newlyFlagged: Bool
    /// The number of the campaign the account belongs to (`campaign-N` in reports), when
    /// its linked group has been a campaign; its verdict is the stricter of the two.
    public var campaign: Int32?

    public init(verdict: Verdict, score: Double, allowlisted: Bool, strongestSignal: SignalKind?, newlyFlagged: Bool,
                campaign: Int32? = nil) {
        self.campaign = campaign
        self.verdict = verdict
        self.score = score
        self.allowlisted = allowlisted
        self.strongestSignal = strongestSignal
        self.newlyFlagged = newlyFlagged
    }

    public static let unknownAccount = Decision(
        verdict: .allow, score: 0, allowlisted: false, strongestSignal: nil, newlyFlagged: false)
}

/// An analyst's judgement of an account, fed back to the engine.
public enum AnalystLabel: String, Sendable, Codable, Hashable {
    /// The account is an extraction account: it is blocked from now on.
    case confirmedAttack = "confirmed_attack"
    /// The account is legitimate: the evidence seen so far is dismissed, so only new or
    /// stronger evidence can flag it again.
    case legitimate
}
