@testable import DistillWatchCore

/// Builders for linkage tests: populations of accounts with the attributes a campaign or
/// a hard negative shares, and their traffic in time order.
struct Population {
    var records: [AccountRecord] = []
    var exchanges: [Exchange] = []

    mutating func add(_ other: Population) {
        records += other.records
        exchanges += other.exchanges
    }

    /// All exchanges in time order (stable for equal times).
    var timeOrdered: [Exchange] {
        exchanges.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    /// Runs the population through a fresh engine.
    func run(policy: Policy = .default) -> DetectionEngine {
        var engine = DetectionEngine(policy: policy)
        for r in records { engine.register(r) }
        for e in timeOrdered { engine.observe(e) }
        return engine
    }

    /// A hydra: `accounts` unverified free accounts paying with `cards` shared cards, each
    /// request from a new residential-proxy address in a pool of 40 networks and 8
    /// countries, around the clock. `camouflage` of requests are ordinary chat.
    static func hydra(prefix: String = "hydra", accounts: Int, cards: Int, start: Timestamp, hours: Int,
                      perHour: Double = 20, camouflage: Double = 0, seed: UInt64 = 1,
                      firstAccountAfterHours: Double = 0) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        let countries = ["US", "BR", "IN", "DE", "VN", "ID", "TR", "MX"]
        for k in 0..<accounts {
            let id = "\(prefix)-\(k)"
            let opened = start.adding(seconds: -86_400 + Double(k % 7) * 60)
            p.records.append(AccountRecord(accountID: id, created: opened, tier: "free",
                                           paymentFingerprint: "\(prefix)-card-\(k % cards)",
                                           emailDomain: "gmail.com", verified: false))
            var t = start.adding(seconds: firstAccountAfterHours * 3_600 + rng.nextUnit() * 600)
            let end = start.adding(seconds: Double(hours) * 3_600)
            while t < end {
                let asn = 64_500 + rng.below(40)
                var e = Exchange(time: t, accountID: id, model: "model-a", outputTokens: 2_000, maxTokens: 16_000,
                                 thinking: true, toolCount: 8, messageCount: 1)
                if rng.chance(camouflage) {
                    e.maxTokens = 1_024
                    e.temperature = 0.7
                    e.thinking = false
                    e.toolCount = 0
                    e.outputTokens = 200
                }
                e.clientIP = "100.\(asn % 200).\(rng.below(256)).\(1 + rng.below(250))"
                e.asn = asn
                e.country = countries[rng.below(countries.count)]
                e.userAgent = "python-httpx/0.27.\(rng.below(2))"
                p.exchanges.append(e)
                t = t.adding(seconds: 3_600 / perHour * (0.5 + rng.nextUnit()))
            }
        }
        return p
    }

    /// Individual developers: own card, common mail, one home address, office hours.
    static func developers(count: Int, start: Timestamp, days: Int, seed: UInt64 = 2) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        for k in 0..<count {
            let id = "dev-\(k)"
            p.records.append(AccountRecord(accountID: id, created: start.adding(seconds: -Double(50 + k) * 86_400),
                                           tier: "standard", paymentFingerprint: "dev-card-\(k)",
                                           emailDomain: "gmail.com"))
            let ip = "81.\(k % 250).\(rng.below(256)).\(1 + rng.below(250))"
            for day in 0..<days {
                var t = start.adding(seconds: Double(day) * 86_400 + 9 * 3_600 + rng.nextUnit() * 3_600)
                for _ in 0..<(5 + rng.below(10)) {
                    var e = exchange(id, at: t, output: 600, maxTokens: 4_096, temperature: 0.2)
                    e.clientIP = ip
                    e.asn = 3_320 + k % 5
                    e.country = "DE"
                    e.userAgent = "anthropic-python/0.40.\(k % 3)"
                    p.exchanges.append(e)
                    t = t.adding(seconds: 60 + rng.nextUnit() * 900)
                }
            }
        }
        return p
    }

    /// A university class: every student behind one campus NAT address, one card and one
    /// .edu domain, accounts opened in the same two days, working together in two weekly
    /// meetings and alone in the evenings.
    static func universityClass(name: String, students: Int, natAddress: String, start: Timestamp, days: Int,
                                seed: UInt64) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        for k in 0..<students {
            let id = "\(name)-student-\(k)"
            p.records.append(AccountRecord(
                accountID: id, created: start.adding(seconds: -30 * 86_400 + rng.nextUnit() * 172_800),
                tier: "education", paymentFingerprint: "\(name)-university-card",
                emailDomain: "\(name)-university.edu", verified: true))
        }
        for day in 0..<days {
            let meeting = day % 7 == 1 || day % 7 == 3
            for k in 0..<students {
                let id = "\(name)-student-\(k)"
                let base = start.adding(seconds: Double(day) * 86_400)
                var times: [Timestamp] = []
                if meeting {
                    for m in 0..<8 { times.append(base.adding(seconds: 14 * 3_600 + Double(m) * 300 + rng.nextUnit() * 120)) }
                }
                if rng.chance(0.5) {
                    var t = base.adding(seconds: 19 * 3_600 + rng.nextUnit() * 4 * 3_600)
                    for _ in 0..<(2 + rng.below(6)) {
                        times.append(t)
                        t = t.adding(seconds: 60 + rng.nextUnit() * 300)
                    }
                }
                for t in times {
                    var e = exchange(id, at: t, output: 400, maxTokens: 2_048)
                    e.clientIP = natAddress
                    e.asn = 2_200
                    e.country = "FR"
                    e.userAgent = "anthropic-python/0.40.1"
                    p.exchanges.append(e)
                }
            }
        }
        return p
    }

    /// A startup's three environments (prod, staging, dev) on one card and one company
    /// domain, each with its own egress address in a /24 of one cloud region that other
    /// startups share, busy in office hours.
    static func startup(name: String, index: Int, start: Timestamp, days: Int, seed: UInt64) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        for (k, env) in ["prod", "staging", "dev"].enumerated() {
            let id = "\(name)-\(env)"
            p.records.append(AccountRecord(accountID: id, created: start.adding(seconds: -Double(90 + 40 * index) * 86_400 + Double(k) * 600),
                                           tier: "startup", paymentFingerprint: "\(name)-card",
                                           emailDomain: "\(name).io", verified: true))
            let ip = "34.90.1.\(10 * index + k)"
            for day in 0..<days {
                var t = start.adding(seconds: Double(day) * 86_400 + 8 * 3_600 + rng.nextUnit() * 3_600)
                let end = start.adding(seconds: Double(day) * 86_400 + 18 * 3_600)
                while t < end {
                    var e = exchange(id, at: t, output: 300, maxTokens: rng.chance(0.5) ? 2_048 : 4_096,
                                     temperature: rng.chance(0.5) ? 0.2 : 0.7)
                    e.clientIP = ip
                    e.asn = 15_169
                    e.country = "NL"
                    p.exchanges.append(e)
                    t = t.adding(seconds: 120 + rng.exponential(mean: 600))
                }
            }
        }
        return p
    }

    /// Unrelated product back ends in one cloud region (addresses share /24s), busy all day.
    static func productBackends(count: Int, start: Timestamp, days: Int, seed: UInt64) -> Population {
        var rng = SeededGenerator(seed: seed)
        var p = Population()
        for k in 0..<count {
            let id = "backend-\(k)"
            p.records.append(AccountRecord(accountID: id, created: start.adding(seconds: -200 * 86_400),
                                           tier: "enterprise", paymentFingerprint: "backend-card-\(k)",
                                           emailDomain: "company\(k).com", verified: true))
            let ip = "52.14.\(rng.below(3)).\(1 + rng.below(250))"
            var t = start.adding(seconds: rng.nextUnit() * 60)
            let end = start.adding(seconds: Double(days) * 86_400)
            while t < end {
                var e = exchange(id, at: t, output: 300, maxTokens: 1_024, temperature: 0.5)
                e.clientIP = ip
                e.asn = 16_509
                e.country = "US"
                e.userAgent = "aws-sdk-go/1.5"
                p.exchanges.append(e)
                t = t.adding(seconds: 20 + rng.nextUnit() * 40)
            }
        }
        return p
    }
}

extension DetectionEngine {
    /// Whether two accounts are in one linked group.
    func linked(_ a: String, _ b: String) -> Bool {
        guard let i = slot(ofAccount: a), let j = slot(ofAccount: b) else { return false }
        return linkage.root(of: i) == linkage.root(of: j)
    }

    /// The evidence kinds recorded between members of `account`'s group.
    func groupEvidence(of account: String) -> Set<LinkEvidenceKind> {
        guard let i = slot(ofAccount: account), let g = linkage.groups[linkage.root(of: i)] else { return [] }
        return Set(LinkEvidenceKind.all.filter { g.pairKinds[$0.ordinal] > 0 })
    }

    /// Sizes of the linked groups the accounts with `prefix` fall in.
    func groupSizes(ofAccountsWithPrefix prefix: String) -> [Int32: Int] {
        var sizes: [Int32: Int] = [:]
        for (i, id) in accountIDs.enumerated() where id.hasPrefix(prefix) { sizes[linkage.root(of: Int32(i)), default: 0] += 1 }
        return sizes
    }
}
