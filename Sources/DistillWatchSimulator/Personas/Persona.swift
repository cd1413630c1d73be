/// A behaviour that produces an account's traffic. The raw value is written as the
/// `persona` field of `labels.jsonl`.
public enum Persona: String, CaseIterable, Sendable, Codable {
    // Legitimate customers.
    case individualDeveloper = "individual-developer"
    case productBackend = "product-backend"
    case enterpriseBatch = "enterprise-batch"
    case evaluationTeam = "evaluation-team"
    case universityClass = "university-class"
    case startupEnvironments = "startup-environments"
    case codingAgentProduct = "coding-agent-product"
    case licensedDistiller = "licensed-distillation-partner"
    /// A consumer chat app's back end: users in several regions, each with an
    /// `end_user_id`, multi-turn conversations, diverse everyday content, 24/7.
    case consumerChatProduct = "consumer-chat-product"
    /// An app platform passing its hosted apps' users' requests, with `end_user_id`s and
    /// the apps' own system prompts (a legitimate relay).
    case appPlatform = "app-platform"
    /// A customer of the provider's Batch API: requests carry `batch_id` and run at the
    /// provider's pace.
    case batchAPICustomer = "batch-api-customer"
    /// A small team sharing one key from one country (homes and an office).
    case sharedTeamKey = "shared-team-key"
    // Extraction campaigns.
    case cotHarvest = "cot-harvest"
    case agenticHydra = "agentic-hydra"
    case lowAndSlow = "low-and-slow"
    case naiveBulk = "naive-bulk"
    /// A lab forwarding its own product's customer requests through thousands of
    /// self-serve accounts (about 300,000 requests in 10 days through 5,380 accounts).
    case disguisedRelay = "disguised-relay"
    /// Accounts that send back reasoning blocks first served to other accounts of the
    /// campaign, to recover full reasoning.
    case reasoningReplay = "reasoning-replay"
    /// Flat-price subscriptions used far beyond what the plan pays for.
    case subscriptionAbuse = "subscription-abuse"
    /// A developer whose key leaks: ordinary use, then a sudden burst from many networks.
    case leakedKey = "leaked-key"
    /// An account one of whose two keys is resold to about 25 buyers in many countries,
    /// who use it at once; the owner keeps using the other key.
    case resoldKey = "resold-key"
    /// A cluster of a few thousand very busy accounts (about 151M exchanges over three
    /// months from about 3,500 accounts, peaking near 3M a day).
    case busyCluster = "busy-cluster"
    /// One operator's harness run from accounts at two providers (the two-provider
    /// scenario): its own prompt template worded per account, rotating residential exits,
    /// two client stacks, moderate pace and 20% camouflage chat.
    case crossProviderOperator = "cross-provider-operator"

    public var isAttack: Bool {
        switch self {
        case .cotHarvest, .agenticHydra, .lowAndSlow, .naiveBulk, .disguisedRelay, .reasoningReplay,
             .subscriptionAbuse, .leakedKey, .busyCluster, .resoldKey, .crossProviderOperator:
            return true
        default: return false
        }
    }

    /// The legitimate personas whose traffic looks most like extraction (the hard negatives).
    public var isHardNegative: Bool {
        switch self {
        case .enterpriseBatch, .evaluationTeam, .universityClass, .startupEnvironments,
             .codingAgentProduct, .licensedDistiller, .consumerChatProduct, .appPlatform, .batchAPICustomer, .sharedTeamKey:
            return true
        default: return false
        }
    }
}

/// When in the week an account is active, in its own local time, as 168 hourly weights
/// (Monday 00:00 first) normalised to mean 1 so that the volume parameter keeps its meaning.
public enum WeeklyRhythm: Sendable {
    /// Office hours on weekdays, some evening work, little at weekends.
    case workday
    /// A consumer audience: peaks in the evening, weekends as busy as weekdays.
    case consumer
    /// Machines: the same rate at every hour.
    case flat
    /// Evenings and weekends (students doing homework, hobbyists).
    case evening
    /// A global audience: the consumer curve of the Americas (45%, UTC−5), Europe (35%,
    /// UTC+1) and Asia (20%, UTC+8) added up, in UTC.
    case global

    /// - Complexity: O(168).
    public var hourlyWeights: [Double] {
        var w = [Double](repeating: 0, count: 168)
        for h in 0..<168 {
            let day = h / 24, hour = h % 24
            let weekend = day >= 5
            switch self {
            case .workday:
                let base: Double
                switch hour {
                case 9..<12, 13..<18: base = 1.0
                case 12: base = 0.6
                case 8, 18...21: base = 0.35
                case 22, 23, 7: base = 0.12
                default: base = 0.02
                }
                w[h] = weekend ? base * 0.15 : base
            case .consumer:
                let base: Double
                switch hour {
                case 0...5: base = 0.2
                case 6...8: base = 0.6
                case 9...17: base = 1.0
                case 18...22: base = 1.4
                default: base = 0.7
                }
                w[h] = weekend ? base * 0.9 : base
            case .flat:
                w[h] = 1
            case .global:
                let consumer = WeeklyRhythm.consumer.hourlyWeights
                for (offset, share) in [(-5, 0.45), (1, 0.35), (8, 0.2)] {
                    w[h] += share * consumer[((h + offset) % 168 + 168) % 168]
                }
            case .evening:
                let base: Double
                switch hour {
                case 18...23: base = 1.0
                case 13...17: base = 0.5
                case 0, 1: base = 0.4
                case 9...12: base = 0.25
                default: base = 0.03
                }
                w[h] = weekend ? base * 1.3 : base
            }
        }
        let mean = w.reduce(0, +) / 168
        return w.map { $0 / mean }
    }
}

/// How an account reaches the API.
enum NetworkStyle: Sendable {
    /// One home address in the account's country, rarely another (travel, mobile).
    case home
    /// A few cloud egress addresses in one region.
    case cloudEgress
    /// One campus NAT address shared by the whole class.
    case campusNAT
    /// A new residential-proxy address from any country on every request.
    case rotatingResidential
    /// One residential-proxy address per account per day, in the account's declared country.
    case stickyResidentialDaily
    /// A handful of VPS addresses shared across the campaign.
    case campaignVPS
    /// Several people behind one account: each session comes from one of them (`people`
    /// homes, in the account's country when `sameCountry`, else anywhere).
    case people(count: Int, sameCountry: Bool)
    /// One pool of residential proxy exits shared by the campaign (`exitsPerAccount` of them
    /// per account, at least 8), one exit kept for a whole session (sticky sessions).
    case campaignStickyPool(exitsPerAccount: Double)
}

/// Whether requests send reasoning blocks back (`reasoning_replay_of`).
enum ReplayStyle: Sendable {
    case none
    /// Within a session, the previous exchange's block (a tool loop with thinking on).
    case ownConversation
    /// Blocks first served to other accounts of the campaign (`share` of requests).
    case foreign(share: Double)
}

enum ClientStyle: Sendable {
    /// Drawn from the population of API clients.
    case population
    /// The product's own user agent.
    case product
    /// A specific library family.
    case family(String)
    /// One of a few stacks the campaign's harness uses (each also common among customers).
    case campaignStacks(Int)
}

enum PaymentStyle: Sendable {
    /// Every account has its own card.
    case own
    /// Accounts of one unit (a startup, a class) share one payment method.
    case sharedPerUnit
    /// The campaign draws from a small pool of cards: `accountsPerCard` on average.
    case campaignPool(accountsPerCard: Int)
}

enum ModelAdoption: Sendable {
    /// Legitimate customers: an account-specific final share, approached over ~10 days.
    case gradual
    /// Half the traffic moves to the new model within `hours` of its release.
    case fast(hours: Double)
}

enum ActivitySchedule: Sendable {
    /// Sessions arrive at random following the weekly rhythm.
    case random
    /// The campaign's operator starts work in waves every `periodHours`, lasting about
    /// `waveMinutes`; every account joins each wave within a minute or two.
    case campaignWaves(periodHours: Double, waveMinutes: Double)
    /// A class meets twice a week at fixed local hours; students work together then, and
    /// on their own (evening rhythm) otherwise.
    case classMeetings
}

/// Everything that distinguishes one persona's traffic: volume, timing, content, network
/// and account profile. Values are distributions, drawn per account or per request.
struct PersonaProfile: Sendable {
    var taskMix: [TaskKind]
    var taskWeights: [Double]
    var rhythm: WeeklyRhythm
    var schedule: ActivitySchedule = .random
    /// Mean requests per session (1 = a Poisson stream of independent requests).
    var meanSessionLength: Double
    var gapMedianSeconds: Double
    var gapSigma: Double = 0.8
    /// Spread of per-account volume (σ of a mean-one log-normal).
    var volumeSigma: Double
    var thinkingShare: Double
    var temperatures: [Double?]
    var maxTokens: [Int]
    var streamShare: Double
    var toolCounts: ClosedRange<Int>? = nil
    var agentic: Bool = false
    var chainOfThoughtSuffixShare: Double = 0
    var network: NetworkStyle
    var ipv6Share: Double = 0.15
    var client: ClientStyle = .population
    var payment: PaymentStyle = .own
    var adoption: ModelAdoption = .gradual
    var flagshipShare: Double
    var tiers: [String]
    var verifiedShare: Double
    var keysPerAccount: ClosedRange<Int>
    var embeddingsShare: Double = 0
    /// Rate limit of the account's tier, requests per minute.
    var requestsPerMinute: Int
    /// Distinct end users the account passes as `end_user_id` (0: none).
    var endUsers: Int = 0
    /// System prompts of other products the account serves or relays (0: its own only).
    var productSystemPrompts: Int = 0
    /// Requests go through the provider's Batch API (`batch_id`).
    var batchAPI = false
    var replay: ReplayStyle = .none
    /// Share of accounts on a flat-price plan, and its monthly price in USD.
    var planShare = 0.0
    var planPriceUSD = 20.0

    /// What a leaked key is used for once it leaks: harvesting from rotating addresses
    /// around the clock, at the tier's limit.
    static let afterLeak = PersonaProfile(
        taskMix: [.reasoningPuzzle, .math, .codingQuestion], taskWeights: [40, 30, 30], rhythm: .flat,
        meanSessionLength: 200, gapMedianSeconds: 1.5, gapSigma: 0.4, volumeSigma: 0, thinkingShare: 1,
        temperatures: [1.0], maxTokens: [32000], streamShare: 0, chainOfThoughtSuffixShare: 0.6,
        network: .rotatingResidential, ipv6Share: 0.2, client: .family("python-requests"),
        adoption: .fast(hours: 6), flagshipShare: 1, tiers: ["standard"], verifiedShare: 0,
        keysPerAccount: 1...1, requestsPerMinute: 50)

    /// - Complexity: O(1) (profiles are small constants).
    static func of(_ persona: Persona) -> PersonaProfile {
        switch persona {
        case .individualDeveloper:
            return PersonaProfile(
                taskMix: [.codingQuestion, .mundaneChat, .math, .translation, .agentStep, .reasoningPuzzle],
                taskWeights: [50, 25, 8, 5, 8, 4], rhythm: .workday, meanSessionLength: 5,
                gapMedianSeconds: 75, volumeSigma: 1.0, thinkingShare: 0.15,
                temperatures: [nil, nil, nil, 0.7, 1.0, 0.2, 0], maxTokens: [1024, 2048, 4096, 4096, 8192],
                streamShare: 0.6, network: .home, flagshipShare: 0.55,
                tiers: ["free", "free", "standard", "standard", "standard"], verifiedShare: 0.2,
                keysPerAccount: 1...2, requestsPerMinute: 50, planShare: 0.3, planPriceUSD: 20)
        case .productBackend:
            return PersonaProfile(
                taskMix: [.supportMessage, .mundaneChat, .documentExtraction, .translation],
                taskWeights: [70, 15, 5, 10], rhythm: .consumer, meanSessionLength: 1,
                gapMedianSeconds: 1, volumeSigma: 1.2, thinkingShare: 0.0,
                temperatures: [0.3, 0.5, 0.7], maxTokens: [512, 1024, 1024, 2048],
                streamShare: 0.8, network: .cloudEgress, ipv6Share: 0.05, flagshipShare: 0.3,
                tiers: ["standard", "enterprise"], verifiedShare: 0.8, keysPerAccount: 1...3,
                embeddingsShare: 0.08, requestsPerMinute: 4000)
        case .enterpriseBatch:
            return PersonaProfile(
                taskMix: [.documentExtraction], taskWeights: [1], rhythm: .flat, meanSessionLength: 150,
                gapMedianSeconds: 2.5, gapSigma: 0.4, volumeSigma: 0.8, thinkingShare: 0,
                temperatures: [0], maxTokens: [1024], streamShare: 0, network: .cloudEgress, ipv6Share: 0,
                client: .population, flagshipShare: 0.4, tiers: ["enterprise"], verifiedShare: 1,
                keysPerAccount: 1...2, requestsPerMinute: 4000)
        case .evaluationTeam:
            return PersonaProfile(
                taskMix: [.benchmarkMath, .benchmarkCoding, .reasoningPuzzle, .rubricGrading],
                taskWeights: [40, 35, 15, 10], rhythm: .workday, meanSessionLength: 250,
                gapMedianSeconds: 1.5, gapSigma: 0.5, volumeSigma: 0.7, thinkingShare: 0.5,
                temperatures: [0, 0.8, 1.0], maxTokens: [4096, 8192, 16000], streamShare: 0,
                chainOfThoughtSuffixShare: 0.3, network: .cloudEgress, adoption: .fast(hours: 12), flagshipShare: 0.8,
                tiers: ["research", "enterprise"], verifiedShare: 0.9, keysPerAccount: 1...3,
                requestsPerMinute: 1000)
        case .universityClass:
            return PersonaProfile(
                taskMix: [.math, .codingQuestion, .reasoningPuzzle, .mundaneChat],
                taskWeights: [40, 35, 15, 10], rhythm: .evening, schedule: .classMeetings,
                meanSessionLength: 8, gapMedianSeconds: 120, volumeSigma: 0.6, thinkingShare: 0.1,
                temperatures: [nil], maxTokens: [1024, 2048], streamShare: 1, chainOfThoughtSuffixShare: 0.25,
                network: .campusNAT, ipv6Share: 0, client: .family("anthropic-python"), payment: .sharedPerUnit,
                flagshipShare: 0.2, tiers: ["education"], verifiedShare: 1, keysPerAccount: 1...1,
                requestsPerMinute: 20)
        case .startupEnvironments:
            return PersonaProfile(
                taskMix: [.supportMessage, .codingQuestion, .documentExtraction, .agentStep],
                taskWeights: [40, 25, 20, 15], rhythm: .workday, meanSessionLength: 12,
                gapMedianSeconds: 8, volumeSigma: 0.9, thinkingShare: 0.1,
                temperatures: [0.2, 0.7], maxTokens: [2048, 4096], streamShare: 0.5,
                network: .cloudEgress, payment: .sharedPerUnit, flagshipShare: 0.5,
                tiers: ["startup"], verifiedShare: 0.6, keysPerAccount: 1...2, requestsPerMinute: 500)
        case .codingAgentProduct:
            return PersonaProfile(
                taskMix: [.agentStep, .codingQuestion], taskWeights: [85, 15], rhythm: .workday,
                meanSessionLength: 30, gapMedianSeconds: 9, gapSigma: 0.6, volumeSigma: 0.8,
                thinkingShare: 0.4, temperatures: [nil, 0, 1.0], maxTokens: [8192, 16000, 32000],
                streamShare: 1, toolCounts: 6...28, agentic: true, network: .cloudEgress, client: .product,
                flagshipShare: 0.85, tiers: ["enterprise", "standard"], verifiedShare: 0.9,
                keysPerAccount: 2...4, requestsPerMinute: 4000, endUsers: 600, replay: .ownConversation)
        case .licensedDistiller:
            return PersonaProfile(
                taskMix: [.codingQuestion, .reasoningPuzzle, .math, .agentStep, .rubricGrading],
                taskWeights: [35, 20, 20, 20, 5], rhythm: .flat, meanSessionLength: 400,
                gapMedianSeconds: 1.2, gapSigma: 0.4, volumeSigma: 0.5, thinkingShare: 0.8,
                temperatures: [1.0], maxTokens: [16000, 32000], streamShare: 0,
                chainOfThoughtSuffixShare: 0.4, network: .cloudEgress, ipv6Share: 0, flagshipShare: 0.9,
                tiers: ["enterprise"], verifiedShare: 1, keysPerAccount: 1...2, requestsPerMinute: 10_000)
        case .cotHarvest:
            return PersonaProfile(
                taskMix: [.reasoningPuzzle, .math, .rubricGrading, .sensitiveRewrite, .codingQuestion],
                taskWeights: [25, 20, 25, 15, 15], rhythm: .flat,
                schedule: .campaignWaves(periodHours: 5, waveMinutes: 75),
                meanSessionLength: 60, gapMedianSeconds: 40, gapSigma: 0.5, volumeSigma: 0.25,
                thinkingShare: 0.7, temperatures: [0.7, 1.0], maxTokens: [8192, 16000],
                streamShare: 0.2, chainOfThoughtSuffixShare: 0.8, network: .campaignVPS, ipv6Share: 0,
                client: .campaignStacks(2), payment: .campaignPool(accountsPerCard: 10),
                adoption: .fast(hours: 48), flagshipShare: 0.9, tiers: ["standard"], verifiedShare: 0.3,
                keysPerAccount: 1...2, requestsPerMinute: 50)
        case .agenticHydra:
            return PersonaProfile(
                taskMix: [.agentStep, .codingQuestion, .mundaneChat, .reasoningPuzzle],
                taskWeights: [55, 20, 20, 5], rhythm: .flat, meanSessionLength: 6,
                gapMedianSeconds: 25, volumeSigma: 0.12, thinkingShare: 0.5,
                temperatures: [nil, 1.0], maxTokens: [8192, 16000, 32000], streamShare: 0.3,
                toolCounts: 4...24, agentic: true, network: .rotatingResidential, ipv6Share: 0.2,
                client: .campaignStacks(4), payment: .campaignPool(accountsPerCard: 25),
                adoption: .fast(hours: 20), flagshipShare: 0.85, tiers: ["free", "standard", "standard"],
                verifiedShare: 0.05, keysPerAccount: 1...1, requestsPerMinute: 50)
        case .lowAndSlow:
            // Modelled on the low-and-slow campaign of issue 16: about 15 requests a day at
            // human pace in the account's own time zone, 40% everyday chat as camouflage,
            // its own phrasing of its slice of one task list, and one identical, unusual
            // parameter fingerprint (max_tokens 12000, temperature 0.6, thinking and
            // streaming always on) through one shared pool of sticky residential exits.
            return PersonaProfile(
                taskMix: [.codingQuestion, .reasoningPuzzle, .math, .agentStep, .mundaneChat],
                taskWeights: [22, 14, 14, 10, 40], rhythm: .workday, meanSessionLength: 3,
                gapMedianSeconds: 90, volumeSigma: 0.4, thinkingShare: 1,
                temperatures: [0.6], maxTokens: [12000], streamShare: 1,
                chainOfThoughtSuffixShare: 0.2, network: .campaignStickyPool(exitsPerAccount: 2), ipv6Share: 0.15,
                client: .population, payment: .own, adoption: .gradual, flagshipShare: 0.6,
                tiers: ["free", "standard"], verifiedShare: 0, keysPerAccount: 1...2, requestsPerMinute: 50)
        case .naiveBulk:
            return PersonaProfile(
                taskMix: [.reasoningPuzzle, .math, .codingQuestion], taskWeights: [40, 30, 30], rhythm: .flat,
                meanSessionLength: 500, gapMedianSeconds: 0.6, gapSigma: 0.3, volumeSigma: 0, thinkingShare: 1,
                temperatures: [1.0], maxTokens: [32000], streamShare: 0, chainOfThoughtSuffixShare: 1,
                network: .cloudEgress, ipv6Share: 0, client: .family("python-requests"),
                adoption: .fast(hours: 6), flagshipShare: 1, tiers: ["standard"], verifiedShare: 0,
                keysPerAccount: 1...1, requestsPerMinute: 50)
        case .consumerChatProduct:
            return PersonaProfile(
                taskMix: [.mundaneChat, .codingQuestion, .math, .translation, .documentExtraction, .reasoningPuzzle],
                taskWeights: [55, 12, 10, 10, 8, 5], rhythm: .global, meanSessionLength: 1,
                gapMedianSeconds: 1, volumeSigma: 0.8, thinkingShare: 0.1,
                temperatures: [0.7], maxTokens: [2048], streamShare: 1, chainOfThoughtSuffixShare: 0.05,
                network: .cloudEgress, ipv6Share: 0.05, flagshipShare: 0.4,
                tiers: ["standard", "enterprise"], verifiedShare: 0.5, keysPerAccount: 1...2,
                requestsPerMinute: 4000, endUsers: 4000)
        case .appPlatform:
            return PersonaProfile(
                taskMix: [.supportMessage, .mundaneChat, .documentExtraction, .codingQuestion, .translation],
                taskWeights: [35, 30, 15, 10, 10], rhythm: .global, meanSessionLength: 1,
                gapMedianSeconds: 1, volumeSigma: 0.6, thinkingShare: 0.05,
                temperatures: [0.3, 0.7], maxTokens: [1024, 2048], streamShare: 0.9,
                network: .cloudEgress, ipv6Share: 0.05, flagshipShare: 0.35,
                tiers: ["enterprise"], verifiedShare: 1, keysPerAccount: 2...4,
                requestsPerMinute: 4000, endUsers: 3000, productSystemPrompts: 40)
        case .batchAPICustomer:
            return PersonaProfile(
                taskMix: [.documentExtraction, .translation, .mundaneChat], taskWeights: [60, 25, 15],
                rhythm: .flat, meanSessionLength: 2000, gapMedianSeconds: 0.25, gapSigma: 0.3, volumeSigma: 0.6,
                thinkingShare: 0, temperatures: [0], maxTokens: [1024], streamShare: 0,
                network: .cloudEgress, ipv6Share: 0, flagshipShare: 0.3, tiers: ["enterprise", "research"],
                verifiedShare: 0.8, keysPerAccount: 1...2, requestsPerMinute: 1_000_000, batchAPI: true)
        case .disguisedRelay:
            return PersonaProfile(
                taskMix: [.supportMessage, .mundaneChat, .codingQuestion, .documentExtraction, .translation],
                taskWeights: [30, 30, 20, 10, 10], rhythm: .flat, meanSessionLength: 1,
                gapMedianSeconds: 1, volumeSigma: 0.3, thinkingShare: 0.3,
                temperatures: [nil, 0.7], maxTokens: [4096, 8192], streamShare: 0.5,
                network: .campaignVPS, ipv6Share: 0, client: .campaignStacks(3),
                payment: .campaignPool(accountsPerCard: 20), flagshipShare: 0.8,
                tiers: ["free", "standard"], verifiedShare: 0.05, keysPerAccount: 1...1,
                requestsPerMinute: 50, productSystemPrompts: 60)
        case .reasoningReplay:
            return PersonaProfile(
                taskMix: [.reasoningPuzzle, .math, .codingQuestion, .mundaneChat], taskWeights: [35, 30, 20, 15],
                rhythm: .workday, meanSessionLength: 4, gapMedianSeconds: 60, volumeSigma: 0.4,
                thinkingShare: 1, temperatures: [nil, 1.0], maxTokens: [16000, 32000], streamShare: 0.5,
                network: .stickyResidentialDaily, ipv6Share: 0.15, client: .population, payment: .own,
                flagshipShare: 0.9, tiers: ["free", "standard"], verifiedShare: 0.1, keysPerAccount: 1...1,
                requestsPerMinute: 50, replay: .foreign(share: 0.4))
        case .subscriptionAbuse:
            return PersonaProfile(
                taskMix: [.codingQuestion, .reasoningPuzzle, .math, .agentStep], taskWeights: [40, 20, 20, 20],
                rhythm: .flat, meanSessionLength: 40, gapMedianSeconds: 20, volumeSigma: 0.3,
                thinkingShare: 0.8, temperatures: [nil], maxTokens: [32000], streamShare: 1,
                chainOfThoughtSuffixShare: 0.3, network: .home, client: .population, payment: .own,
                flagshipShare: 1, tiers: ["free", "standard"], verifiedShare: 0.3, keysPerAccount: 1...1,
                requestsPerMinute: 50, planShare: 1, planPriceUSD: 20)
        case .leakedKey:
            // Before the leak: an individual developer with two keys (the profile switches at
            // the leak, and the leaked key is the second).
            var p = PersonaProfile.of(.individualDeveloper)
            p.planShare = 0
            p.keysPerAccount = 2...2
            return p
        case .sharedTeamKey:
            var p = PersonaProfile.of(.individualDeveloper)
            p.network = .people(count: 5, sameCountry: true)
            p.keysPerAccount = 1...1
            p.planShare = 0
            p.tiers = ["standard"]
            return p
        case .resoldKey:
            var p = PersonaProfile.of(.individualDeveloper)
            p.taskMix = [.codingQuestion, .mundaneChat, .reasoningPuzzle, .math, .translation]
            p.taskWeights = [35, 30, 15, 10, 10]
            p.rhythm = .flat
            p.network = .people(count: 26, sameCountry: false)
            p.volumeSigma = 0.4
            p.keysPerAccount = 2...2
            p.planShare = 0
            p.tiers = ["standard"]
            p.verifiedShare = 0
            return p
        case .crossProviderOperator:
            return PersonaProfile(
                taskMix: [.harnessTask, .mundaneChat, .codingQuestion], taskWeights: [70, 20, 10], rhythm: .flat,
                meanSessionLength: 6, gapMedianSeconds: 40, volumeSigma: 0.25, thinkingShare: 0.8,
                temperatures: [1.0], maxTokens: [16000], streamShare: 0.2, network: .rotatingResidential, ipv6Share: 0.15,
                client: .campaignStacks(2), payment: .own, adoption: .gradual, flagshipShare: 0.9,
                tiers: ["free", "standard"], verifiedShare: 0, keysPerAccount: 1...1, requestsPerMinute: 50)
        case .busyCluster:
            return PersonaProfile(
                taskMix: [.codingQuestion, .agentStep, .reasoningPuzzle, .math, .mundaneChat],
                taskWeights: [35, 30, 15, 10, 10], rhythm: .flat, meanSessionLength: 30,
                gapMedianSeconds: 6, volumeSigma: 0.35, thinkingShare: 0.6,
                temperatures: [nil, 1.0], maxTokens: [16000, 32000], streamShare: 0.4, toolCounts: 0...12,
                chainOfThoughtSuffixShare: 0.3, network: .campaignVPS, ipv6Share: 0, client: .campaignStacks(6),
                payment: .campaignPool(accountsPerCard: 15), adoption: .fast(hours: 24), flagshipShare: 0.9,
                tiers: ["standard", "standard", "startup"], verifiedShare: 0.2, keysPerAccount: 1...3,
                requestsPerMinute: 200)
        }
    }
}
