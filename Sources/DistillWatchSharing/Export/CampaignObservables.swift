import DistillWatchCore

/// How often and by whom one observable (an address, a user agent, a fingerprint) was
/// seen: exchanges, distinct accounts (counted exactly up to ``accountSampleLimit``), and
/// first and last time.
public struct ObservableSighting: Sendable, Equatable {
    public static let accountSampleLimit = 16
    public var exchanges = 0
    public var first: Timestamp
    public var last: Timestamp
    var accountSample: [Int32] = []
    /// Distinct accounts, exact up to ``accountSampleLimit`` (then a floor).
    public var accounts: Int { accountSample.count }

    init(at t: Timestamp) {
        first = t
        last = t
    }

    mutating func note(account: Int32, at t: Timestamp) {
        exchanges += 1
        if t < first { first = t }
        if t > last { last = t }
        if accountSample.count < Self.accountSampleLimit, !accountSample.contains(account) { accountSample.append(account) }
    }
}

/// What a campaign's member accounts showed the provider, gathered for export: their
/// addresses, networks, client stacks and the keyed fingerprints of their prompts, system
/// prompts and sign-up domains, each with counts and times; and, for the same values, how
/// often accounts outside the campaign used them (what must not be published, because
/// honest customers share it).
///
/// Fed by ``CampaignObservablesCollector`` from the traffic and account records a scan
/// read, with the membership its report gives.
public struct CampaignObservables: Sendable {
    public var campaignID: String
    public var members: Set<String>
    public var exchanges = 0
    public var first: Timestamp?
    public var last: Timestamp?
    public var addresses: [IPAddress: ObservableSighting] = [:]
    public var autonomousSystems: [Int: ObservableSighting] = [:]
    public var userAgents: [String: ObservableSighting] = [:]
    public var clientFingerprints: [String: ObservableSighting] = [:]
    /// Per sharing key id: template band value → sighting.
    public var templateBands: [String: [UInt64: ObservableSighting]] = [:]
    public var systemPrompts: [String: [UInt64: ObservableSighting]] = [:]
    public var emailDomains: [String: [UInt64: ObservableSighting]] = [:]
    /// Exchanges of the members whose prompt had template bands, per sharing key.
    public var promptsWithBands: [String: Int] = [:]

    /// Uses by accounts outside the campaign (exchanges), for the same values.
    public var outsideAddresses: [IPAddress: Int] = [:]
    public var outsidePrefixes: [IPPrefix: Int] = [:]
    public var outsideAutonomousSystems: [Int: Int] = [:]
    public var outsideUserAgents: [String: Int] = [:]
    public var outsideClientFingerprints: [String: Int] = [:]
    public var outsideKeyed: Set<UInt64> = []
    var memberPrefixes: Set<IPPrefix>?

    /// The /24 of an IPv4 address, the /48 of an IPv6 one: the unit a hosting provider
    /// hands out and the one the engine's `shared_subnet` evidence uses.
    public static func subnet(of address: IPAddress) -> IPPrefix? {
        IPPrefix(address: address, length: address.isIPv4 ? 24 : 48)
    }

    /// Bound on distinct band values kept per campaign and key; beyond it, values seen once
    /// are dropped (a template's bands recur, a prompt's own content does not).
    public static let bandTableLimit = 200_000

    public init(campaignID: String, members: Set<String>) {
        self.campaignID = campaignID
        self.members = members
    }
}

/// Gathers ``CampaignObservables`` for the flagged campaigns of a report, in two passes
/// over the same traffic: members first (``noteMember(_:account:)``), then everyone else
/// (``noteOutsider(_:)``), which only counts values the first pass found.
///
/// - Complexity: O(1) hash updates per exchange and band; memory O(distinct values of the
///   members) bounded by ``CampaignObservables/bandTableLimit`` per key for bands.
public struct CampaignObservablesCollector: Sendable {
    public private(set) var campaigns: [String: CampaignObservables] = [:]
    private var campaignOfAccount: [String: String] = [:]
    private var accountNumbers: [String: Int32] = [:]
    /// The installation's sharing keys, for sign-up domains (prompts arrive fingerprinted).
    public let sharingKeys: [SharingKey]

    public init(membership: [String: Set<String>], sharingKeys: [SharingKey]) {
        self.sharingKeys = sharingKeys
        for (campaign, members) in membership {
            campaigns[campaign] = CampaignObservables(campaignID: campaign, members: members)
            for m in members { campaignOfAccount[m] = campaign }
        }
    }

    public func campaign(of accountID: String) -> String? { campaignOfAccount[accountID] }

    private mutating func number(_ account: String) -> Int32 {
        if let n = accountNumbers[account] { return n }
        let n = Int32(accountNumbers.count)
        accountNumbers[account] = n
        return n
    }

    /// Pass 1: an exchange of a member account (ignored for others).
    public mutating func noteMember(_ e: Exchange) {
        guard let id = campaignOfAccount[e.accountID] else { return }
        let a = number(e.accountID)
        let t = e.time
        var c = campaigns[id]!
        campaigns[id] = nil  // unique reference while mutating
        c.exchanges += 1
        c.first = min(c.first ?? t, t)
        c.last = max(c.last ?? t, t)
        if let ip = e.clientIP, let address = IPAddress(ip) { c.addresses[address, default: .init(at: t)].note(account: a, at: t) }
        if let asn = e.asn { c.autonomousSystems[asn, default: .init(at: t)].note(account: a, at: t) }
        if let ua = e.userAgent, !ua.isEmpty { c.userAgents[ua, default: .init(at: t)].note(account: a, at: t) }
        if let fp = e.clientFingerprint, !fp.isEmpty { c.clientFingerprints[fp, default: .init(at: t)].note(account: a, at: t) }
        for shared in e.content?.sharedFingerprints ?? [] {
            if !shared.templateBands.isEmpty {
                c.promptsWithBands[shared.keyID, default: 0] += 1
                var table = c.templateBands[shared.keyID] ?? [:]
                c.templateBands[shared.keyID] = nil
                for band in shared.templateBands { table[band, default: .init(at: t)].note(account: a, at: t) }
                if table.count > CampaignObservables.bandTableLimit { table = table.filter { $0.value.exchanges > 1 } }
                c.templateBands[shared.keyID] = table
            }
            if let system = shared.system { c.systemPrompts[shared.keyID, default: [:]][system, default: .init(at: t)].note(account: a, at: t) }
        }
        campaigns[id] = c
    }

    /// Pass 1: a member's account record (its e-mail domain, under each sharing key).
    public mutating func noteMember(_ record: AccountRecord, at fallback: Timestamp) {
        guard let id = campaignOfAccount[record.accountID], let domain = record.emailDomain else { return }
        let a = number(record.accountID)
        let t = record.created ?? fallback
        for key in sharingKeys {
            campaigns[id]!.emailDomains[key.id, default: [:]][key.emailDomainFingerprint(domain), default: .init(at: t)].note(account: a, at: t)
        }
    }

    /// Pass 2: an exchange of an account outside every campaign.
    public mutating func noteOutsider(_ e: Exchange) {
        guard campaignOfAccount[e.accountID] == nil else { return }
        let address = e.clientIP.flatMap { IPAddress($0) }
        for id in campaigns.keys {
            var c = campaigns[id]!
            campaigns[id] = nil
            if let address {
                if c.addresses[address] != nil { c.outsideAddresses[address, default: 0] += 1 }
                if c.memberPrefixes == nil { c.memberPrefixes = Set(c.addresses.keys.compactMap(CampaignObservables.subnet)) }
                if let p = CampaignObservables.subnet(of: address), c.memberPrefixes!.contains(p) {
                    c.outsidePrefixes[p, default: 0] += 1
                }
            }
            if let asn = e.asn, c.autonomousSystems[asn] != nil { c.outsideAutonomousSystems[asn, default: 0] += 1 }
            if let ua = e.userAgent, c.userAgents[ua] != nil { c.outsideUserAgents[ua, default: 0] += 1 }
            if let fp = e.clientFingerprint, c.clientFingerprints[fp] != nil { c.outsideClientFingerprints[fp, default: 0] += 1 }
            for shared in e.content?.sharedFingerprints ?? [] {
                if let table = c.templateBands[shared.keyID] {
                    for band in shared.templateBands where table[band] != nil { c.outsideKeyed.insert(band) }
                }
                if let system = shared.system, c.systemPrompts[shared.keyID]?[system] != nil { c.outsideKeyed.insert(system) }
            }
            campaigns[id] = c
        }
    }

    /// Pass 2: an account record outside every campaign.
    public mutating func noteOutsider(_ record: AccountRecord) {
        guard campaignOfAccount[record.accountID] == nil, let domain = record.emailDomain else { return }
        for key in sharingKeys {
            let v = key.emailDomainFingerprint(domain)
            for id in campaigns.keys where campaigns[id]!.emailDomains[key.id]?[v] != nil {
                campaigns[id]!.outsideKeyed.insert(v)
            }
        }
    }
}
