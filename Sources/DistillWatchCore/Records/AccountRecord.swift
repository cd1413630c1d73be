/// What the provider knows about an account: an account record of traffic format v1 (spec §2).
public struct AccountRecord: Sendable, Equatable {
    public var accountID: String
    public var created: Timestamp?
    /// `free`, `standard`, `startup`, `education`, `research`, `enterprise`, ...
    public var tier: String?
    /// Opaque, already-hashed id of the payment instrument.
    public var paymentFingerprint: String?
    public var emailDomain: String?
    public var declaredCountry: String?
    public var verified: Bool?
    /// The provider has authorised this account's bulk use; its verdict is always `allow`.
    public var allowlisted: Bool?
    /// The subscription plan, if the account pays a flat price (spec revision 1.1).
    public var plan: String?
    /// The plan's monthly price, in USD (spec revision 1.1).
    public var planPriceUSD: Double?
    /// ISO 3166-1 alpha-2 of the payment instrument's issuer (a DistillWatch extension of
    /// the v1 record: `payment_country`; the model access policy judges it).
    public var paymentCountry: String?

    public init(
        accountID: String, created: Timestamp? = nil, tier: String? = nil,
        paymentFingerprint: String? = nil, emailDomain: String? = nil,
        declaredCountry: String? = nil, verified: Bool? = nil, allowlisted: Bool? = nil,
        plan: String? = nil, planPriceUSD: Double? = nil, paymentCountry: String? = nil
    ) {
        self.paymentCountry = paymentCountry
        self.plan = plan
        self.planPriceUSD = planPriceUSD
        self.accountID = accountID
        self.created = created
        self.tier = tier
        self.paymentFingerprint = paymentFingerprint
        self.emailDomain = emailDomain
        self.declaredCountry = declaredCountry
        self.verified = verified
        self.allowlisted = allowlisted
    }

    /// Overlays the fields `newer` carries on this record (an upsert: absent fields keep
    /// their previous value).
    public mutating func merge(_ newer: AccountRecord) {
        precondition(newer.accountID == accountID)
        if let v = newer.created { created = v }
        if let v = newer.tier { tier = v }
        if let v = newer.paymentFingerprint { paymentFingerprint = v }
        if let v = newer.emailDomain { emailDomain = v }
        if let v = newer.declaredCountry { declaredCountry = v }
        if let v = newer.verified { verified = v }
        if let v = newer.allowlisted { allowlisted = v }
        if let v = newer.plan { plan = v }
        if let v = newer.planPriceUSD { planPriceUSD = v }
        if let v = newer.paymentCountry { paymentCountry = v }
    }
}

// MARK: Snapshot

extension AccountRecord: SnapshotCodable {
    static var snapshotFieldCount: Int { 11 }

    func write(to w: inout SnapshotWriter) {
        w.string(accountID)
        w.optional(created) { $0.timestamp($1) }
        w.optional(tier) { $0.string($1) }
        w.optional(paymentFingerprint) { $0.string($1) }
        w.optional(emailDomain) { $0.string($1) }
        w.optional(declaredCountry) { $0.string($1) }
        w.optional(verified) { $0.bool($1) }
        w.optional(allowlisted) { $0.bool($1) }
        w.optional(plan) { $0.string($1) }
        w.optional(planPriceUSD) { $0.double($1) }
        w.optional(paymentCountry) { $0.string($1) }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        accountID = try r.string()
        created = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        tier = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        paymentFingerprint = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        emailDomain = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        declaredCountry = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        verified = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        allowlisted = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        plan = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        planPriceUSD = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        paymentCountry = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
    }
}
