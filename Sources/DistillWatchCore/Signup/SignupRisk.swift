/// How risky an account looks from its sign-up alone, before its first request: the
/// barrier the 2026 campaigns met least, since each opened thousands of accounts in bursts,
/// on throwaway mail, on shared cards and through cheap tiers (education, free trials).
///
/// Scored from the account record when it arrives (``DetectionEngine/register(_:)``) and
/// from the records that arrived with it; a countermeasure rule with `signup_risk` (the
/// built-in "risky sign-up") can then ask for identity verification before the account's
/// first exchange. The score is a weighted noisy-OR of the factors, like the detection
/// score: `1 - Π (1 - weight × value)`.
public struct SignupRisk: Sendable, Equatable {
    public enum Factor: String, CaseIterable, Sendable, Codable {
        /// The payment instrument is on other accounts: value `(n - 1) / 4` for `n` accounts,
        /// at most 1 (two accounts, a family card, count a quarter).
        case sharedPayment = "shared_payment"
        /// The sign-up address is at a disposable-mail domain: value 1.
        case throwawayDomain = "throwaway_domain"
        /// Accounts opened on one (non-webmail) domain within one hour: value
        /// `(n - 2) / (burst_accounts - 2)`, at most 1.
        case signupBurst = "signup_burst"
        /// A tier that is a known pathway to cheap access (education, trials): value 1.
        case tierPathway = "tier_pathway"
    }

    public struct Reading: Sendable, Equatable {
        public var factor: Factor
        public var value: Double
        public var detail: String
    }

    public var score: Double
    /// The factors that read above 0, strongest contribution first.
    public var readings: [Reading]

    public static let none = SignupRisk(score: 0, readings: [])
}

/// The sign-up factors' weights and settings (policy `signup:`).
public struct SignupPolicy: Sendable, Equatable {
    public var weights: [SignupRisk.Factor: Double]
    /// Accounts opened on one domain within an hour at which the burst reads 1 (at least 3).
    public var burstAccounts: Int
    /// Tiers that are pathways to cheap access (lower case).
    public var pathwayTiers: Set<String>
    /// Disposable-mail domains beyond ``builtInThrowawayDomains`` (lower case).
    public var throwawayDomains: Set<String>

    public init(weights: [SignupRisk.Factor: Double], burstAccounts: Int, pathwayTiers: Set<String>, throwawayDomains: Set<String>) {
        self.weights = weights
        self.burstAccounts = burstAccounts
        self.pathwayTiers = pathwayTiers
        self.throwawayDomains = throwawayDomains
    }

    public func weight(_ f: SignupRisk.Factor) -> Double { weights[f] ?? 0 }

    public func isThrowaway(_ domain: String) -> Bool {
        Self.builtInThrowawayDomains.contains(domain) || throwawayDomains.contains(domain)
    }

    public static let `default` = SignupPolicy(
        weights: [.sharedPayment: 0.6, .throwawayDomain: 0.6, .signupBurst: 0.6, .tierPathway: 0.25],
        burstAccounts: 10, pathwayTiers: ["education", "trial", "free_trial"], throwawayDomains: [])

    /// Widely used disposable-mail services (each sells or gives away inboxes that expire).
    public static let builtInThrowawayDomains: Set<String> = [
        "mailinator.com", "guerrillamail.com", "guerrillamail.net", "guerrillamailblock.com", "sharklasers.com",
        "10minutemail.com", "10minutemail.net", "temp-mail.org", "tempmail.com", "tempmailo.com", "tempr.email",
        "yopmail.com", "yopmail.net", "trashmail.com", "trashmail.de", "getnada.com", "dispostable.com",
        "maildrop.cc", "throwawaymail.com", "fakeinbox.com", "mintemail.com", "mohmal.com", "emailondeck.com",
        "burnermail.io", "spamgourmet.com", "mailnesia.com", "mytemp.email", "tempinbox.com", "discard.email",
        "moakt.com", "mail.tm", "emailfake.com", "tmpmail.org", "tmail.ws", "inboxkitten.com",
    ]
}

/// Who opened accounts together: accounts by (email domain, hour opened) and by payment
/// instrument, so that a sign-up's burst and card sharing are counted in O(1), and the
/// earlier accounts of a cohort are rescored when a later one arrives.
///
/// Memory: two dictionary entries and two list slots per account with a record.
struct SignupIndex: Sendable, Equatable {
    struct Keys: Sendable, Equatable {
        var domainHour: UInt64 = 0
        var payment: UInt64 = 0
    }

    var domainHours: [UInt64: [Int32]] = [:]
    var payments: [UInt64: [Int32]] = [:]
    var accountKeys: [Int32: Keys] = [:]

    /// A cohort larger than this does not make its members rescored on each arrival: every
    /// factor has read 1 long before.
    static let rescoredCohort = 64

    /// Counts `account` under `keys` (moving it from the keys it had), and returns the other
    /// accounts whose scores changed with it.
    /// - Complexity: O(size of the cohorts touched).
    mutating func place(_ account: Int32, _ keys: Keys) -> [Int32] {
        let old = accountKeys[account] ?? Keys()
        guard old != keys else { return [] }
        var touched: [Int32] = []
        func move(_ table: inout [UInt64: [Int32]], from: UInt64, to: UInt64) {
            guard from != to else { return }
            if from != 0, var list = table[from] {
                list.removeAll { $0 == account }
                table[from] = list.isEmpty ? nil : list
                if list.count <= Self.rescoredCohort { touched += list }
            }
            if to != 0 {
                table[to, default: []].append(account)
                let list = table[to]!
                if list.count <= Self.rescoredCohort + 1 { touched += list.dropLast() }
            }
        }
        move(&domainHours, from: old.domainHour, to: keys.domainHour)
        move(&payments, from: old.payment, to: keys.payment)
        accountKeys[account] = keys == Keys() ? nil : keys
        return touched
    }
}

extension SignupIndex: SnapshotCodable {
    static var snapshotFieldCount: Int { 3 }

    func write(to w: inout SnapshotWriter) {
        for table in [domainHours, payments] {
            w.dictionary(table) { w, k, v in
                w.int(k)
                w.array(v) { $0.int($1) }
            }
        }
        w.dictionary(accountKeys) { w, k, v in
            w.int(k)
            w.int(v.domainHour)
            w.int(v.payment)
        }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        func table(_ r: inout SnapshotReader) throws(SnapshotError) -> [UInt64: [Int32]] {
            try r.dictionary(minimumEntrySize: 12) { (r: inout SnapshotReader) throws(SnapshotError) in
                (try r.int(UInt64.self), try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int(Int32.self) })
            }
        }
        domainHours = try table(&r)
        payments = try table(&r)
        accountKeys = try r.dictionary(minimumEntrySize: 20) { (r: inout SnapshotReader) throws(SnapshotError) in
            (try r.int(Int32.self), Keys(domainHour: try r.int(UInt64.self), payment: try r.int(UInt64.self)))
        }
    }
}

extension DetectionEngine {
    /// The keys an account's record puts it under.
    func signupKeys(_ record: AccountRecord) -> SignupIndex.Keys {
        var keys = SignupIndex.Keys()
        if let domain = record.emailDomain?.lowercased(), !domain.isEmpty, let created = record.created,
           !policy.campaigns.commonEmailDomains.contains(domain) {
            keys.domainHour = stableHash(stableHash(domain, salt: 0x5161) ^ UInt64(bitPattern: created.hourIndex), salt: 0x5162)
        }
        if let payment = record.paymentFingerprint, !payment.isEmpty {
            keys.payment = stableHash(payment, salt: 0x5163)
        }
        return keys
    }

    /// The sign-up risk of an account, from its record and the records that arrived with it
    /// (none without a record).
    /// - Complexity: O(1).
    public func signupRisk(for accountID: String) -> SignupRisk {
        guard let i = slot(ofAccount: accountID) else { return .none }
        return signupRisk(at: Int(i))
    }

    func signupRisk(at i: Int) -> SignupRisk {
        guard let record = records[i] else { return .none }
        let sp = policy.signup
        var readings: [SignupRisk.Reading] = []
        let keys = signups.accountKeys[Int32(i)] ?? SignupIndex.Keys()
        if keys.payment != 0, let n = signups.payments[keys.payment]?.count, n >= 2 {
            readings.append(.init(factor: .sharedPayment, value: min(1, Double(n - 1) / 4),
                                  detail: "its payment instrument is on \(n) accounts"))
        }
        if let domain = record.emailDomain?.lowercased(), sp.isThrowaway(domain) {
            readings.append(.init(factor: .throwawayDomain, value: 1, detail: "signed up with disposable mail (\(domain))"))
        }
        if keys.domainHour != 0, let n = signups.domainHours[keys.domainHour]?.count, n >= 3, let created = record.created {
            let value = min(1, Double(n - 2) / Double(max(1, sp.burstAccounts - 2)))
            readings.append(.init(factor: .signupBurst, value: value,
                                  detail: "\(n) accounts opened on \(record.emailDomain?.lowercased() ?? "") in the hour of \(created.rfc3339)"))
        }
        if let tier = record.tier?.lowercased(), sp.pathwayTiers.contains(tier) {
            readings.append(.init(factor: .tierPathway, value: 1, detail: "tier \(tier), a pathway to cheap access"))
        }
        guard !readings.isEmpty else { return .none }
        var keep = 1.0
        for r in readings { keep *= 1 - min(1, max(0, sp.weight(r.factor) * r.value)) }
        readings.sort { sp.weight($0.factor) * $0.value > sp.weight($1.factor) * $1.value }
        return SignupRisk(score: 1 - keep, readings: readings)
    }
}
