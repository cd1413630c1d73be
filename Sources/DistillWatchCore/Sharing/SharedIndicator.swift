/// An indicator another provider (or this one) published about a distillation campaign,
/// reduced to what the engine matches: the STIX `indicator` object's id, where it came
/// from, how long it holds, and its pattern as comparisons (Documentation/Sharing.md).
///
/// Built by the sharing adapter (`DistillWatchSharing`) from a STIX 2.1 bundle; the core
/// never parses STIX itself.
public struct SharedIndicator: Sendable, Equatable {
    /// One thing an indicator matches.
    public enum Comparison: Sendable, Hashable {
        /// `client_ip` inside the prefix (an exact address is a /32 or /128).
        case address(IPPrefix)
        /// `asn` equal.
        case autonomousSystem(Int)
        /// `user_agent` equal (exact, case-sensitive).
        case userAgent(String)
        /// `client_fingerprint` equal (exact; JA4 and the like are case-sensitive).
        case clientFingerprint(String)
        /// A template-family band value under the sharing key `keyID`.
        case templateBand(keyID: String, value: UInt64)
        /// A system-prompt fingerprint under the sharing key `keyID`.
        case systemPrompt(keyID: String, value: UInt64)
        /// A sign-up e-mail domain fingerprint under the sharing key `keyID`.
        case emailDomain(keyID: String, value: UInt64)
    }

    /// The STIX id of the indicator (`indicator--<uuid>`).
    public var id: String
    /// The producer, as its `identity` names it.
    public var source: String
    /// The campaign at the producer (its STIX `campaign` name), when the bundle says.
    public var campaign: String?
    /// The TLP marking's name (`TLP:AMBER`, ...), when marked.
    public var tlp: String?
    /// The comparisons, any one of which matches (an `OR` of them).
    public var comparisons: [Comparison]
    public var validFrom: Timestamp
    /// `nil`: no expiry.
    public var validUntil: Timestamp?

    public init(
        id: String, source: String, campaign: String? = nil, tlp: String? = nil,
        comparisons: [Comparison], validFrom: Timestamp, validUntil: Timestamp? = nil
    ) {
        self.id = id
        self.source = source
        self.campaign = campaign
        self.tlp = tlp
        self.comparisons = comparisons
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    /// Whether the indicator holds at `t`: `valid_from ≤ t < valid_until` (STIX 2.1 §4.7).
    @inlinable
    public func isValid(at t: Timestamp) -> Bool {
        t >= validFrom && (validUntil.map { t < $0 } ?? true)
    }
}

/// What the indicator matched, as families (a bit each in ``SharedIndicatorMatch/kinds``).
public enum SharedIndicatorKind: Int, CaseIterable, Sendable {
    case address = 0
    case autonomousSystem = 1
    case userAgent = 2
    case clientFingerprint = 3
    case templateFamily = 4
    case systemPrompt = 5
    case emailDomain = 6

    public var bit: UInt8 { 1 << UInt8(rawValue) }

    /// Matches of these kinds are about infrastructure a residential proxy shares with
    /// honest people (addresses, networks) or that many clients share (user agents, client
    /// stacks): on their own they never reach `review` (Documentation/Sharing.md, "False
    /// positives").
    public var isInfrastructure: Bool { rawValue <= 3 }

    public var name: String {
        switch self {
        case .address: return "address"
        case .autonomousSystem: return "autonomous system"
        case .userAgent: return "user agent"
        case .clientFingerprint: return "client fingerprint"
        case .templateFamily: return "prompt-template family"
        case .systemPrompt: return "system prompt"
        case .emailDomain: return "sign-up e-mail domain"
        }
    }
}

/// The indicators the engine matches against, indexed for O(1)-ish lookups per exchange.
///
/// - Addresses: one hash table per distinct prefix length, probed longest first.
/// - Everything else: hash tables from value to indicator positions.
/// - Template families: a prompt matches an indicator when at least
///   ``minimumTemplateBandMatches`` of its band values are among the indicator's (one band
///   alone can be a common phrase).
///
/// - Complexity: building O(total comparisons); matching an exchange O(distinct prefix
///   lengths + bands per sharing key + 4) hash lookups.
public struct SharedIndicatorSet: Sendable {
    public private(set) var indicators: [SharedIndicator] = []
    /// The sharing keys of this installation, for fingerprinting account records' e-mail
    /// domains (prompts are fingerprinted at ingest by the ``ContentSketcher``).
    public private(set) var sharingKeys: [SharingKey] = []
    private var prefixes: [(length: Int, table: [IPAddress: [Int32]])] = []
    private var asns: [Int: [Int32]] = [:]
    private var userAgents: [String: [Int32]] = [:]
    private var clientFingerprints: [String: [Int32]] = [:]
    private var templateBands: [String: [UInt64: [Int32]]] = [:]
    private var systemPrompts: [String: [UInt64: [Int32]]] = [:]
    private var emailDomains: [String: [UInt64: [Int32]]] = [:]
    private var positionByID: [String: Int32] = [:]

    public static let minimumTemplateBandMatches = 2

    public init() {}

    /// An index of `indicators` (a later indicator with the same id replaces an earlier
    /// one) and the installation's sharing keys.
    public init(_ indicators: [SharedIndicator], sharingKeys: [SharingKey] = []) {
        self.sharingKeys = sharingKeys
        var byLength: [Int: [IPAddress: [Int32]]] = [:]
        for indicator in indicators {
            if let existing = positionByID[indicator.id] {
                self.indicators[Int(existing)] = indicator
            } else {
                positionByID[indicator.id] = Int32(self.indicators.count)
                self.indicators.append(indicator)
            }
        }
        for (p, indicator) in self.indicators.enumerated() {
            let p = Int32(p)
            for c in indicator.comparisons {
                switch c {
                case .address(let prefix): byLength[prefix.bitsOf128, default: [:]][prefix.network, default: []].appendOnce(p)
                case .autonomousSystem(let n): asns[n, default: []].appendOnce(p)
                case .userAgent(let s): userAgents[s, default: []].appendOnce(p)
                case .clientFingerprint(let s): clientFingerprints[s, default: []].appendOnce(p)
                case .templateBand(let key, let v): templateBands[key, default: [:]][v, default: []].appendOnce(p)
                case .systemPrompt(let key, let v): systemPrompts[key, default: [:]][v, default: []].appendOnce(p)
                case .emailDomain(let key, let v): emailDomains[key, default: [:]][v, default: []].appendOnce(p)
                }
            }
        }
        prefixes = byLength.sorted { $0.key > $1.key }.map { (length: $0.key, table: $0.value) }
    }

    public var isEmpty: Bool { indicators.isEmpty }
    public var count: Int { indicators.count }

    /// The indicator with this STIX id, if present.
    public func indicator(id: String) -> SharedIndicator? {
        positionByID[id].map { indicators[Int($0)] }
    }

    /// Whether the indicator with this id is present and valid at `t`.
    public func isActive(id: String, at t: Timestamp) -> Bool {
        positionByID[id].map { indicators[Int($0)].isValid(at: t) } ?? false
    }

    /// True when some indicator carries e-mail domain fingerprints.
    public var hasEmailDomains: Bool { !emailDomains.isEmpty }

    /// The matches of one exchange, valid at its time.
    /// - Complexity: see the type.
    public func matches(_ e: Exchange) -> [SharedIndicatorMatch] {
        guard !indicators.isEmpty else { return [] }
        var found: [SharedIndicatorMatch] = []
        var slot: [Int32: Int] = [:]  // position → index in `found`: O(1) per match
        let t = e.time
        func note(_ positions: [Int32]?, _ kind: SharedIndicatorKind) {
            guard let positions else { return }
            for p in positions where indicators[Int(p)].isValid(at: t) {
                if let i = slot[p] {
                    found[i].kinds |= kind.bit
                } else {
                    slot[p] = found.count
                    found.append(SharedIndicatorMatch(position: p, id: indicators[Int(p)].id, kinds: kind.bit))
                }
            }
        }
        if !prefixes.isEmpty, let ip = e.clientIP, let address = IPAddress(ip) {
            for (length, table) in prefixes {
                // An IPv6 prefix never covers an IPv4 client (`::/0` is not "everything").
                if address.isIPv4, length < 96 { continue }
                note(table[address.masked(to: length)], .address)
            }
        }
        if let asn = e.asn, !asns.isEmpty { note(asns[asn], .autonomousSystem) }
        if let ua = e.userAgent, !userAgents.isEmpty { note(userAgents[ua], .userAgent) }
        if let fp = e.clientFingerprint, !clientFingerprints.isEmpty { note(clientFingerprints[fp], .clientFingerprint) }
        if let content = e.content, !templateBands.isEmpty || !systemPrompts.isEmpty {
            for shared in content.sharedFingerprints {
                if let table = templateBands[shared.keyID], !shared.templateBands.isEmpty {
                    var hits: [Int32: Int] = [:]
                    for band in shared.templateBands {
                        for p in table[band] ?? [] { hits[p, default: 0] += 1 }
                    }
                    let strong = hits.filter { $0.value >= Self.minimumTemplateBandMatches }.map(\.key).sorted()
                    if !strong.isEmpty { note(strong, .templateFamily) }
                }
                if let system = shared.system, let table = systemPrompts[shared.keyID] {
                    note(table[system], .systemPrompt)
                }
            }
        }
        return found
    }

    /// The matches of an account record's e-mail domain, for indicators not expired at `t`.
    /// - Complexity: O(sharing keys × domain length).
    public func matches(_ record: AccountRecord, at t: Timestamp) -> [SharedIndicatorMatch] {
        guard let domain = record.emailDomain, !emailDomains.isEmpty else { return [] }
        var found: [SharedIndicatorMatch] = []
        for key in sharingKeys {
            guard let table = emailDomains[key.id] else { continue }
            // An account opened before the indicator was published is still the operator's:
            // only expiry counts here.
            for p in table[key.emailDomainFingerprint(domain)] ?? [] where indicators[Int(p)].validUntil.map({ t < $0 }) ?? true {
                found.append(SharedIndicatorMatch(position: p, id: indicators[Int(p)].id, kinds: SharedIndicatorKind.emailDomain.bit))
            }
        }
        return found
    }
}

/// One indicator matched by one exchange or account record.
public struct SharedIndicatorMatch: Sendable, Equatable {
    /// Position in ``SharedIndicatorSet/indicators``.
    public var position: Int32
    /// The indicator's STIX id.
    public var id: String
    /// ``SharedIndicatorKind`` bits: what matched.
    public var kinds: UInt8
}

extension Array where Element == Int32 {
    fileprivate mutating func appendOnce(_ p: Int32) {
        if last != p { append(p) }
    }
}

// MARK: Stored form

extension SharedIndicator.Comparison {
    /// A compact text form, for the event log: `ip:198.51.100.0/24`, `asn:64500`,
    /// `ua:<text>`, `cfp:<text>`, `tb:<key>:<16 hex>`, `sp:<key>:<16 hex>`,
    /// `ed:<key>:<16 hex>`.
    public var storedForm: String {
        switch self {
        case .address(let p): return "ip:\(p)"
        case .autonomousSystem(let n): return "asn:\(n)"
        case .userAgent(let s): return "ua:" + s
        case .clientFingerprint(let s): return "cfp:" + s
        case .templateBand(let k, let v): return "tb:\(k):\(fingerprintHex(v))"
        case .systemPrompt(let k, let v): return "sp:\(k):\(fingerprintHex(v))"
        case .emailDomain(let k, let v): return "ed:\(k):\(fingerprintHex(v))"
        }
    }

    /// Reads ``storedForm``; `nil` for anything else.
    public init?(storedForm text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let tag = text[..<colon], rest = String(text[text.index(after: colon)...])
        func keyed() -> (String, UInt64)? {
            guard let c = rest.lastIndex(of: ":") else { return nil }
            let key = String(rest[..<c]), hex = rest[rest.index(after: c)...]
            guard SharingKey.isValidID(key), hex.count == 16, let v = UInt64(hex, radix: 16) else { return nil }
            return (key, v)
        }
        switch tag {
        case "ip": guard let p = IPPrefix(rest) else { return nil }; self = .address(p)
        case "asn": guard let n = Int(rest), n >= 0, n <= Int(UInt32.max) else { return nil }; self = .autonomousSystem(n)
        case "ua": guard !rest.isEmpty else { return nil }; self = .userAgent(rest)
        case "cfp": guard !rest.isEmpty else { return nil }; self = .clientFingerprint(rest)
        case "tb": guard let (k, v) = keyed() else { return nil }; self = .templateBand(keyID: k, value: v)
        case "sp": guard let (k, v) = keyed() else { return nil }; self = .systemPrompt(keyID: k, value: v)
        case "ed": guard let (k, v) = keyed() else { return nil }; self = .emailDomain(keyID: k, value: v)
        default: return nil
        }
    }
}

extension SharedIndicator: Codable {
    enum CodingKeys: String, CodingKey {
        case id, source, campaign, tlp, comparisons
        case validFrom = "valid_from"
        case validUntil = "valid_until"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let forms = try c.decode([String].self, forKey: .comparisons)
        var comparisons: [Comparison] = []
        comparisons.reserveCapacity(forms.count)
        for f in forms {
            guard let comparison = Comparison(storedForm: f) else {
                throw DecodingError.dataCorruptedError(forKey: .comparisons, in: c, debugDescription: "not a comparison: \(f.prefix(80))")
            }
            comparisons.append(comparison)
        }
        self.init(
            id: try c.decode(String.self, forKey: .id), source: try c.decode(String.self, forKey: .source),
            campaign: try c.decodeIfPresent(String.self, forKey: .campaign), tlp: try c.decodeIfPresent(String.self, forKey: .tlp),
            comparisons: comparisons, validFrom: try c.decode(Timestamp.self, forKey: .validFrom),
            validUntil: try c.decodeIfPresent(Timestamp.self, forKey: .validUntil))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(campaign, forKey: .campaign)
        try c.encodeIfPresent(tlp, forKey: .tlp)
        try c.encode(comparisons.map(\.storedForm), forKey: .comparisons)
        try c.encode(validFrom, forKey: .validFrom)
        try c.encodeIfPresent(validUntil, forKey: .validUntil)
    }
}

// MARK: Snapshot

extension SharedIndicator: SnapshotCodable {
    static var snapshotFieldCount: Int { 7 }

    func write(to w: inout SnapshotWriter) {
        w.string(id)
        w.string(source)
        w.optional(campaign) { $0.string($1) }
        w.optional(tlp) { $0.string($1) }
        w.array(comparisons) { $0.string($1.storedForm) }
        w.timestamp(validFrom)
        w.optional(validUntil) { $0.timestamp($1) }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        let id = try r.string(), source = try r.string()
        let campaign = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        let tlp = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        let comparisons = try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) -> Comparison in
            let text = try r.string()
            guard let c = Comparison(storedForm: text) else { throw SnapshotError("not a shared-indicator comparison: \(text.prefix(60))") }
            return c
        }
        self.init(id: id, source: source, campaign: campaign, tlp: tlp, comparisons: comparisons, validFrom: try r.timestamp(),
                  validUntil: try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() })
    }
}
