import DistillWatchCore

extension Scenario {
    /// Every named scenario, in the order the documentation lists them.
    public static let all: [Scenario] = [
        mixed, cotHarvest, agenticHydra, hydra2026, lowAndSlow, naiveBulk, relay2026, keyAbuse, busyCluster,
    ]

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
            PopulationGroup(.consumerChatProduct, accounts: n(20), perDay: 1_500),
            PopulationGroup(.appPlatform, accounts: n(5), perDay: 2_000),
            PopulationGroup(.batchAPICustomer, accounts: n(10), perDay: 3_000),
            PopulationGroup(.sharedTeamKey, accounts: n(20), perDay: 60),
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
            PopulationGroup(.consumerChatProduct, accounts: 2, perDay: 300),
            PopulationGroup(.appPlatform, accounts: 1, perDay: 300),
            PopulationGroup(.batchAPICustomer, accounts: 1, perDay: 600),
            PopulationGroup(.sharedTeamKey, accounts: 2, perDay: 40),
            PopulationGroup(.cotHarvest, accounts: 10, perDay: 40, campaign: "cot-harvest-1"),
            PopulationGroup(.agenticHydra, accounts: 40, perDay: 8, campaign: "agentic-hydra-1"),
            PopulationGroup(.lowAndSlow, accounts: 20, perDay: 4, campaign: "low-and-slow-1"),
            PopulationGroup(.naiveBulk, accounts: 1, perDay: 600, campaign: "naive-bulk-1"),
            PopulationGroup(.disguisedRelay, accounts: 20, perDay: 6, campaign: "disguised-relay-1"),
            PopulationGroup(.reasoningReplay, accounts: 5, perDay: 30, campaign: "reasoning-replay-1"),
            PopulationGroup(.subscriptionAbuse, accounts: 2, perDay: 200, campaign: "subscription-abuse-1"),
            PopulationGroup(.leakedKey, accounts: 2, perDay: 10, campaign: "leaked-key"),
            PopulationGroup(.busyCluster, accounts: 5, perDay: 100, campaign: "busy-cluster-1"),
            PopulationGroup(.resoldKey, accounts: 2, perDay: 100, campaign: "resold-key"),
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
            PopulationGroup(.consumerChatProduct, accounts: 500, perDay: 0, targetExchanges: 28.8e6),
            PopulationGroup(.appPlatform, accounts: 50, perDay: 0, targetExchanges: 8.64e6),
            PopulationGroup(.batchAPICustomer, accounts: 200, perDay: 0, targetExchanges: 14.4e6),
            PopulationGroup(.sharedTeamKey, accounts: 2_000, perDay: 0, targetExchanges: 5.76e6),
            PopulationGroup(.agenticHydra, accounts: 25_000, perDay: 0, targetExchanges: 28.8e6, campaign: "hydra-2026"),
        ], evaluationScale: 0.01)

    /// Low-and-slow extraction (issue 16's missed campaign): human pacing in each account's
    /// own time zone, 40% camouflage chat, unique cards and user agents, a task list split so
    /// no two accounts send the same task, one unusual parameter fingerprint and one pool of
    /// sticky residential exits.
    public static let lowAndSlow = Scenario(
        name: "low-and-slow",
        summary: "300 accounts sending ~15 requests a day each at human pace in their own time zones, 40% everyday chat, unique cards and user agents, paraphrased slices of one task list, one identical parameter fingerprint and one shared pool of sticky residential exits; 28 days.",
        start: defaultStart, days: 28, modelReleaseDay: 14,
        groups: legitimateBackground(1) + [
            PopulationGroup(.lowAndSlow, accounts: 300, perDay: 15, campaign: "low-and-slow-1"),
        ])

    /// A relay: a lab forwarding its own product's customers' requests through many
    /// self-serve accounts, next to legitimate app platforms and consumer chat products.
    public static let relay2026 = Scenario(
        name: "relay-2026",
        summary: "538 self-serve accounts relaying ~30,000 requests of other products' customers over 10 days (a tenth of the reported 5,380 accounts and 300,000 requests), beside app platforms, consumer chat products and Batch API customers.",
        start: defaultStart, days: 10, modelReleaseDay: 5,
        groups: legitimateBackground(1) + [
            PopulationGroup(.disguisedRelay, accounts: 538, perDay: 5.6, campaign: "disguised-relay-1"),
        ])

    /// Abuse of keys and plans: leaked keys, subscriptions used far beyond their price,
    /// reasoning blocks replayed across accounts.
    public static let keyAbuse = Scenario(
        name: "key-abuse",
        summary: "20 developers' keys leak and jump 200× from rotating addresses; 20 accounts with a key resold to ~25 buyers worldwide; 30 flat-price subscriptions used for hundreds of dollars a day; 40 accounts replaying each other's reasoning blocks; 21 days.",
        start: defaultStart, days: 21, modelReleaseDay: 10,
        groups: legitimateBackground(1) + [
            PopulationGroup(.leakedKey, accounts: 20, perDay: 10, campaign: "leaked-key"),
            PopulationGroup(.resoldKey, accounts: 20, perDay: 300, campaign: "resold-key"),
            PopulationGroup(.subscriptionAbuse, accounts: 30, perDay: 400, campaign: "subscription-abuse-1"),
            PopulationGroup(.reasoningReplay, accounts: 40, perDay: 60, campaign: "reasoning-replay-1"),
        ])

    /// The 151M-exchange cluster: about 3,500 very busy accounts over three months.
    public static let busyCluster = Scenario(
        name: "busy-cluster",
        summary: "~3,500 accounts sending ~151M exchanges over 90 days (~480 a day each, around the clock) from shared servers and cards, coding, agentic and reasoning output; run it scaled (e.g. --scale 0.01).",
        start: defaultStart, days: 90, modelReleaseDay: 45,
        groups: legitimateBackground(1) + [
            PopulationGroup(.busyCluster, accounts: 3_500, perDay: 0, targetExchanges: 151e6, campaign: "busy-cluster-1"),
        ], evaluationScale: 0.01)

    /// One account harvesting in bulk with no attempt to hide.
    public static let naiveBulk = Scenario(
        name: "naive-bulk",
        summary: "A single account sending ~20,000 chain-of-thought requests a day from one cloud address with a stock HTTP library; 7 days.",
        start: defaultStart, days: 7, modelReleaseDay: 3.5,
        groups: legitimateBackground(0.5) + [
            PopulationGroup(.naiveBulk, accounts: 1, perDay: 20_000, campaign: "naive-bulk-1"),
        ])
}

extension Scenario {
    /// The two-provider world of `eval --two-provider` (not in ``all``: its traffic is
    /// split between two providers by the evaluation). One operator runs its harness from
    /// 300 accounts at provider A (scale 1), at full pace, and from 100 accounts at provider
    /// B that behave like customers (8 requests a day, half of them everyday chat, each
    /// account its own request parameters); both groups draw exits from the same residential
    /// networks as both providers' honest customers, use the same two client stacks and
    /// word the operator's template per account. Around it, half the usual legitimate
    /// population, split between A and B by the evaluation.
    public static let twoProvider = Scenario(
        name: "two-provider",
        summary: "One operator at two providers: 300 full-pace harness accounts at A, 100 careful ones at B (8/day, 50% chat, own parameters), the same client stacks, rotating residential exits shared with honest customers and one template worded per account; 14 days.",
        start: defaultStart, days: 14, modelReleaseDay: 7,
        groups: legitimateBackground(0.5) + [
            PopulationGroup(.crossProviderOperator, accounts: 300, perDay: 30, campaign: "cross-provider-1"),
            {
                var atB = PopulationGroup(.crossProviderOperator, accounts: 100, perDay: 8, campaign: "cross-provider-1 at B")
                atB.knobs = EvasionKnobs(pace: 8, camouflage: 0.5, sharedFingerprint: false)
                return atB
            }(),
        ])
}
