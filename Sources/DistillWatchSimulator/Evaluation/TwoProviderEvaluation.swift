import DistillWatchCore
import DistillWatchSharing
import Foundation

/// Provider A finds a campaign, an analyst approves it, A publishes a STIX bundle; provider
/// B, which the same operator reached later, imports it. How much sooner does B stop the
/// operator's accounts, and which of B's honest customers do A's indicators hurt?
///
/// The ``Scenario/twoProvider`` world is split between the two providers by a hash of the
/// account id; the operator's accounts at B start on day 4. Each provider sketches prompts
/// under its own content key and under one sharing key they agreed. A's indicators come
/// from A's traffic up to the publication time only (A's first flag of the campaign plus
/// ``approvalDelayHours``), go through the real path (``STIXBundleBuilder`` → JSON →
/// ``STIXBundleReader``), and reach B's engine at publication time, as a pulled feed would.
public enum TwoProviderEvaluation {
    public static let approvalDelayHours = 4.0
    public static let operatorArrivalDayAtB = 4.0
    /// The label that marks the operator's accounts at B (``Scenario/twoProvider``).
    public static let campaignAtB = "cross-provider-1 at B"

    public struct Report: Sendable, Codable, Equatable {
        public var scale: Double
        public var seed: UInt64
        public var exchangesA: Int
        public var exchangesB: Int
        /// A's first flag of the operator's campaign, and when A published (after approval).
        public var firstFlagAtA: String?
        public var publishedAt: String?
        public var bundleObjects: Int
        /// Indicators in the bundle, by kind, and the comparisons B's engine matches.
        public var indicators: [String: Int]
        public var comparisons: Int
        public var operatorAccountsAtB: Int
        public var operatorExchangesAtB: Int
        /// Exchanges B served the operator's accounts before flagging them (unflagged
        /// accounts count all their exchanges), without and with A's indicators.
        public var servedBeforeFlagWithout: Int
        public var servedBeforeFlagWith: Int
        /// Of them, exchanges served after A published.
        public var servedAfterPublicationWithout: Int
        public var servedAfterPublicationWith: Int
        public var flaggedWithout: Int
        public var flaggedWith: Int
        public var honestAccountsAtB: Int
        public var honestFlaggedWithout: Int
        public var honestFlaggedWith: Int
        /// Honest accounts flagged only with A's indicators, and honest accounts whose
        /// traffic matched an indicator at all (shared exits, networks, user agents).
        public var falsePositivesCausedByIndicators: Int
        public var honestAccountsMatchingIndicators: Int
        /// Of them, accounts whose prompts matched (a keyed template family or system prompt).
        public var honestAccountsMatchingByPrompt = 0
        /// The `shared_indicator` detail of each honest account flagged because of A's indicators.
        public var falsePositiveDetails: [String] = []
        public var seconds: Double

        public var reduction: Double {
            servedBeforeFlagWith == 0 ? .infinity : Double(servedBeforeFlagWithout) / Double(servedBeforeFlagWith)
        }
    }

    /// Which provider serves an honest account: half of them, by a stable hash of the id.
    static func honestAtB(_ accountID: String) -> Bool {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in accountID.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        return (h ^ (h >> 33)) & 1 == 1
    }

    /// - Complexity: O(exchanges) time; the sketched traffic of both providers is held in
    ///   memory (about 1.2 kB per exchange).
    public static func run(scale: Double, seed: UInt64 = 1, policy: Policy = .default) -> Report {
        let started = Date()
        let plan = ScenarioPlan(scenario: .twoProvider, scale: scale, seed: seed)
        let attack = Set(plan.labels.filter { $0.label == .attack }.map(\.accountID))
        let operatorAtB = Set(plan.labels.filter { $0.campaign == campaignAtB }.map(\.accountID))
        func atB(_ id: String) -> Bool { attack.contains(id) ? operatorAtB.contains(id) : honestAtB(id) }
        let sharing = SharingKey(id: "provider-a-b-eval", secretHex: "5eed0f1e2d3c4b5a69788796a5b4c3d2")!
        let sketcherA = ContentSketcher(key: ContentKey(k0: 0xA, k1: seed), sharingKeys: [sharing])
        let sketcherB = ContentSketcher(key: ContentKey(k0: 0xB, k1: seed), sharingKeys: [sharing])
        let arrivalAtB = plan.scenario.start.adding(milliseconds: Int64(operatorArrivalDayAtB * Double(Timestamp.millisecondsPerDay)))

        var trafficA: [Exchange] = [], trafficB: [Exchange] = []
        var stream = plan.makeTraffic()
        while let e = stream.next() {
            if atB(e.accountID) {
                if attack.contains(e.accountID), e.time < arrivalAtB { continue }
                trafficB.append(e.sketched(by: sketcherB))
            } else {
                trafficA.append(e.sketched(by: sketcherA))
            }
        }
        let recordsA = plan.accounts.filter { !atB($0.accountID) }
        let recordsB = plan.accounts.filter { atB($0.accountID) }

        // Provider A: scan, find the operator's campaign, publish after approval.
        var scannerA = TrafficScanner(policy: policy)
        for r in recordsA { scannerA.register(r) }
        for e in trafficA { scannerA.observe(e) }
        let reportA = scannerA.finish(generatedAt: plan.scenario.end)
        let operatorCampaigns = reportA.campaigns.filter { c in
            (c.verdict ?? .review).isFlagged && c.firstFlaggedAt != nil
                && Double(c.accounts.filter(attack.contains).count) >= 0.5 * Double(c.accounts.count)
        }
        var report = Report(
            scale: scale, seed: seed, exchangesA: trafficA.count, exchangesB: trafficB.count, bundleObjects: 0, indicators: [:],
            comparisons: 0, operatorAccountsAtB: 0, operatorExchangesAtB: 0, servedBeforeFlagWithout: 0, servedBeforeFlagWith: 0,
            servedAfterPublicationWithout: 0, servedAfterPublicationWith: 0, flaggedWithout: 0, flaggedWith: 0,
            honestAccountsAtB: 0, honestFlaggedWithout: 0, honestFlaggedWith: 0, falsePositivesCausedByIndicators: 0,
            honestAccountsMatchingIndicators: 0, seconds: 0)
        var indicatorSet = SharedIndicatorSet()
        var published: Timestamp?
        if let firstFlag = operatorCampaigns.compactMap(\.firstFlaggedAt).min() {
            let publishAt = firstFlag.adding(seconds: approvalDelayHours * 3600)
            published = publishAt
            report.firstFlagAtA = firstFlag.rfc3339
            report.publishedAt = publishAt.rfc3339
            // What A knew at publication: its traffic up to then.
            var collector = CampaignObservablesCollector(
                membership: Dictionary(uniqueKeysWithValues: operatorCampaigns.map { ($0.campaignID, Set($0.accounts)) }),
                sharingKeys: [sharing])
            for r in recordsA { collector.noteMember(r, at: plan.scenario.start) }
            for e in trafficA where e.time <= publishAt { collector.noteMember(e) }
            for e in trafficA where e.time <= publishAt { collector.noteOutsider(e) }
            for r in recordsA { collector.noteOutsider(r) }
            let profile = SharingProfile(producer: "Provider A")
            let drafts = operatorCampaigns.map {
                IndicatorSelection.select(collector.campaigns[$0.campaignID]!, campaign: $0, policy: profile.selection)
            }
            for d in drafts { for i in d.indicators { report.indicators[i.kind.label, default: 0] += 1 } }
            let bundle = STIXBundleBuilder(profile: profile, now: publishAt).bundle(drafts)
            report.bundleObjects = (bundle["objects"] as? [Any])?.count ?? 0
            if let data = try? JSONSerialization.data(withJSONObject: bundle), let read = try? STIXBundleReader().read(data) {
                var library = SharedIndicatorLibrary()
                library.add(read)
                indicatorSet = library.indicatorSet(sharingKeys: [sharing])
                report.comparisons = library.indicators.reduce(0) { $0 + $1.comparisons.count }
            }
        }

        // Provider B, without and with A's indicators (installed when A published).
        func scanB(with set: SharedIndicatorSet?) -> (ScanReport, TrafficScanner) {
            var scanner = TrafficScanner(policy: policy)
            for r in recordsB { scanner.register(r) }
            var installed = false
            for e in trafficB {
                if let set, !installed, let published, e.time >= published {
                    scanner.replaceSharedIndicators(set)
                    installed = true
                }
                scanner.observe(e)
            }
            return (scanner.finish(generatedAt: plan.scenario.end), scanner)
        }
        let (without, _) = scanB(with: nil)
        let (with, scannerWith) = scanB(with: indicatorSet.isEmpty ? nil : indicatorSet)

        var exchangesByAccount: [String: Int] = [:]
        var afterPublication: [String: Int] = [:]
        for e in trafficB {
            exchangesByAccount[e.accountID, default: 0] += 1
            if let published, e.time >= published { afterPublication[e.accountID, default: 0] += 1 }
        }
        func outcome(_ r: ScanReport) -> [String: ScanReport.Account] {
            Dictionary(r.accounts.map { ($0.accountID, $0) }, uniquingKeysWith: { a, _ in a })
        }
        let (o0, o1) = (outcome(without), outcome(with))
        let accountsAtB = Set(exchangesByAccount.keys)
        for id in accountsAtB {
            let total = exchangesByAccount[id]!
            let after = afterPublication[id] ?? 0
            func served(_ a: ScanReport.Account?) -> (Int, Int, Bool) {
                guard let a, a.verdict.isFlagged, let before = a.exchangesBeforeFlag else { return (total, after, false) }
                // Exchanges before the flag that came after publication.
                return (before, max(0, before - (total - after)), true)
            }
            if attack.contains(id) {
                report.operatorAccountsAtB += 1
                report.operatorExchangesAtB += total
                let (s0, a0, f0) = served(o0[id]), (s1, a1, f1) = served(o1[id])
                report.servedBeforeFlagWithout += s0
                report.servedBeforeFlagWith += s1
                report.servedAfterPublicationWithout += a0
                report.servedAfterPublicationWith += a1
                report.flaggedWithout += f0 ? 1 : 0
                report.flaggedWith += f1 ? 1 : 0
            } else {
                report.honestAccountsAtB += 1
                let f0 = o0[id]?.verdict.isFlagged == true, f1 = o1[id]?.verdict.isFlagged == true
                report.honestFlaggedWithout += f0 ? 1 : 0
                report.honestFlaggedWith += f1 ? 1 : 0
                if f1 && !f0 {
                    report.falsePositivesCausedByIndicators += 1
                    let detail = scannerWith.engine.readings(for: id).first { $0.kind == .sharedIndicator }?.detail ?? ""
                    report.falsePositiveDetails.append("\(id): \(detail)")
                }
                if let reading = scannerWith.engine.readings(for: id).first(where: { $0.kind == .sharedIndicator && $0.value > 0 }) {
                    report.honestAccountsMatchingIndicators += 1
                    if reading.detail.contains("by prompt") { report.honestAccountsMatchingByPrompt += 1 }
                }
            }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}

extension TwoProviderEvaluation.Report {
    /// The table Documentation/Sharing.md shows.
    public var markdown: String {
        func n(_ v: Int) -> String { v.formatted(.number.grouping(.automatic)) }
        let kinds = indicators.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return """
        | two-provider, scale \(scale), seed \(seed) | without A's indicators | with A's indicators |
        |---|---:|---:|
        | B's exchanges served to the operator before each account was flagged | \(n(servedBeforeFlagWithout)) | \(n(servedBeforeFlagWith)) |
        | of them, after A published | \(n(servedAfterPublicationWithout)) | \(n(servedAfterPublicationWith)) |
        | operator accounts at B flagged (of \(n(operatorAccountsAtB))) | \(n(flaggedWithout)) | \(n(flaggedWith)) |
        | honest accounts at B flagged (of \(n(honestAccountsAtB))) | \(n(honestFlaggedWithout)) | \(n(honestFlaggedWith)) |
        | honest accounts at B flagged because of A's indicators | | \(n(falsePositivesCausedByIndicators)) |
        | honest accounts at B whose traffic matched an indicator | | \(n(honestAccountsMatchingIndicators)) |
        | of them, by their prompts (keyed template or system prompt) | | \(n(honestAccountsMatchingByPrompt)) |

        Served-before-flag with A's indicators: \(String(format: "%.1f", reduction))× lower. A flagged the campaign at \
        \(firstFlagAtA ?? "never") and published at \(publishedAt ?? "never") (\(n(bundleObjects)) STIX objects; indicators: \
        \(kinds.isEmpty ? "none" : kinds); \(n(comparisons)) comparisons). Traffic: A \(n(exchangesA)) exchanges, B \(n(exchangesB)) \
        (\(n(operatorExchangesAtB)) from the operator).
        """
    }
}
