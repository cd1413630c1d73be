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
    let context: SimulationContext

    public init(scenario: Scenario, scale: Double = 1, seed: UInt64 = 1) {
        self.scenario = scenario
        self.scale = scale
        self.seed = seed
        var rhythms: [WeeklyRhythm: (weights: [Double], max: Double)] = [:]
        for rhythm in [WeeklyRhythm.workday, .consumer, .flat, .evening] {
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
            let campaignSeed = SplitMix64.seed(groupSeed, 0xCA3B)
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

    /// Accounts of a group at a scale: at least one, and whole units (classes, startups).
    static func scaledCount(_ group: PopulationGroup, scale: Double) -> Int {
        let units = max(1, Int((Double(group.accounts / group.unitSize) * scale).rounded()))
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
        let profile = PersonaProfile.of(persona)
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
            created = start - Int64((2 + rng.nextUnit() * 90) * day)
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
        if persona == .agenticHydra || persona == .cotHarvest || persona == .naiveBulk {
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
            for _ in 0..<6 {
                let region = net.drawCloudNetwork(near: ["US", "SG", "DE"][pool.below(3)], &pool)
                egress.append(net.address(in: net.cloud[region], ipv6Share: 0, &pool))
            }
            egress = [egress[index % egress.count], egress[(index + 1) % egress.count]]
        case .campusNAT:
            home = net.campusEndpoint(country: homeCountry.code, &unit)
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
        case .individualDeveloper, .lowAndSlow, .naiveBulk:
            email = rng.chance(0.75) ? rng.pick(AccountBuilder.freeMail) : companyDomain(&rng)
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
        let record = AccountRecord(
            accountID: accountID, created: Timestamp(millisecondsSinceEpoch: created), tier: tier,
            paymentFingerprint: payment, emailDomain: email, declaredCountry: declaredCountry,
            verified: rng.chance(profile.verifiedShare), allowlisted: persona == .licensedDistiller)

        var keys: [String] = []
        for _ in 0..<rng.int(in: profile.keysPerAccount) { keys.append("key_" + rng.hex(10)) }
        let temperature = profile.temperatures[rng.below(profile.temperatures.count)]
        let maxTokens = profile.maxTokens[rng.below(profile.maxTokens.count)]
        let stream = rng.chance(profile.streamShare)
        let batchInstruction = "Extract the \(rng.pick(["vendor, date and total", "customer name, order number and items", "claim number, amount and incident date", "parties, term and monthly rent"])) from the document below as JSON\(rng.pick(["", " with ISO dates", ", amounts as numbers"]))."

        let generator = SimulatedAccount(
            accountID: accountID, persona: persona, profile: profile, campaignSeed: campaignSeed,
            unitSeed: unitSeed, indexInGroup: index, groupCount: count, indexInUnit: indexInUnit,
            timing: timing, content: content, activeFrom: activeFrom, activeUntil: end,
            sessionRate: sessionRate, meanSessionLength: meanSession, gapMedianMilliseconds: gapMedian,
            utcOffsetHours: utcOffset, rhythmWeights: shape.weights, rhythmMax: shape.max,
            apiKeys: keys, client: client, system: system, temperature: temperature,
            maxTokens: maxTokens, stream: stream, newModelFinalShare: rng.nextUnit() * 0.7,
            declaredCountry: declaredCountry, homeEndpoint: home, egress: egress,
            batchInstruction: batchInstruction, samplesPerItem: 1 + rng.below(8), stickyEndpoint: home)
        return (record, generator)
    }
}
