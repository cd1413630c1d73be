import DistillWatchCore

/// A set of accounts of one persona inside a scenario.
public struct PopulationGroup: Sendable {
    public var persona: Persona
    /// Number of accounts at scale 1.
    public var accounts: Int
    /// Mean requests per account per active day. Ignored when `targetExchanges` is set.
    public var exchangesPerAccountPerDay: Double
    /// When set, the per-account rate is derived so that the group sends about this many
    /// exchanges in total at scale 1 (used where a public report gives totals).
    public var targetExchanges: Double?
    /// Accounts per unit that shares a payment method or schedule: a class, a startup.
    public var unitSize: Int
    /// Campaign name for attack groups (`labels.jsonl` `campaign`).
    public var campaign: String?

    public init(
        _ persona: Persona, accounts: Int, perDay: Double, targetExchanges: Double? = nil,
        unitSize: Int = 1, campaign: String? = nil
    ) {
        self.persona = persona
        self.accounts = accounts
        self.exchangesPerAccountPerDay = perDay
        self.targetExchanges = targetExchanges
        self.unitSize = unitSize
        self.campaign = campaign
    }
}

/// A named, reproducible world: who is using the API, for how long, and when a new model
/// is released. `ScenarioPlan` turns it into concrete accounts for a scale and a seed.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String
    public var start: Timestamp
    public var days: Double
    /// Day (from `start`) on which the new model first appears.
    public var modelReleaseDay: Double
    public var groups: [PopulationGroup]

    public var end: Timestamp { start.adding(milliseconds: Int64(days * Double(Timestamp.millisecondsPerDay))) }
    public var modelRelease: Timestamp {
        start.adding(milliseconds: Int64(modelReleaseDay * Double(Timestamp.millisecondsPerDay)))
    }
}

/// Model names the simulated provider serves. `newModel` appears mid-scenario.
public enum SimulatedModels {
    public static let flagship = "sable-4"
    public static let small = "sable-4-mini"
    public static let newModel = "sable-5"
    public static let embeddings = "sable-embed-2"
}
