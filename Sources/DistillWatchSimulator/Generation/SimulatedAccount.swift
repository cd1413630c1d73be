#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DistillWatchCore

/// The part of an account's next exchange decided ahead of time: enough to know when its
/// log line is written (arrival + latency), which orders the merged stream.
struct PlannedExchange: Sendable {
    var arrival: Int64 = 0
    var kind: TaskKind = .mundaneChat
    var outputTokens: Int32 = 0
    var reasoningTokens: Int32 = 0
    var latencyMilliseconds: Int32 = 0
    var status: Int16 = 200
    var thinking = false
    var embeddings = false
    var finish: FinishReason = .endTurn
    var sessionStep: Int16 = 0
}

enum FinishReason: UInt8, Sendable {
    case endTurn, maxTokens, toolUse, stopSequence, none

    var text: String? {
        switch self {
        case .endTurn: return "end_turn"
        case .maxTokens: return "max_tokens"
        case .toolUse: return "tool_use"
        case .stopSequence: return "stop_sequence"
        case .none: return nil
        }
    }
}

/// Shared, read-only context every account's generator needs.
struct SimulationContext: Sendable {
    let scenarioStart: Int64
    let modelRelease: Int64
    let network: NetworkCatalog
    /// Hourly weights per rhythm, normalised to mean 1, and their maxima.
    let rhythms: [WeeklyRhythm: (weights: [Double], max: Double)]
    /// Write answer text (`response`) for served exchanges (``ResponseGrammar``).
    var responses = false
}

/// One account's traffic generator: an independent, seeded process that yields its
/// exchanges in arrival order. Accounts share nothing mutable, so the merged stream is
/// deterministic for a seed however it is consumed.
///
/// - Complexity: O(1) amortised per exchange (thinning draws a bounded expected number of
///   candidates per session), plus the length of the prompt text.
struct SimulatedAccount: Sendable {
    let accountID: String
    let persona: Persona
    var profile: PersonaProfile
    let campaignSeed: UInt64
    let unitSeed: UInt64
    let indexInGroup: Int
    let groupCount: Int
    let indexInUnit: Int

    var timing: SplitMix64
    var content: SplitMix64
    let activeFrom: Int64
    let activeUntil: Int64
    /// Mean session starts per millisecond at rhythm weight 1.
    var sessionRate: Double
    var meanSessionLength: Double
    var gapMedianMilliseconds: Double
    let utcOffsetHours: Int
    var rhythmWeights: [Double]
    var rhythmMax: Double

    var sessionRemaining = 0
    var sessionStep = 0
    var sessionTaskSet: UInt64 = 0
    var backgroundCandidate: Int64 = -1
    /// Time of the last session start in the session process (may lag the account's clock
    /// when sessions queue up back to back).
    var sessionClock: Int64 = .min
    var pending = PlannedExchange()

    // Request configuration, fixed per account.
    let apiKeys: [String]
    var client: ClientSoftware
    let system: String?
    let temperature: Double?
    let maxTokens: Int
    let stream: Bool
    let newModelFinalShare: Double
    let declaredCountry: String
    let homeEndpoint: NetworkEndpoint
    let egress: [NetworkEndpoint]
    let batchInstruction: String
    let samplesPerItem: Int

    var stickyDay: Int64 = .min
    var stickyEndpoint: NetworkEndpoint
    var rateMinute: Int64 = .min
    var requestsThisMinute = 0
    var exchangeCount = 0

    // Round two (issue 16): end users, products' system prompts, batches, replays, leaks.
    /// System prompts of the products the account serves or relays (empty: `system` only).
    var productPrompts: [String] = []
    /// When the account's key leaks (`leaked-key`), and whether it has.
    var leakAt: Int64? = nil
    var leaked = false
    var lastRequestID: String? = nil
    var lastThinking = false
    /// Who sends the current session, for accounts of several people.
    var person = 0

    // MARK: Timing

    /// Local hour of the week (Monday 00:00 = 0) of an epoch time.
    func hourOfWeek(_ t: Int64) -> Int {
        // 1970-01-01 was a Thursday: 72 hours after a Monday midnight.
        let h = floorDivide(t, Timestamp.millisecondsPerHour) + Int64(utcOffsetHours) + 72
        return Int(((h % 168) + 168) % 168)
    }

    /// Next session start after `t` following the weekly rhythm (Lewis–Shedler thinning of
    /// an inhomogeneous Poisson process), or `nil` past the end of activity.
    mutating func nextRhythmicSession(after t: Int64) -> Int64? {
        var now = max(t, activeFrom)
        let peakRate = sessionRate * rhythmMax
        guard peakRate > 0 else { return nil }
        let meanWait = 1 / peakRate
        while true {
            now += Int64(timing.exponential(mean: meanWait)) + 1
            if now >= activeUntil { return nil }
            if timing.nextUnit() * rhythmMax < rhythmWeights[hourOfWeek(now)] { return now }
        }
    }

    /// Start of campaign wave `k` (shared by every account of the campaign).
    func waveStart(_ k: Int64, periodMilliseconds: Int64, context: SimulationContext) -> Int64 {
        var wave = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0x57A7E, UInt64(bitPattern: k)))
        return context.scenarioStart + k * periodMilliseconds + Int64(wave.nextUnit() * 0.3 * Double(periodMilliseconds))
    }

    /// Start of the class meeting on local day `day`, if the class meets that day.
    func meetingStart(onLocalDay day: Int64) -> Int64? {
        var unit = SplitMix64(seed: SplitMix64.seed(unitSeed, 0xC1A55))
        let first = unit.below(3)               // Mon, Tue or Wed
        let second = first + 2 + unit.below(2)  // two or three days later
        let hour = 9 + unit.below(8)
        let weekday = Int(((day + 3) % 7 + 7) % 7) // 1970-01-01 (day 0) was a Thursday (3)
        guard weekday == first || weekday == second else { return nil }
        return day * Timestamp.millisecondsPerDay + Int64(hour - utcOffsetHours) * Timestamp.millisecondsPerHour
    }

    /// When the account's next request arrives after the one at `t`, or `nil` when done.
    mutating func nextArrival(after t: Int64, context: SimulationContext) -> Int64? {
        let next = nextOrdinaryArrival(after: t, context: context)
        guard let leak = leakAt, !leaked, (next ?? .max) >= leak, leak < activeUntil else { return next }
        // The key leaks: 200 times the owner's volume, around the clock, from rotating
        // residential addresses, harvesting reasoning with a stock HTTP library.
        leaked = true
        let ownerDaily = sessionRate * meanSessionLength * Double(Timestamp.millisecondsPerDay)
        profile = PersonaProfile.afterLeak
        meanSessionLength = profile.meanSessionLength
        gapMedianMilliseconds = profile.gapMedianSeconds * 1000
        sessionRate = max(1, ownerDaily) * 200 / meanSessionLength / Double(Timestamp.millisecondsPerDay)
        rhythmWeights = [Double](repeating: 1, count: 168)
        rhythmMax = 1
        client = ClientCatalog.draw(family: "python-requests", &content)
        sessionRemaining = 0
        sessionClock = leak
        return nextOrdinaryArrival(after: max(t, leak), context: context)
    }

    mutating func nextOrdinaryArrival(after t: Int64, context: SimulationContext) -> Int64? {
        if sessionRemaining > 0 {
            sessionRemaining -= 1
            sessionStep += 1
            let gap = timing.logNormal(median: gapMedianMilliseconds, sigma: profile.gapSigma)
            let next = t + max(150, Int64(gap))
            return next < activeUntil ? next : nil
        }
        let start: Int64
        var length = meanSessionLength
        switch profile.schedule {
        case .random:
            // Session starts form their own Poisson process, independent of how long the
            // last session ran; one that falls due while another runs starts right after
            // it (a busy account works back to back), so volume stays as configured.
            guard let due = nextRhythmicSession(after: sessionClock) else { return nil }
            sessionClock = due
            start = max(due, t + max(150, Int64(timing.logNormal(median: gapMedianMilliseconds, sigma: profile.gapSigma))))
            if start >= activeUntil { return nil }
            sessionTaskSet = 0
        case .campaignWaves(let periodHours, _):
            let period = Int64(periodHours * Double(Timestamp.millisecondsPerHour))
            var k = max(0, (max(t, activeFrom) - context.scenarioStart) / period - 1)
            while true {
                let s = waveStart(k, periodMilliseconds: period, context: context)
                    + Int64(timing.exponential(mean: 45_000))
                k += 1
                if s <= t || s < activeFrom { continue }
                if s >= activeUntil { return nil }
                if timing.chance(0.9) { start = s; break }
            }
            sessionTaskSet = 0
        case .classMeetings:
            if backgroundCandidate <= t {
                backgroundCandidate = nextRhythmicSession(after: t) ?? .max
            }
            var meeting: Int64 = .max
            let localDay = floorDivide(t + Int64(utcOffsetHours) * Timestamp.millisecondsPerHour, Timestamp.millisecondsPerDay)
            for day in localDay...(localDay + 21) {
                guard let m = meetingStart(onLocalDay: day) else { continue }
                let joined = m + Int64(timing.exponential(mean: 150_000))
                if joined > t, joined >= activeFrom {
                    if timing.chance(0.85) { meeting = joined; break }
                }
            }
            if meeting < backgroundCandidate {
                start = meeting
                length = 10
                sessionTaskSet = SplitMix64.seed(unitSeed, 0x3EE7, UInt64(bitPattern: floorDivide(meeting, Timestamp.millisecondsPerDay)))
            } else {
                start = backgroundCandidate
                backgroundCandidate = -1
                let week = floorDivide(start, 7 * Timestamp.millisecondsPerDay)
                sessionTaskSet = SplitMix64.seed(unitSeed, 0x40E3, UInt64(bitPattern: week))
            }
            if start >= activeUntil { return nil }
        }
        sessionRemaining = timing.geometric(mean: length) - 1
        sessionStep = 0
        return start
    }

    // MARK: Planning

    static let outputMedians: [TaskKind: Double] = [
        .codingQuestion: 520, .agentStep: 220, .math: 380, .reasoningPuzzle: 450, .rubricGrading: 180,
        .sensitiveRewrite: 90, .mundaneChat: 300, .documentExtraction: 160, .supportMessage: 130,
        .benchmarkMath: 420, .benchmarkCoding: 260, .translation: 150, .harnessTask: 900,
    ]

    /// Plans the exchange arriving at `arrival`: task, tokens, status and latency.
    mutating func plan(arrival: Int64) {
        var p = PlannedExchange()
        p.arrival = arrival
        p.sessionStep = Int16(clamping: sessionStep)
        p.kind = profile.taskMix[timing.weightedIndex(profile.taskWeights)]
        let minute = arrival / Timestamp.millisecondsPerMinute
        if minute != rateMinute { rateMinute = minute; requestsThisMinute = 0 }
        requestsThisMinute += 1
        if requestsThisMinute > profile.requestsPerMinute {
            p.status = 429
            p.finish = .none
            p.latencyMilliseconds = Int32(5 + timing.below(40))
            pending = p
            return
        }
        if timing.chance(0.001) {
            p.status = timing.chance(0.5) ? 500 : 529
            p.finish = .none
            p.latencyMilliseconds = Int32(200 + timing.below(30_000))
            pending = p
            return
        }
        if profile.embeddingsShare > 0, timing.chance(profile.embeddingsShare) {
            p.embeddings = true
            p.finish = .none
            p.latencyMilliseconds = Int32(40 + timing.below(200))
            pending = p
            return
        }
        p.thinking = timing.chance(profile.thinkingShare)
        var output = timing.logNormal(median: SimulatedAccount.outputMedians[p.kind] ?? 300, sigma: 0.7)
        var reasoning = p.thinking ? timing.logNormal(median: 1100, sigma: 0.8) : 0
        p.finish = .endTurn
        if profile.agentic, p.kind == .agentStep, timing.chance(0.6) { p.finish = .toolUse; output *= 0.5 }
        else if timing.chance(0.01) { p.finish = .stopSequence }
        reasoning = reasoning.rounded()
        output = max(1, output.rounded())
        if output + reasoning > Double(maxTokens) {
            reasoning = min(reasoning, Double(maxTokens) * 0.7)
            output = Double(maxTokens) - reasoning
            p.finish = .maxTokens
        }
        p.outputTokens = Int32(output)
        p.reasoningTokens = Int32(reasoning)
        let perToken = timing.logNormal(median: 14, sigma: 0.25)
        let firstToken = timing.logNormal(median: 550, sigma: 0.5)
        p.latencyMilliseconds = Int32(min(180_000, firstToken + (output + reasoning) * perToken))
        pending = p
    }

    // MARK: Rendering

    func newModelShare(at t: Int64, context: SimulationContext) -> Double {
        guard t >= context.modelRelease else { return 0 }
        let hours = Double(t - context.modelRelease) / Double(Timestamp.millisecondsPerHour)
        switch profile.adoption {
        case .gradual: return newModelFinalShare * (1 - exp(-hours / (24 * 7)))
        case .fast(let h): return 0.5 * min(1, hours / h)
        }
    }

    mutating func endpoint(at t: Int64, context: SimulationContext) -> NetworkEndpoint {
        switch profile.network {
        case .home:
            if content.chance(0.03) {
                let n = context.network.drawResidentialNetwork(in: declaredCountry, &content)
                return context.network.address(in: context.network.residential[n], ipv6Share: 0.3, &content)
            }
            return homeEndpoint
        case .cloudEgress, .campaignVPS:
            return egress[content.below(egress.count)]
        case .campusNAT:
            return homeEndpoint
        case .rotatingResidential:
            let n = context.network.drawResidentialNetwork(in: nil, &content)
            return context.network.address(in: context.network.residential[n], ipv6Share: profile.ipv6Share, &content)
        case .people:
            if pending.sessionStep == 0 || stickyDay == .min {
                stickyDay = 0
                // The holder in a seventh of sessions (a resold key's owner), the others alike.
                person = content.chance(1.0 / 7) ? 0 : 1 + content.below(max(1, egress.count - 1))
                stickyEndpoint = egress[min(person, egress.count - 1)]
            }
            return stickyEndpoint
        case .campaignStickyPool:
            if pending.sessionStep == 0 || stickyDay == .min {
                stickyDay = 0
                stickyEndpoint = egress[content.below(egress.count)]
            }
            return stickyEndpoint
        case .stickyResidentialDaily:
            let day = floorDivide(t, Timestamp.millisecondsPerDay)
            if day != stickyDay {
                stickyDay = day
                let n = context.network.drawResidentialNetwork(in: declaredCountry, &content)
                stickyEndpoint = context.network.address(in: context.network.residential[n], ipv6Share: profile.ipv6Share, &content)
            }
            return stickyEndpoint
        }
    }

    /// Seed of the task the pending exchange asks for.
    mutating func taskSeed(for plan: PlannedExchange) -> UInt64 {
        switch persona {
        case .lowAndSlow where plan.kind != .mundaneChat:
            // The campaign's task list is dealt out round-robin: no two accounts share a task
            // (camouflage chat is not on the list).
            return SplitMix64.seed(campaignSeed, 0x7A5C, UInt64(indexInGroup + exchangeCount * groupCount))
        case .universityClass where sessionTaskSet != 0 && content.chance(0.7):
            return SplitMix64.seed(sessionTaskSet, UInt64(content.below(6)))
        case .evaluationTeam:
            // Benchmarks sample each item several times.
            return SplitMix64.seed(unitSeed, 0xE7A1, UInt64(exchangeCount / samplesPerItem))
        default:
            return content.next()
        }
    }

    /// Builds the full exchange for the pending plan and advances to the next one.
    /// - Complexity: O(length of the prompt).
    mutating func render(context: SimulationContext) -> Exchange {
        let p = pending
        let time = Timestamp(millisecondsSinceEpoch: p.arrival)
        var e = Exchange(time: time, accountID: accountID)
        if case .foreign = profile.replay {
            // Derivable ids, so that other accounts of the campaign can send blocks back.
            e.requestID = Self.campaignRequestID(campaignSeed, account: indexInGroup, exchange: exchangeCount)
        } else {
            e.requestID = "req_" + content.hex(24)
        }
        e.apiKeyID = apiKeys.count == 1 ? apiKeys[0] : apiKeys[content.below(apiKeys.count)]
        let endpoint = endpoint(at: p.arrival, context: context)
        switch persona {
        case .leakedKey:
            // The owner's main key (the one that leaks) and a second one used now and then.
            e.apiKeyID = apiKeys[leaked || content.chance(0.7) ? 1 : 0]
        case .resoldKey: e.apiKeyID = apiKeys[person == 0 ? 0 : 1]
        default: break
        }
        e.clientIP = endpoint.address
        e.asn = endpoint.asn
        e.country = endpoint.country
        e.userAgent = client.userAgent
        e.clientFingerprint = client.fingerprint
        e.status = p.status == 200 ? nil : Int(p.status)
        e.latencyMilliseconds = Double(p.latencyMilliseconds)
        defer { exchangeCount += 1 }

        if p.embeddings {
            e.model = SimulatedModels.embeddings
            e.operation = "embeddings"
            let text = PromptGrammar.prompt(.documentExtraction, task: content.next(), phrasing: &content)
            e.inputTokens = text.utf8.count / 4
            e.outputTokens = 0
            e.costUSD = SimulatedModels.cost(model: e.model, input: e.inputTokens ?? 0, output: 0)
            return e
        }
        let newShare = newModelShare(at: p.arrival, context: context)
        if newShare > 0, content.chance(newShare) {
            e.model = SimulatedModels.newModel
        } else {
            e.model = content.chance(profile.flagshipShare) ? SimulatedModels.flagship : SimulatedModels.small
        }
        e.operation = "chat"
        e.maxTokens = maxTokens
        e.temperature = temperature
        e.stream = stream
        e.thinking = p.thinking
        e.system = system
        if !productPrompts.isEmpty {
            // Popular products more often than rare ones.
            let u = content.nextUnit()
            e.system = productPrompts[min(productPrompts.count - 1, Int(u * u * Double(productPrompts.count)))]
        }
        if profile.endUsers > 0 {
            let u = content.nextUnit()
            let user = Int(u * u * Double(profile.endUsers))
            e.endUserID = "user_" + String(SplitMix64.seed(unitSeed ^ 0xE2D, UInt64(user)) >> 16, radix: 16)
        }
        if profile.batchAPI {
            e.batchID = "batch_" + String(SplitMix64.seed(unitSeed ^ 0xBA7C, UInt64(bitPattern: floorDivide(p.arrival, Timestamp.millisecondsPerDay))) >> 24, radix: 16)
        }
        switch profile.replay {
        case .none: break
        case .ownConversation:
            if p.sessionStep > 0, p.thinking, lastThinking { e.reasoningReplayOf = lastRequestID }
        case .foreign(let share):
            if groupCount > 1, exchangeCount > 4, content.chance(share) {
                let other = (indexInGroup + 1 + content.below(groupCount - 1)) % groupCount
                e.reasoningReplayOf = Self.campaignRequestID(campaignSeed, account: other, exchange: content.below(exchangeCount / 2))
            }
        }
        lastRequestID = e.requestID
        lastThinking = p.thinking && p.status == 200

        let task = taskSeed(for: p)
        var prompt: String
        if persona == .evaluationTeam {
            // A benchmark item re-sampled is the same prompt, word for word.
            var item = SplitMix64(seed: task ^ 0x5A3)
            let kind = profile.taskMix[item.weightedIndex(profile.taskWeights)]
            prompt = PromptGrammar.prompt(kind, task: task, phrasing: &item)
            if kind != .benchmarkMath, item.chance(profile.chainOfThoughtSuffixShare) {
                prompt += " " + PromptGrammar.reasoningRequest(&item)
            }
        } else if p.kind == .harnessTask {
            // The account's own wording of the operator's template, fixed for the account.
            var wording = SplitMix64(seed: SplitMix64.seed(campaignSeed, 0x4A55, UInt64(truncatingIfNeeded: accountID.hashValueStable)))
            prompt = PromptGrammar.harnessTask(task: task, wording: &wording)
        } else if persona == .enterpriseBatch {
            prompt = batchInstruction + "\n\n" + PromptGrammar.prompt(.documentExtraction, task: task, phrasing: &content)
        } else {
            prompt = PromptGrammar.prompt(p.kind, task: task, phrasing: &content)
        }
        if persona != .evaluationTeam, profile.chainOfThoughtSuffixShare > 0, p.kind != .benchmarkMath,
           content.chance(profile.chainOfThoughtSuffixShare) {
            prompt += " " + PromptGrammar.reasoningRequest(&content)
        }
        e.prompt = prompt
        if context.responses, p.status == 200, !p.embeddings {
            // About 0.75 words a token, at most 400 words (long answers are cut, not invented).
            let words = min(400, max(20, (Int(p.outputTokens) * 3) / 4))
            e.response = ResponseGrammar.answer(p.kind, task: task, seed: SplitMix64.seed(campaignSeed ^ 0x5E5,
                                                UInt64(truncatingIfNeeded: (e.requestID ?? accountID).hashValueStable)), words: words)
        }

        let step = Int(p.sessionStep)
        let messages: Int
        if profile.agentic {
            messages = 1 + 2 * min(step, 60)
            e.toolCount = profile.toolCounts.map { content.int(in: $0) }
        } else {
            switch persona {
            case .individualDeveloper, .lowAndSlow, .universityClass:
                messages = content.chance(0.5) ? 1 + 2 * min(step, 12) : 1
            case .productBackend, .appPlatform:
                messages = 1 + 2 * content.below(4)
            case .consumerChatProduct:
                messages = 1 + 2 * content.below(6)
            default:
                messages = 1
            }
        }
        e.messageCount = messages
        var input = prompt.utf8.count / 4 + (system?.utf8.count ?? 0) / 4 + 8
        if messages > 1 { input += (messages - 1) * (150 + content.below(450)) }
        if let tools = e.toolCount { input += tools * 180 }
        e.inputTokens = input
        if p.status == 200 {
            e.outputTokens = Int(p.outputTokens)
            if p.thinking { e.reasoningTokens = Int(p.reasoningTokens) }
            e.finishReason = p.finish.text
        } else {
            e.outputTokens = 0
        }
        e.costUSD = SimulatedModels.cost(model: e.model, input: e.inputTokens ?? 0, output: (e.outputTokens ?? 0) + (e.reasoningTokens ?? 0))
        return e
    }

    /// The request id of exchange `exchange` of account `account` in a campaign whose
    /// request ids are derivable (`reasoning-replay`).
    static func campaignRequestID(_ campaignSeed: UInt64, account: Int, exchange: Int) -> String {
        let h = SplitMix64.seed(campaignSeed, 0x2E9, UInt64(account), UInt64(exchange))
        let text = String(h, radix: 16)
        return "req_" + String(repeating: "0", count: 16 - text.count) + text
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: the same in every process (Swift's `hashValue` is seeded).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
