import DistillWatchCore

extension Scenario {
    /// Every named scenario, in the order the documentation lists them.
    public static let all: [Scenario] = [mixed, cotHarvest, agenticHydra, hydra2026, lowAndSlow, naiveBulk]

    /// The scenario called `name`, or `nil`. - Complexity: O(scenarios).
    public static func named(_ name: String) -> Scenario? {
        all.first { $0.name == name }
    }

    public static var names: [String] { all.map(\.name) }

    /// Monday 2 March 2026, 00:00 UTC: every scenario starts on a Monday.
    static let defaultStart = Timestamp(millisecondsSinceEpoch: 1_772_409_600_000)

    /// The legitimate customers around every attack scenario, `m` times the base size.
    static func legitimateBackground(_ m: Double) -> [PopulationGroup] {
        func n(_ base: Double) -> Int { max(1, Int((base * m).rounded())) }
        return [
            PopulationGroup(.individualDeveloper, accounts: n(2000), perDay: 10),
            PopulationGroup(.productBackend, accounts: n(40), perDay: 800),
            PopulationGroup(.enterpriseBatch, accounts: n(10), perDay: 3000),
            PopulationGroup(.evaluationTeam, accounts: n(10), perDay: 500),
            PopulationGroup(.universityClass, accounts: n(4) * 30, perDay: 8, unitSize: 30),
            PopulationGroup(.startupEnvironments, accounts: n(30) * 3, perDay: 60, unitSize: 3),
            PopulationGroup(.codingAgentProduct, accounts: n(10), perDay: 1500),
            PopulationGroup(.licensedDistiller, accounts: n(2), perDay: 10_000),
        ]
    }

    /// Every persona, a few thousand exchanges over two days: the demo and test scenario.
    public static let mixed = Scenario(
        name: "mixed",
        summary: "Every persona at small size over two days (a few thousand exchanges); used by demo and tests.",
        start: defaultStart, days: 2, modelReleaseDay: 1,
        groups: [
            PopulationGroup(.individualDeveloper, accounts: 20, perDay: 8),
            PopulationGroup(.productBackend, accounts: 2, perDay: 150),
            PopulationGroup(.enterpriseBatch, accounts: 1, perDay: 300),
            PopulationGroup(.evaluationTeam, accounts: 2, perDay: 100),
            PopulationGroup(.universityClass, accounts: 20, perDay: 5, unitSize: 20),
            PopulationGroup(.startupEnvironments, accounts: 6, perDay: 25, unitSize: 3),
            PopulationGroup(.codingAgentProduct, accounts: 2, perDay: 150),
            PopulationGroup(.licensedDistiller, accounts: 1, perDay: 400),
            PopulationGroup(.cotHarvest, accounts: 10, perDay: 40, campaign: "cot-harvest-1"),
            PopulationGroup(.agenticHydra, accounts: 40, perDay: 8, campaign: "agentic-hydra-1"),
            PopulationGroup(.lowAndSlow, accounts: 20, perDay: 4, campaign: "low-and-slow-1"),
            PopulationGroup(.naiveBulk, accounts: 1, perDay: 600, campaign: "naive-bulk-1"),
        ])

    /// Chain-of-thought harvesting: tens of accounts, synchronised waves, shared cards.
    public static let cotHarvest = Scenario(
        name: "cot-harvest",
        summary: "40 accounts harvesting step-by-step reasoning, rubric grades and sensitive-question rewrites in synchronised waves, inside 14 days of legitimate traffic.",
        start: defaultStart, days: 14, modelReleaseDay: 7,
        groups: legitimateBackground(1) + [
            PopulationGroup(.cotHarvest, accounts: 40, perDay: 250, campaign: "cot-harvest-1"),
        ])

    /// The agentic-coding hydra: thousands of accounts behind rotating residential proxies.
    public static let agenticHydra = Scenario(
        name: "agentic-hydra",
        summary: "2,000 load-balanced accounts opened in bursts, rotating residential proxies across hundreds of networks, agentic coding with 20% camouflage chat, moving half their traffic to the new model within a day; 21 days.",
        start: defaultStart, days: 21, modelReleaseDay: 10,
        groups: legitimateBackground(1) + [
            PopulationGroup(.agenticHydra, accounts: 2000, perDay: 30, campaign: "agentic-hydra-1"),
        ])

    /// The 2026 full-scale case: 25,000 accounts, 28.8 million exchanges over 44 days, with
    /// ten times as many legitimate exchanges from over 100,000 legitimate accounts.
    public static let hydra2026 = Scenario(
        name: "hydra-2026",
        summary: "The 2026 full-scale hydra: ~25,000 attack accounts, ~28.8M attack exchanges over 44 days (coding and agentic reasoning), ~288M legitimate exchanges from ~101,000 legitimate accounts.",
        start: defaultStart, days: 44, modelReleaseDay: 20,
        groups: [
            PopulationGroup(.individualDeveloper, accounts: 85_000, perDay: 0, targetExchanges: 23.04e6),
            PopulationGroup(.productBackend, accounts: 6_000, perDay: 0, targetExchanges: 115.2e6),
            PopulationGroup(.enterpriseBatch, accounts: 500, perDay: 0, targetExchanges: 43.2e6),
            PopulationGroup(.evaluationTeam, accounts: 400, perDay: 0, targetExchanges: 8.64e6),
            PopulationGroup(.universityClass, accounts: 4_500, perDay: 0, targetExchanges: 2.88e6, unitSize: 30),
            PopulationGroup(.startupEnvironments, accounts: 3_600, perDay: 0, targetExchanges: 14.4e6, unitSize: 3),
            PopulationGroup(.codingAgentProduct, accounts: 1_000, perDay: 0, targetExchanges: 57.6e6),
            PopulationGroup(.licensedDistiller, accounts: 8, perDay: 0, targetExchanges: 23.04e6),
            PopulationGroup(.agenticHydra, accounts: 25_000, perDay: 0, targetExchanges: 28.8e6, campaign: "hydra-2026"),
        ])

    /// Low-and-slow adaptive extraction: human-like pacing, unique everything, split tasks.
    public static let lowAndSlow = Scenario(
        name: "low-and-slow",
        summary: "300 accounts sending a few requests a day each with human timing, unique cards and user agents, paraphrased prompts and a task list split so no two accounts send the same task; 28 days.",
        start: defaultStart, days: 28, modelReleaseDay: 14,
        groups: legitimateBackground(1) + [
            PopulationGroup(.lowAndSlow, accounts: 300, perDay: 6, campaign: "low-and-slow-1"),
        ])

    /// One account harvesting in bulk with no attempt to hide.
    public static let naiveBulk = Scenario(
        name: "naive-bulk",
        summary: "A single account sending ~20,000 chain-of-thought requests a day from one cloud address with a stock HTTP library; 7 days.",
        start: defaultStart, days: 7, modelReleaseDay: 3.5,
        groups: legitimateBackground(0.5) + [
            PopulationGroup(.naiveBulk, accounts: 1, perDay: 20_000, campaign: "naive-bulk-1"),
        ])
}
