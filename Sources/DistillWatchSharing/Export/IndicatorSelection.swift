import DistillWatchCore

/// How long each kind of evidence stays worth matching after it was last seen: the
/// `valid_until` an indicator gets is `last seen + lifetime` (Documentation/Sharing.md,
/// "Lifetimes"). An exit of a residential proxy pool is someone's home connection again
/// within hours; a harness's prompt templates and a throwaway sign-up domain last months.
public struct IndicatorLifetimes: Sendable, Equatable {
    public var proxyPoolAddressHours: Double = 12
    public var hostingAddressHours: Double = 7 * 24
    public var subnetHours: Double = 14 * 24
    public var autonomousSystemHours: Double = 30 * 24
    public var userAgentHours: Double = 30 * 24
    public var clientFingerprintHours: Double = 60 * 24
    public var templateFamilyHours: Double = 90 * 24
    public var systemPromptHours: Double = 90 * 24
    public var emailDomainHours: Double = 180 * 24

    public init() {}
}

/// Which of a campaign's observables may be published, and the thresholds that decide it.
///
/// A value is shared only when the campaign's members used it and the provider's other
/// accounts did not (an address, network, client or template honest customers share would
/// hurt them at the recipient), and, for values that identify tooling, when several
/// members used it (one account's quirk is not the operator's).
public struct IndicatorSelectionPolicy: Sendable, Equatable {
    public var lifetimes = IndicatorLifetimes()
    /// Template band values: used by at least this many member accounts...
    public var templateBandMinimumAccounts = 3
    /// ...in at least this share of the members' fingerprinted prompts...
    public var templateBandMinimumShare = 0.02
    /// ...and at most this many per sharing key (the most used first).
    public var templateBandLimit = 256
    public var systemPromptMinimumAccounts = 2
    public var emailDomainMinimumAccounts = 2
    /// User agents and client fingerprints: used by this many member accounts.
    public var clientMinimumAccounts = 3
    /// A /24 (IPv4) or /48 (IPv6) is shared as a block when members used this many of its
    /// addresses and no other account used any.
    public var subnetMinimumAddresses = 4
    /// An autonomous system is shared when members sent at least this share of all its
    /// exchanges (a hosting network rented for the campaign, not a residential ISP).
    public var autonomousSystemMinimumShare = 0.9
    public var autonomousSystemMinimumAccounts = 3
    /// Addresses per campaign, the most used first.
    public var addressLimit = 20_000
    /// A campaign is a proxy pool (not hosting) when its addresses span this many /24s or /48s.
    public var proxyPoolMinimumSubnets = 16

    public init() {}
}

/// One indicator to publish, before it becomes a STIX `indicator` or MISP attributes.
public struct IndicatorDraft: Sendable, Equatable {
    public enum Kind: Sendable, Hashable {
        case addresses
        case subnets
        case autonomousSystems
        case userAgents
        case clientFingerprints
        case templateFamily(keyID: String)
        case systemPrompts(keyID: String)
        case emailDomains(keyID: String)

        /// Whether only sharing-key holders can match it.
        public var isKeyed: Bool {
            switch self {
            case .templateFamily, .systemPrompts, .emailDomains: return true
            default: return false
            }
        }

        public var label: String {
            switch self {
            case .addresses: return "addresses"
            case .subnets: return "address blocks"
            case .autonomousSystems: return "autonomous systems"
            case .userAgents: return "user agents"
            case .clientFingerprints: return "client fingerprints"
            case .templateFamily(let k): return "prompt-template family (keyed, \(k))"
            case .systemPrompts(let k): return "system prompts (keyed, \(k))"
            case .emailDomains(let k): return "sign-up e-mail domains (keyed, \(k))"
            }
        }
    }

    public var kind: Kind
    public var addresses: [IPPrefix] = []
    public var numbers: [Int] = []
    public var strings: [String] = []
    public var fingerprints: [UInt64] = []
    public var validFrom: Timestamp
    public var validUntil: Timestamp
    /// Member exchanges that showed these values, and their first and last time.
    public var exchanges: Int
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp

    /// The comparisons a recipient's engine matches (the same the STIX pattern carries).
    public var comparisons: [SharedIndicator.Comparison] {
        switch kind {
        case .addresses, .subnets: return addresses.map { .address($0) }
        case .autonomousSystems: return numbers.map { .autonomousSystem($0) }
        case .userAgents: return strings.map { .userAgent($0) }
        case .clientFingerprints: return strings.map { .clientFingerprint($0) }
        case .templateFamily(let k): return fingerprints.map { .templateBand(keyID: k, value: $0) }
        case .systemPrompts(let k): return fingerprints.map { .systemPrompt(keyID: k, value: $0) }
        case .emailDomains(let k): return fingerprints.map { .emailDomain(keyID: k, value: $0) }
        }
    }
}

/// A campaign as it will be shared: the report's figures, what kind of infrastructure it
/// ran on, and its indicators. Account ids only when asked for (and never to authorities).
public struct SharedCampaignDraft: Sendable {
    public var campaign: ScanReport.Campaign
    public var proxyPool: Bool
    public var subnetsUsed: Int
    public var indicators: [IndicatorDraft]
    public var memberAccountIDs: [String]?
}

/// Turns a campaign's observables into indicator drafts under a selection policy.
public enum IndicatorSelection {
    /// - Complexity: O(distinct observables × log) for the sorting.
    public static func select(
        _ o: CampaignObservables, campaign: ScanReport.Campaign, policy: IndicatorSelectionPolicy,
        includeAddresses: Bool = true, includeEmailDomains: Bool = true
    ) -> SharedCampaignDraft {
        let lifetimes = policy.lifetimes
        var drafts: [IndicatorDraft] = []
        let subnets = Set(o.addresses.keys.compactMap(CampaignObservables.subnet))
        let pool = subnets.count >= policy.proxyPoolMinimumSubnets

        func hours(_ h: Double) -> Int64 { Int64(h * 3_600_000) }
        func span(_ sightings: [ObservableSighting]) -> (Timestamp, Timestamp, Int) {
            (sightings.map(\.first).min()!, sightings.map(\.last).max()!, sightings.reduce(0) { $0 + $1.exchanges })
        }

        if includeAddresses {
            // Whole blocks first (hosting ranges the members had to themselves).
            var byBlock: [IPPrefix: [IPAddress]] = [:]
            for a in o.addresses.keys { if let p = CampaignObservables.subnet(of: a) { byBlock[p, default: []].append(a) } }
            let blocks = byBlock.filter { $0.value.count >= policy.subnetMinimumAddresses && (o.outsidePrefixes[$0.key] ?? 0) == 0 }
            if !blocks.isEmpty {
                let sightings = blocks.values.flatMap { $0.map { o.addresses[$0]! } }
                let (first, last, n) = span(sightings)
                drafts.append(IndicatorDraft(
                    kind: .subnets, addresses: blocks.keys.sorted { $0.network < $1.network }, validFrom: first,
                    validUntil: last.adding(milliseconds: hours(lifetimes.subnetHours)), exchanges: n, firstSeen: first, lastSeen: last))
            }
            let covered = Set(blocks.values.joined())
            let lifetime = hours(pool ? lifetimes.proxyPoolAddressHours : lifetimes.hostingAddressHours)
            let singles = o.addresses.filter { !covered.contains($0.key) && (o.outsideAddresses[$0.key] ?? 0) == 0 }
                .sorted { ($0.value.exchanges, $1.key) > ($1.value.exchanges, $0.key) }
                .prefix(policy.addressLimit)
            // One indicator per hour of expiry: addresses that stop holding together.
            var byExpiry: [Int64: [(IPAddress, ObservableSighting)]] = [:]
            for (a, s) in singles {
                let until = s.last.adding(milliseconds: lifetime)
                byExpiry[(until.millisecondsSinceEpoch + 3_599_999) / 3_600_000, default: []].append((a, s))
            }
            for (hour, members) in byExpiry.sorted(by: { $0.key < $1.key }) {
                let (first, last, n) = span(members.map(\.1))
                drafts.append(IndicatorDraft(
                    kind: .addresses, addresses: members.map(\.0).sorted().compactMap { IPPrefix(address: $0, length: $0.isIPv4 ? 32 : 128) },
                    validFrom: first, validUntil: Timestamp(millisecondsSinceEpoch: hour * 3_600_000), exchanges: n, firstSeen: first, lastSeen: last))
            }
        }

        let asns = o.autonomousSystems.filter { asn, s in
            let outside = o.outsideAutonomousSystems[asn] ?? 0
            return s.accounts >= policy.autonomousSystemMinimumAccounts
                && Double(s.exchanges) / Double(s.exchanges + outside) >= policy.autonomousSystemMinimumShare
        }
        if !asns.isEmpty {
            let (first, last, n) = span(Array(asns.values))
            drafts.append(IndicatorDraft(
                kind: .autonomousSystems, numbers: asns.keys.sorted(), validFrom: first,
                validUntil: last.adding(milliseconds: hours(lifetimes.autonomousSystemHours)), exchanges: n, firstSeen: first, lastSeen: last))
        }
        for (kind, table, outside, lifetime) in [
            (IndicatorDraft.Kind.userAgents, o.userAgents, o.outsideUserAgents, lifetimes.userAgentHours),
            (.clientFingerprints, o.clientFingerprints, o.outsideClientFingerprints, lifetimes.clientFingerprintHours),
        ] {
            let chosen = table.filter { $0.value.accounts >= policy.clientMinimumAccounts && (outside[$0.key] ?? 0) == 0 }
            guard !chosen.isEmpty else { continue }
            let (first, last, n) = span(Array(chosen.values))
            drafts.append(IndicatorDraft(
                kind: kind, strings: chosen.keys.sorted(), validFrom: first,
                validUntil: last.adding(milliseconds: hours(lifetime)), exchanges: n, firstSeen: first, lastSeen: last))
        }
        for keyID in o.templateBands.keys.sorted() {
            let table = o.templateBands[keyID]!
            let prompts = max(1, o.promptsWithBands[keyID] ?? 0)
            let minimum = max(2, Int((policy.templateBandMinimumShare * Double(prompts)).rounded(.up)))
            let chosen = table.filter {
                $0.value.accounts >= min(policy.templateBandMinimumAccounts, o.members.count)
                    && $0.value.exchanges >= minimum && !o.outsideKeyed.contains($0.key)
            }
            .sorted { ($0.value.exchanges, $1.key) > ($1.value.exchanges, $0.key) }
            .prefix(policy.templateBandLimit)
            guard chosen.count >= SharedIndicatorSet.minimumTemplateBandMatches else { continue }
            let (first, last, n) = span(chosen.map(\.value))
            drafts.append(IndicatorDraft(
                kind: .templateFamily(keyID: keyID), fingerprints: chosen.map(\.key).sorted(), validFrom: first,
                validUntil: last.adding(milliseconds: hours(lifetimes.templateFamilyHours)), exchanges: n, firstSeen: first, lastSeen: last))
        }
        for (tables, minimumAccounts, lifetime, make) in [
            (o.systemPrompts, policy.systemPromptMinimumAccounts, lifetimes.systemPromptHours, { IndicatorDraft.Kind.systemPrompts(keyID: $0) }),
            (includeEmailDomains ? o.emailDomains : [:], policy.emailDomainMinimumAccounts, lifetimes.emailDomainHours, { IndicatorDraft.Kind.emailDomains(keyID: $0) }),
        ] as [([String: [UInt64: ObservableSighting]], Int, Double, (String) -> IndicatorDraft.Kind)] {
            for keyID in tables.keys.sorted() {
                let chosen = tables[keyID]!.filter { $0.value.accounts >= min(minimumAccounts, o.members.count) && !o.outsideKeyed.contains($0.key) }
                guard !chosen.isEmpty else { continue }
                let (first, last, n) = span(Array(chosen.values))
                drafts.append(IndicatorDraft(
                    kind: make(keyID), fingerprints: chosen.keys.sorted(), validFrom: first,
                    validUntil: last.adding(milliseconds: hours(lifetime)), exchanges: n, firstSeen: first, lastSeen: last))
            }
        }
        return SharedCampaignDraft(campaign: campaign, proxyPool: pool, subnetsUsed: subnets.count, indicators: drafts, memberAccountIDs: nil)
    }
}
