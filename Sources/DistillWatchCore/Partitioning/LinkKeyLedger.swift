/// The link keys each account of one shard showed: what the shard writes so that a
/// campaign step can find accounts linked across shards, which no shard sees alone.
///
/// A key is the same 64-bit value on every shard for the same evidence (an address, a /24,
/// a user agent, a payment instrument, a sign-up hour, a system prompt, a parameter
/// habit), because it is the value the engine's own linkage joins on. Two accounts on
/// different shards that share a key are candidates for one campaign; the campaign step
/// then runs the engine over the candidates' traffic together (Documentation/ClickHouse.md).
///
/// - Complexity: ``note(_:)`` is O(1) amortised; memory is at most
///   ``maximumKeysPerKind`` keys per kind and account.
public struct LinkKeyLedger: Sendable {
    /// One observation: an account showed a key of a kind.
    public struct Observation: Sendable, Hashable {
        public var accountID: String
        public var kind: LinkEvidenceKind
        public var key: UInt64

        public init(accountID: String, kind: LinkEvidenceKind, key: UInt64) {
            self.accountID = accountID
            self.kind = kind
            self.key = key
        }
    }

    /// Distinct keys kept per account and kind (addresses of a rotating account are many;
    /// the first ones already tie it to the pool's other accounts).
    public static let maximumKeysPerKind = 32

    private var network: [String: NetworkKeys] = [:]
    /// Request ids whose signed reasoning each account sent back (`reasoning_replay_of`):
    /// the request may belong to an account of another shard, which only the campaign
    /// step can look up.
    private var replays: [String: [String]] = [:]

    struct NetworkKeys: Sendable {
        var addresses: [UInt64] = []
        var subnets: [UInt64] = []
        var userAgents: [UInt64] = []
        var fingerprints: [UInt64] = []
    }

    public init() {}

    /// Notes the client keys of one exchange (address, /24 or /48, user agent, client
    /// fingerprint), hashed as the engine's linkage hashes them.
    public mutating func note(_ e: Exchange) {
        if let replayed = e.reasoningReplayOf {
            var list = replays[e.accountID] ?? []
            if list.count < Self.maximumKeysPerKind, !list.contains(replayed) {
                list.append(replayed)
                replays[e.accountID] = list
            }
        }
        guard e.clientIP != nil || e.userAgent != nil || e.clientFingerprint != nil else { return }
        var keys = network[e.accountID] ?? NetworkKeys()
        if let ip = e.clientIP, let k = AddressKeys.keys(ip) {
            Self.add(k.address, to: &keys.addresses)
            if let subnet = k.subnet { Self.add(subnet, to: &keys.subnets) }
        }
        if let agent = e.userAgent { Self.add(stableHash(agent, salt: 0x0A6E), to: &keys.userAgents) }
        if let fingerprint = e.clientFingerprint { Self.add(stableHash(fingerprint, salt: 0xF1F6), to: &keys.fingerprints) }
        network[e.accountID] = keys
    }

    @inline(__always)
    private static func add(_ key: UInt64, to list: inout [UInt64]) {
        guard list.count < maximumKeysPerKind, !list.contains(key) else { return }
        list.append(key)
    }

    /// The `reasoning_replay_of` references noted: (account, request id), in account order.
    public var replayReferences: [(accountID: String, requestID: String)] {
        replays.keys.sorted().flatMap { id in replays[id]!.map { (id, $0) } }
    }

    /// Every observation: the client keys noted, and the profile keys the engine holds at
    /// the end (payment, e-mail domain, sign-up hour, parameter habit, system prompt, task
    /// list), in account order then kind order (deterministic).
    public func observations(engine: DetectionEngine) -> [Observation] {
        var out: [Observation] = []
        var ids = Set(network.keys)
        for id in engine.accountIDs { ids.insert(id) }
        for id in ids.sorted() {
            if let k = network[id] {
                for key in k.addresses { out.append(Observation(accountID: id, kind: .sharedAddress, key: key)) }
                for key in k.subnets { out.append(Observation(accountID: id, kind: .sharedSubnet, key: key)) }
                for key in k.userAgents { out.append(Observation(accountID: id, kind: .sharedUserAgent, key: key)) }
                for key in k.fingerprints { out.append(Observation(accountID: id, kind: .sharedClientFingerprint, key: key)) }
            }
            if let i = engine.accountIndex(id) {
                for (kind, key) in engine.profileLinkKeys(of: i) { out.append(Observation(accountID: id, kind: kind, key: key)) }
            }
        }
        return out
    }
}

extension DetectionEngine {
    /// The index of an account the engine knows, or `nil`. - Complexity: O(1).
    public func accountIndex(_ accountID: String) -> Int? {
        slot(ofAccount: accountID).map(Int.init)
    }

    /// Every account the linkage has joined to at least one other, with its group's size,
    /// in account order: on a shard, the parts of a campaign too small there to be one,
    /// which the campaign step joins with their other parts.
    /// - Complexity: O(accounts in groups).
    public func linkedAccounts() -> [(accountID: String, groupSize: Int)] {
        var out: [(accountID: String, groupSize: Int)] = []
        for group in linkage.groups.values where group.members.count >= 2 {
            for m in group.members { out.append((accountIDs[Int(m)], group.members.count)) }
        }
        return out.sorted { $0.accountID < $1.accountID }
    }

    /// The profile keys of account `i` as the linkage joins them: payment, e-mail domain,
    /// sign-up hour, parameter habit, system prompt and split task list, where known.
    func profileLinkKeys(of i: Int) -> [(LinkEvidenceKind, UInt64)] {
        guard i < linkage.profiles.count else { return [] }
        let p = linkage.profiles[i]
        var keys: [(LinkEvidenceKind, UInt64)] = []
        if p.paymentKey != 0 { keys.append((.sharedPayment, p.paymentKey)) }
        if p.emailKey != 0 { keys.append((.sharedEmailDomain, p.emailKey)) }
        if let created = p.created { keys.append((.signupBurst, Self.signupKey(created))) }
        let facts = linkFacts(i)
        if let params = facts.parameters { keys.append((.parameterFingerprint, params)) }
        if let system = facts.systemPrompt { keys.append((.templateFamily, Self.templateKey(system))) }
        if p.splitFamilyKey != 0 { keys.append((.complementaryCoverage, Self.taskListKey(p.splitFamilyKey))) }
        return keys
    }
}
