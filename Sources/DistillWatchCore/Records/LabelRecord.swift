/// Ground truth for one account of a simulated or investigated dataset (spec §3).
/// Used only by evaluation; the engine never sees labels.
public struct LabelRecord: Sendable, Equatable {
    public enum Label: String, Sendable, Equatable {
        case attack
        case legit
    }

    public var accountID: String
    public var label: Label
    /// Campaign name for attack accounts; accounts of one campaign share it.
    public var campaign: String?
    /// Free-form description of the behaviour that produced the account's traffic.
    public var persona: String?

    public init(accountID: String, label: Label, campaign: String? = nil, persona: String? = nil) {
        self.accountID = accountID
        self.label = label
        self.campaign = campaign
        self.persona = persona
    }
}
