import DistillWatchCore

/// Detection against evasion: a scenario's campaign run again with one evasion knob varied
/// (`eval --sweep`), or with every combination of a grid of knobs, searched for the cheapest
/// setting that still evades (`eval --adaptive`: an attacker who has read the code).
///
/// Each point is a full evaluation (``EvaluationRun``) of the scenario with the knobs
/// applied to its attack groups, at the same scale and seed, so points differ only by the
/// knobs.
public enum EvasionSweep {
    /// One evaluated setting of the knobs.
    public struct Point: Sendable, Codable, Equatable {
        public var knobs: String
        public var accounts: Int
        public var exchanges: Int
        /// Attack exchanges that were not camouflage, estimated as exchanges × (1 − camouflage).
        public var harvested: Int
        public var recall: Double
        public var shareServedBeforeFlag: Double
        public var secondsToFirstFlag: Double?
        /// Legitimate accounts with a verdict other than allow, and of them throttled or blocked.
        public var legitimateFlagged: Int
        public var legitimateThrottledOrBlocked: Int
        /// What harvesting cost the attacker: harvested exchanges per account per day, and
        /// distinct proxy exits per account (0: its own address a day).
        public var harvestedPerAccountDay: Double
        public var exitsPerAccount: Double

        enum CodingKeys: String, CodingKey {
            case knobs, accounts, exchanges, harvested, recall
            case shareServedBeforeFlag = "share_served_before_flag"
            case secondsToFirstFlag = "seconds_to_first_flag"
            case legitimateFlagged = "legitimate_flagged"
            case legitimateThrottledOrBlocked = "legitimate_throttled_or_blocked"
            case harvestedPerAccountDay = "harvested_per_account_day"
            case exitsPerAccount = "exits_per_account"
        }
    }

    /// Evaluates `scenario` with `knobs` applied. - Complexity: one simulation and scan.
    public static func evaluate(_ scenario: Scenario, knobs: EvasionKnobs, scale: Double, seed: UInt64,
                                policy: Policy, sketcher: ContentSketcher?) -> Point {
        let varied = scenario.with(knobs)
        let plan = ScenarioPlan(scenario: varied, scale: scale, seed: seed)
        let report = EvaluationRun.run(plan: plan, policy: policy, sketcher: sketcher, progress: { _ in }).0
        let attack = report.campaigns
        let accounts = attack.reduce(0) { $0 + $1.accounts }
        let exchanges = attack.reduce(0) { $0 + $1.exchanges }
        let flagged = attack.reduce(0) { $0 + $1.flagged }
        let served = attack.reduce(0) { $0 + $1.exchangesServedBeforeFlag }
        let camouflage = knobs.camouflage ?? defaultCamouflage(scenario)
        let harvested = Int((Double(exchanges) * (1 - camouflage)).rounded())
        let firstFlags = attack.compactMap(\.secondsToFirstFlag)
        return Point(
            knobs: knobs.summary, accounts: accounts, exchanges: exchanges, harvested: harvested,
            recall: accounts > 0 ? Double(flagged) / Double(accounts) : 0,
            shareServedBeforeFlag: exchanges > 0 ? Double(served) / Double(exchanges) : 0,
            secondsToFirstFlag: firstFlags.min(),
            legitimateFlagged: report.personas.reduce(0) { $0 + $1.flagged },
            legitimateThrottledOrBlocked: report.personas.reduce(0) { $0 + $1.throttledOrBlocked },
            harvestedPerAccountDay: accounts > 0 ? Double(harvested) / Double(accounts) / scenario.days : 0,
            exitsPerAccount: knobs.exitsPerAccount ?? defaultExits(scenario))
    }

    /// The camouflage share of the scenario's attack personas as configured (the share of
    /// everyday chat in their task mix).
    static func defaultCamouflage(_ scenario: Scenario) -> Double {
        guard let persona = scenario.groups.first(where: \.persona.isAttack)?.persona else { return 0 }
        let p = PersonaProfile.of(persona)
        let total = p.taskWeights.reduce(0, +)
        guard total > 0, let c = p.taskMix.firstIndex(of: .mundaneChat) else { return 0 }
        return p.taskWeights[c] / total
    }

    static func defaultExits(_ scenario: Scenario) -> Double {
        guard let persona = scenario.groups.first(where: \.persona.isAttack)?.persona else { return 0 }
        if case .campaignStickyPool(let e) = PersonaProfile.of(persona).network { return e }
        return 0
    }

    /// The grid `eval --adaptive` searches: pace 5, 15, 40 a day; camouflage 20%, 40%, 70%;
    /// exits 0 (own address a day), 0.5, 2 and 8 per account; a shared or own fingerprints
    /// (72 settings).
    public static let adaptiveGrid: [EvasionKnobs] = {
        var grid: [EvasionKnobs] = []
        for pace in [5.0, 15, 40] {
            for camouflage in [0.2, 0.4, 0.7] {
                for exits in [0.0, 0.5, 2, 8] {
                    for shared in [true, false] {
                        grid.append(EvasionKnobs(pace: pace, camouflage: camouflage, exitsPerAccount: exits, sharedFingerprint: shared))
                    }
                }
            }
        }
        return grid
    }()

    /// The cheapest evasion among `points`: the setting with recall below `recall` that
    /// harvests most per account-day (fewest accounts for a given harvest), or `nil` when
    /// every setting is caught.
    public static func cheapestEvasion(_ points: [Point], recallBelow recall: Double = 0.5) -> Point? {
        points.filter { $0.recall < recall }.max { $0.harvestedPerAccountDay < $1.harvestedPerAccountDay }
    }

    /// The points as a Markdown table.
    public static func markdown(_ points: [Point]) -> String {
        var out = "| knobs | attack accounts | harvested | harvested per account-day | recall | served before flag | first flag after | legitimate flagged (throttled or blocked) |\n"
        out += "|---|---:|---:|---:|---:|---:|---:|---:|\n"
        for p in points {
            out += "| \(p.knobs) | \(Wording.number(p.accounts)) | \(Wording.number(p.harvested)) | \(Wording.rounded(p.harvestedPerAccountDay, digits: 1)) | "
                + "\(Wording.percent(p.recall, digits: 1)) | \(Wording.percent(p.shareServedBeforeFlag, digits: 1)) | "
                + "\(p.secondsToFirstFlag.map { Wording.duration($0) } ?? "never") | \(p.legitimateFlagged) (\(p.legitimateThrottledOrBlocked)) |\n"
        }
        return out
    }

    /// The points as aligned text.
    public static func text(_ points: [Point]) -> String {
        let header = ["knobs", "accounts", "harvested", "per acct-day", "recall", "served before flag", "first flag", "legit flagged"]
        var rows = [header]
        for p in points {
            rows.append([p.knobs, Wording.number(p.accounts), Wording.number(p.harvested), Wording.rounded(p.harvestedPerAccountDay, digits: 1),
                         Wording.percent(p.recall, digits: 1), Wording.percent(p.shareServedBeforeFlag, digits: 1),
                         p.secondsToFirstFlag.map { Wording.duration($0) } ?? "never",
                         "\(p.legitimateFlagged) (\(p.legitimateThrottledOrBlocked))"])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { r in r.enumerated().map { c, v in c == 0 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[c] - v.count) + v }.joined(separator: "  ") }.joined(separator: "\n") + "\n"
    }
}
