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
    /// Evasion settings of an attack group (`eval --sweep`, `eval --adaptive`).
    public var knobs: EvasionKnobs?

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
    /// The scale `eval --all-scenarios` runs a scenario too large to run whole at (`nil`:
    /// `--scale`).
    public var evaluationScale: Double? = nil

    /// The scenario with `knobs` applied to its attack groups (their `accounts` knob sets
    /// the group's size at scale 1, `pace` its requests per account per day).
    public func with(_ knobs: EvasionKnobs) -> Scenario {
        var s = self
        for k in s.groups.indices where s.groups[k].persona.isAttack {
            s.groups[k].knobs = knobs
            if let accounts = knobs.accounts { s.groups[k].accounts = accounts }
            if let pace = knobs.pace {
                s.groups[k].exchangesPerAccountPerDay = pace
                s.groups[k].targetExchanges = nil
            }
        }
        return s
    }

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

    /// What the simulated provider charges for an exchange, USD (list prices per million
    /// tokens, input / output: sable-4 3 / 15, sable-4-mini 0.8 / 4, sable-5 5 / 25,
    /// embeddings 0.02), rounded to a millionth of a dollar.
    static func cost(model: String?, input: Int, output: Int) -> Double {
        let (i, o): (Double, Double)
        switch model {
        case flagship: (i, o) = (3, 15)
        case small: (i, o) = (0.8, 4)
        case newModel: (i, o) = (5, 25)
        default: (i, o) = (0.02, 0)
        }
        return ((Double(input) * i + Double(output) * o)).rounded() / 1_000_000
    }
}
