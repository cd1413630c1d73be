import DistillWatchCore

/// A scenario made concrete for one scale and seed: every account with its provider record,
/// its ground-truth label and its traffic generator.
///
/// ```swift
/// let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 7)
/// var traffic = plan.makeTraffic()
/// while let exchange = traffic.next() { ... }
/// ```
/// - Complexity: O(accounts) time and memory to build; traffic is then streamed.
public struct ScenarioPlan: Sendable {
    public let scenario: Scenario
    public let scale: Double
    public let seed: UInt64
    /// Provider records of every account, sorted by account id (ids are random, so the
    /// order says nothing about labels).
    public let accounts: [AccountRecord]
    /// Ground truth, in the same order as `accounts`.
    public let labels: [LabelRecord]
    let generators: [SimulatedAccount]
    var context: SimulationContext

    public init(scenario: Scenario, scale: Double = 1, seed: UInt64 = 1) {
        self.scenario = scenario
        self.scale = scale
        self.seed = seed
        var rhythms: [WeeklyRhythm: (weights: [Double], max: Double)] = [:]
        for rhythm in [WeeklyRhythm.workday, .consumer, .flat, .evening, .global] {
            let w = rhythm.hourlyWeights
            rhythms[rhythm] = (w, w.max() ?? 1)
        }
        let context = SimulationContext(
            scenarioStart: scenario.start.millisecondsSinceEpoch,
            modelRelease: scenario.modelRelease.millisecondsSinceEpoch,
            network: .standard, rhythms: rhythms)
        self.context = context

        var records: [AccountRecord] = []
        var labels: [LabelRecord] = []
        var generators: [SimulatedAccount] = []
        for (groupIndex, group) in scenario.groups.enumerated() {
            let count = ScenarioPlan.scaledCount(group, scale: scale)
            let groupSeed = SplitMix64.seed(seed, 0x6209, UInt64(groupIndex))
            // The cross-provider operator's groups (one per provider) share its tooling: client
            // stacks, card pool and each account's wording of the template.
            let campaignSeed = group.persona == .crossProviderOperator
                ? SplitMix64.seed(seed, 0xC205) : SplitMix64.seed(groupSeed, 0xCA3B)
            // A group too small to scale keeps one unit, sending the scaled group's volume.
            let exactUnits = Double(group.accounts / group.unitSize) * scale
            let volumeFactor = min(1, exactUnits / Double(count / group.unitSize))
            let rate = ScenarioPlan.ratePerDay(group, scenario: scenario) * volumeFactor
            // User agents already taken in this group, for personas that never repeat one.
            var usedUserAgents = Set<String>()
            for i in 0..<count {
                var builder = AccountBuilder(
                    group: group, groupIndex: groupIndex, index: i, count: count, groupSeed: groupSeed,
                    campaignSeed: campaignSeed, ratePerDay: rate, scenario: scenario, context: context)
                let (record, generator) = builder.build(usedUserAgents: &usedUserAgents)
                records.append(record)
                generators.append(generator)
                labels.append(LabelRecord(
                    accountID: record.accountID, label: group.persona.isAttack ? .attack : .legit,
                    campaign: group.campaign, persona: group.persona.rawValue))
            }
        }
        let order = records.indices.sorted { records[$0].accountID < records[$1].accountID }
        self.accounts = order.map { records[$0] }
        self.labels = order.map { labels[$0] }
        self.generators = order.map { generators[$0] }
    }

    /// The most accounts one plan simulates at any scale: 10,000,000, about 30 times
    /// `hydra-2026` at scale 1. The engine's account slots are 32-bit, and each simulated
    /// account costs a few KB in the simulator and the engine, so a plan far beyond this
    /// would exhaust memory before writing anything.
    public static let maximumAccounts = 10_000_000

    /// The accounts `scenario` has at `scale`, counted in floating point so that no scale
    /// overflows (small groups keep one unit, as ``init(scenario:scale:seed:)`` does).
    /// - Complexity: O(groups).
    public static func accountCount(of scenario: Scenario, scale: Double) -> Double {
        scenario.groups.reduce(0) { sum, group in
            let units = (Double(group.accounts / group.unitSize) * scale).rounded()
            return sum + max(1, units) * Double(group.unitSize)
        }
    }

    /// Why `scale` cannot be simulated for `scenario`, or `nil` if it can: it must be a
    /// positive finite number giving at most ``maximumAccounts`` accounts.
    public static func problem(withScale scale: Double, for scenario: Scenario) -> String? {
        guard scale > 0, scale.isFinite else { return "must be a positive number, not \(scale)" }
        let accounts = accountCount(of: scenario, scale: scale)
        guard accounts <= Double(maximumAccounts) else {
            // The bisection starts from the first power of two past the bound, not from the
            // scale asked: from 1e300, 64 halvings never came near it ("about 0").
            var high = 1.0
            while high < scale, accountCount(of: scenario, scale: high) <= Double(maximumAccounts) { high *= 2 }
            let largest = (0..<64).reduce((low: 0.0, high: min(high, scale))) { range, _ in
                let mid = (range.low + range.high) / 2
                return accountCount(of: scenario, scale: mid) <= Double(maximumAccounts) ? (mid, range.high) : (range.low, mid)
            }.low
            let count = accounts < 1e15 ? Wording.rounded(accounts) : "\(accounts)"
            return "\(scale) would simulate \(count) accounts of \(scenario.name); at most "
                + "\(Wording.rounded(Double(maximumAccounts))) (a scale up to about \(Wording.rounded(largest, digits: 3)))"
        }
        return nil
    }

    /// Accounts of a group at a scale: at least one, and whole units (classes, startups);
    /// at most ``maximumAccounts`` (a larger scale is refused by ``problem(withScale:for:)``
    /// before a plan is made, and never traps here).
    static func scaledCount(_ group: PopulationGroup, scale: Double) -> Int {
        let exact = (Double(group.accounts / group.unitSize) * scale).rounded()
        let cap = Double(maximumAccounts / group.unitSize)
        let units = exact.isFinite && exact > 1 ? Int(min(exact, cap)) : 1
        return units * group.unitSize
    }

    /// Share of the scenario an account of this persona is active on average (accounts
    /// opened during the scenario miss its start).
    static func expectedActiveShare(_ persona: Persona) -> Double {
        switch persona {
        case .agenticHydra: return 1 - 0.5 * 0.125
        case .cotHarvest, .lowAndSlow, .naiveBulk: return 1
        default: return 1 - 0.03 * 0.5
        }
    }

    static func ratePerDay(_ group: PopulationGroup, scenario: Scenario) -> Double {
        guard let target = group.targetExchanges else { return group.exchangesPerAccountPerDay }
        return target / (Double(group.accounts) * scenario.days * expectedActiveShare(group.persona))
    }

    /// Whether served exchanges carry answer text (`response`, from ``ResponseGrammar``):
    /// off by default, since answers multiply the traffic's size; provenance needs them.
    public var includesResponses: Bool {
        get { context.responses }
        set { context.responses = newValue }
    }

    /// The scenario's traffic, merged across accounts in log order.
    public func makeTraffic() -> TrafficStream {
        TrafficStream(accounts: generators, context: context)
    }
}

/// Draws one account: its provider record and its configured generator.
struct AccountBuilder {
    let group: PopulationGroup
    let groupIndex: Int
    let index: Int
    let count: Int
    let groupSeed: UInt64
    let campaignSeed: UInt64
    let ratePerDay: Double
    let scenario: Scenario
    let context: SimulationContext
    var rng: SplitMix64

    init(group: PopulationGroup, groupIndex: Int, index: Int, count: Int, groupSeed: UInt64,
         campaignSeed: UInt64, ratePerDay: Double, scenario: Scenario, context: SimulationContext) {
        self.group = group
        self.groupIndex = groupIndex
        self.index = index
        self.count = count
        self.groupSeed = groupSeed
        self.campaignSeed = campaignSeed
        self.ratePerDay = ratePerDay
        self.scenario = scenario
        self.context = context
        self.rng = SplitMix64(seed: SplitMix64.seed(groupSeed, 0xACC7, UInt64(index)))
    }

    static let freeMail = ["gmail.com", "gmail.com", "gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "proton.me", "icloud.com", "qq.com", "163.com", "gmx.de", "mail.ru", "naver.com", "yandex.com"]
    static let tlds = [".com", ".io", ".ai", ".dev", ".co", ".net", ".tech", ".app", ".de", ".co.uk"]

    func companyDomain(_ r: inout SplitMix64) -> String {
        PromptGrammar.companyStems[r.below(PromptGrammar.companyStems.count)].lowercased()
            + (r.chance(0.5) ? "-" + PromptGrammar.companySuffixes[r.below(PromptGrammar.companySuffixes.count)].lowercased() : String(r.below(100)))
            + AccountBuilder.tlds[r.below(AccountBuilder.tlds.count)]
    }

    mutating func build(usedUserAgents: inout Set<String>) -> (AccountRecord, SimulatedAccount) {
        let persona = group.persona
        var profile = PersonaProfile.of(persona)
        group.knobs?.apply(to: &profile)
        let unitIndex = index / group.unitSize
        let indexInUnit = index % group.unitSize
        let unitSeed = SplitMix64.seed(groupSeed, 0x0417, UInt64(unitIndex))
        var unit = SplitMix64(seed: unitSeed)
        var campaign = SplitMix64(seed: campaignSeed)
        let net = context.network
        let day = Double(Timestamp.millisecondsPerDay)
        let start = scenario.start.millisecondsSinceEpoch
        let end = scenario.end.millisecondsSinceEpoch

        let accountID = "acct-" + rng.hex(12)
        let timing = rng.derived(salt: 1)
        let content = rng.derived(salt: 2)

        // Where the customer is.
        let homeCountry: CountryProfile
        switch persona {
        case .universityClass, .startupEnvironments: homeCountry = net.drawCountry(&unit)
        case .agenticHydra, .cotHarvest, .lowAndSlow, .naiveBulk:
            homeCountry = net.drawCountry(&rng)
        default: homeCountry = net.drawCountry(&rng)
        }
        var declaredCountry = homeCountry.code
        var utcOffset = homeCountry.utcOffsetHours

        // When the account exists.
        var created: Int64
        var activeFrom = start
        switch persona {
        case .agenticHydra:
            // Opened in bursts: half before the scenario, half in the first eighth of it.
            let bursts = 8
            let burst = Int64(index % bursts)
            var b = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0xB0B5, UInt64(burst)))
            let burstTime: Int64 = burst < 4
                ? start - Int64((1 + b.nextUnit() * 13) * day)
                : start + Int64(b.nextUnit() * scenario.days * 0.25 * day)
            created = burstTime + Int64(rng.nextUnit() * 3 * 3_600_000)
            activeFrom = max(start, created + Int64(rng.nextUnit() * 6 * 3_600_000))
        case .cotHarvest:
            let burstTime = start - Int64((3 + campaign.nextUnit() * 7) * day)
            created = burstTime + Int64(rng.nextUnit() * 8 * 3_600_000)
        case .lowAndSlow:
            // Opened within a few days of each other, weeks before the campaign starts.
            created = start - Int64((20 + campaign.nextUnit() * 20) * day) + Int64(rng.nextUnit() * 5 * day)
        case .disguisedRelay, .busyCluster:
            created = start - Int64((2 + campaign.nextUnit() * 20) * day) + Int64(rng.nextUnit() * 10 * day)
        case .reasoningReplay, .subscriptionAbuse:
            created = start - Int64((2 + rng.nextUnit() * 60) * day)
        case .naiveBulk:
            created = start - Int64((1 + rng.nextUnit() * 10) * day)
        default:
            if rng.chance(0.03) {
                created = start + Int64(rng.nextUnit() * scenario.days * day)
                activeFrom = created + Int64(rng.nextUnit() * 2 * 3_600_000)
            } else {
                created = start - Int64((1 + rng.nextUnit() * 900) * day)
            }
        }
        if persona == .universityClass || persona == .startupEnvironments {
            // A unit's accounts are opened together (start of term, company set-up).
            let unitCreated = start - Int64((5 + unit.nextUnit() * 200) * day)
            created = unitCreated + Int64(rng.nextUnit() * 2 * day)
            activeFrom = start
        }

        // Volume and timing.
        var rate = ratePerDay * rng.meanOneLogNormal(sigma: profile.volumeSigma)
        var meanSession = profile.meanSessionLength
        var gapMedian = profile.gapMedianSeconds * 1000
        var rhythm = profile.rhythm
        if persona == .startupEnvironments {
            switch indexInUnit {
            case 0: rhythm = .consumer; meanSession = 1; rate *= 2.0      // prod
            case 1: meanSession = 40; gapMedian = 3_000; rate *= 0.6      // staging: CI runs
            default: meanSession = 6; gapMedian = 60_000; rate *= 0.4     // dev
            }
        }
        // Bursty personas in short or small scenarios still get several sessions, so every
        // persona shows up even in the two-day mixed scenario.
        meanSession = max(1, min(meanSession, rate * scenario.days / 6))
        if case .campaignWaves(let periodHours, let waveMinutes) = profile.schedule {
            let wavesPerDay = 24 / periodHours * 0.9
            meanSession = max(1, rate / wavesPerDay)
            gapMedian = waveMinutes * 60_000 / meanSession
        }
        if persona == .agenticHydra || persona == .cotHarvest || persona == .naiveBulk || persona == .disguisedRelay
            || persona == .busyCluster {
            // Operators run their harness around the clock in UTC, not in a customer's day.
            utcOffset = 0
        }
        if persona == .lowAndSlow {
            // Mimics a person in the country it claims to be in.
            utcOffset = homeCountry.utcOffsetHours
        }
        if persona == .agenticHydra {
            declaredCountry = net.drawCountry(&rng).code
        }
        var sessionRate = rate / meanSession / day
        if case .classMeetings = profile.schedule {
            // Two meetings a week, 85% attendance, ~10 requests each; homework the rest.
            let meetingsPerDay = 2.0 / 7 * 0.85 * 10
            sessionRate = max(rate * 0.2, rate - meetingsPerDay) / meanSession / day
        }
        let shape = context.rhythms[rhythm]!

        // Network.
        var egress: [NetworkEndpoint] = []
        var home = NetworkEndpoint(address: "", asn: 0, country: homeCountry.code)
        switch profile.network {
        case .home, .stickyResidentialDaily, .rotatingResidential:
            let n = net.drawResidentialNetwork(in: homeCountry.code, &rng)
            home = net.address(in: net.residential[n], ipv6Share: 0.25, &rng)
        case .cloudEgress:
            var source = persona == .startupEnvironments ? unit : rng
            let region = net.drawCloudNetwork(near: homeCountry.code, &source)
            for _ in 0..<source.int(in: 1...5) {
                egress.append(net.address(in: net.cloud[region], ipv6Share: profile.ipv6Share, &source))
            }
            if persona != .startupEnvironments { rng = source }
            if persona == .naiveBulk { egress = [egress[0]] }
        case .campaignVPS:
            var pool = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0x1195))
            // Six servers, one more for every 20 accounts beyond 120.
            for _ in 0..<max(6, count / 20) {
                let region = net.drawCloudNetwork(near: ["US", "SG", "DE"][pool.below(3)], &pool)
                egress.append(net.address(in: net.cloud[region], ipv6Share: 0, &pool))
            }
            egress = [egress[index % egress.count], egress[(index + 1) % egress.count]]
        case .campusNAT:
            home = net.campusEndpoint(country: homeCountry.code, &unit)
        case .people(let count, let sameCountry):
            // The account holder first (a resold key's owner keeps the other key), then the
            // others, each at home.
            for k in 0..<count {
                let country = k == 0 || sameCountry ? homeCountry.code : net.drawCountry(&rng).code
                let n = net.drawResidentialNetwork(in: country, &rng)
                egress.append(net.address(in: net.residential[n], ipv6Share: 0.25, &rng))
            }
        case .campaignStickyPool(let exitsPerAccount):
            var pool = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0x5771C))
            for _ in 0..<max(8, Int(Double(count) * exitsPerAccount)) {
                let n = net.drawResidentialNetwork(in: nil, &pool)
                egress.append(net.address(in: net.residential[n], ipv6Share: profile.ipv6Share, &pool))
            }
        }

        // Client software.
        let client: ClientSoftware
        switch profile.client {
        case .population where persona == .lowAndSlow:
            // A unique user agent per account, still drawn with the population's weights.
            var candidate = ClientCatalog.draw(&rng)
            for _ in 0..<200 where usedUserAgents.contains(candidate.userAgent) {
                candidate = ClientCatalog.draw(&rng)
            }
            usedUserAgents.insert(candidate.userAgent)
            client = candidate
        case .population: client = ClientCatalog.draw(&rng)
        case .family(let name):
            client = persona == .universityClass ? ClientCatalog.draw(family: name, &unit) : ClientCatalog.draw(family: name, &rng)
        case .product:
            let name = PromptGrammar.companyStems[rng.below(PromptGrammar.companyStems.count)].lowercased() + "-agent"
            client = ClientCatalog.product(named: name, &rng)
        case .campaignStacks(let n):
            var stacks = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0x57AC, UInt64(rng.below(n))))
            client = ClientCatalog.draw(&stacks)
        }

        // System prompt.
        let brand = PromptGrammar.companyStems[rng.below(PromptGrammar.companyStems.count)]
        let system: String?
        switch persona {
        case .productBackend:
            system = "You are \(brand)'s \(rng.pick(["friendly", "helpful", "concise", "professional"])) \(rng.pick(["support assistant", "shopping assistant", "help-desk agent", "concierge"])). Answer questions about \(rng.pick(["orders and deliveries", "our subscription plans", "our mobile app", "bookings"])). \(rng.pick(["Never discuss competitors.", "Keep answers under 120 words.", "Escalate refunds over 200 EUR to a human.", "Reply in the customer's language."]))"
        case .enterpriseBatch:
            system = "You are a precise information-extraction system for \(brand). Return only valid JSON matching the schema. Do not add commentary."
        case .codingAgentProduct:
            system = "You are \(brand) Agent, an autonomous software engineer working in the user's repository. You can read and edit files and run shell commands through the provided tools. Make minimal, well-tested changes and explain them briefly."
        case .startupEnvironments:
            system = indexInUnit == 0 ? "You are the assistant inside \(brand)'s app. Be brief and friendly." : nil
        case .agenticHydra:
            system = rng.chance(0.7) ? "You are an expert software engineer. You have access to tools for reading files, editing code and running commands. Work step by step until the task is complete." : nil
        case .licensedDistiller:
            system = "You are a helpful, harmless and honest assistant."
        case .individualDeveloper:
            system = rng.chance(0.2) ? "You are a helpful assistant." : nil
        case .evaluationTeam, .cotHarvest:
            system = rng.chance(0.3) ? "You are a careful expert. Answer accurately." : nil
        case .consumerChatProduct:
            system = "You are \(brand) Chat, a friendly everyday assistant. Be warm and clear, ask a follow-up question when the request is ambiguous, and never give medical or legal advice."
        case .busyCluster:
            system = rng.chance(0.5) ? "You are an expert software engineer and mathematician. Think carefully and completely." : nil
        default:
            system = nil
        }

        // Payment and identity.
        let payment: String
        switch profile.payment {
        case .own: payment = "pm_" + rng.hex(16)
        case .sharedPerUnit: payment = "pm_" + unit.hex(16)
        case .campaignPool(let perCard):
            let cards = max(1, count / perCard)
            var card = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0xCA2D, UInt64(rng.below(cards))))
            payment = "pm_" + card.hex(16)
        }
        let email: String
        switch persona {
        case .individualDeveloper, .naiveBulk, .leakedKey:
            email = rng.chance(0.75) ? rng.pick(AccountBuilder.freeMail) : companyDomain(&rng)
        case .lowAndSlow, .subscriptionAbuse, .reasoningReplay, .disguisedRelay:
            email = rng.pick(AccountBuilder.freeMail)
        case .agenticHydra:
            email = rng.chance(0.6) ? rng.pick(AccountBuilder.freeMail) : companyDomain(&rng)
        case .cotHarvest:
            var shared = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0xE3A1, UInt64(rng.below(3))))
            email = rng.chance(0.5) ? rng.pick(AccountBuilder.freeMail) : companyDomain(&shared)
        case .universityClass:
            email = "\(PromptGrammar.towns[unit.below(PromptGrammar.towns.count)].lowercased().filter(\.isLetter))-university.edu"
        case .startupEnvironments:
            email = companyDomain(&unit)
        default:
            email = companyDomain(&rng)
        }
        let tier = profile.tiers[rng.below(profile.tiers.count)]
        var record = AccountRecord(
            accountID: accountID, created: Timestamp(millisecondsSinceEpoch: created), tier: tier,
            paymentFingerprint: payment, emailDomain: email, declaredCountry: declaredCountry,
            verified: rng.chance(profile.verifiedShare), allowlisted: persona == .licensedDistiller)
        if profile.planShare > 0, rng.chance(profile.planShare) {
            record.plan = "pro"
            record.planPriceUSD = profile.planPriceUSD
        }

        var keys: [String] = []
        for _ in 0..<rng.int(in: profile.keysPerAccount) { keys.append("key_" + rng.hex(10)) }
        let temperature = profile.temperatures[rng.below(profile.temperatures.count)]
        let maxTokens = profile.maxTokens[rng.below(profile.maxTokens.count)]
        let stream = rng.chance(profile.streamShare)
        let batchInstruction = "Extract the \(rng.pick(["vendor, date and total", "customer name, order number and items", "claim number, amount and incident date", "parties, term and monthly rent"])) from the document below as JSON\(rng.pick(["", " with ISO dates", ", amounts as numbers"]))."

        var generator = SimulatedAccount(
            accountID: accountID, persona: persona, profile: profile, campaignSeed: campaignSeed,
            unitSeed: unitSeed, indexInGroup: index, groupCount: count, indexInUnit: indexInUnit,
            timing: timing, content: content, activeFrom: activeFrom, activeUntil: end,
            sessionRate: sessionRate, meanSessionLength: meanSession, gapMedianMilliseconds: gapMedian,
            utcOffsetHours: utcOffset, rhythmWeights: shape.weights, rhythmMax: shape.max,
            apiKeys: keys, client: client, system: system, temperature: temperature,
            maxTokens: maxTokens, stream: stream, newModelFinalShare: rng.nextUnit() * 0.7,
            declaredCountry: declaredCountry, homeEndpoint: home, egress: egress,
            batchInstruction: batchInstruction, samplesPerItem: 1 + rng.below(8), stickyEndpoint: home)
        if profile.productSystemPrompts > 0 {
            // The products served: an app platform's own hosted apps, or (a relay) the
            // upstream customers' products, the same for every account of the campaign.
            var products = persona.isAttack ? SplitMix64(seed: SplitMix64.seed(campaignSeed, 0x9E0D)) : rng.derived(salt: 0x9E0D)
            generator.productPrompts = (0..<profile.productSystemPrompts).map { _ in Self.productPrompt(&products) }
        }
        if persona == .leakedKey {
            generator.leakAt = start + Int64((0.55 + rng.nextUnit() * 0.25) * scenario.days * day)
        }
        return (record, generator)
    }

    /// A product's system prompt, as app makers write them.
    static func productPrompt(_ r: inout SplitMix64) -> String {
        let brand = PromptGrammar.companyStems[r.below(PromptGrammar.companyStems.count)]
        let role = r.pick(["support assistant", "shopping assistant", "writing coach", "study buddy", "travel planner", "recipe helper", "fitness coach", "legal-forms helper", "language tutor", "coding mentor"])
        let rule = r.pick(["Keep answers under 150 words.", "Always answer in the user's language.", "Never mention competitors.", "Use bullet points.", "Ask one clarifying question first.", "Cite the help-centre article when you can."])
        return "You are \(brand)'s \(r.pick(["friendly", "patient", "expert", "upbeat"])) \(role). \(rule) Version \(r.int(in: 1...9)).\(r.int(in: 0...20))."
    }
}
