/// The account-linkage graph: who is linked to whom, maintained incrementally as traffic
/// flows, as a union-find forest over accounts with running totals per linked group.
///
/// Edges are never stored. Candidate pairs come from shared keys (``LinkKeyIndex``): when
/// an account uses an address, a subnet, a user agent or a client fingerprint, or
/// announces its profile keys (payment, e-mail domain, sign-up hour, parameters, template,
/// task list, proxy pool, minute buckets) at its first exchange and at milestones after
/// (8, 16, 32, ... exchanges), it is compared with the last four accounts on each key.
/// The comparison (``DetectionEngine`` `pairEvidence`) weighs every kind of evidence between
/// the two accounts as they stand; enough evidence joins their groups.
///
/// - Complexity: O(α(n)) per union or find (union by size, path halving); O(1) amortised
///   key work per exchange. Memory: about 190 bytes per account for the profile and
///   forest, plus the key index, plus one ``CampaignState`` (about 500 bytes and 4 bytes per
///   member) per group of two or more accounts.
struct LinkageGraph: Sendable {
    var profiles: ContiguousArray<LinkProfile> = []
    var parent: ContiguousArray<Int32> = []
    var size: ContiguousArray<Int32> = []
    /// Totals of every group of two or more accounts, by root.
    var groups: [Int32: CampaignState] = [:]
    var keys = LinkKeyIndex()
    var nextCampaignNumber: Int32 = 1
    /// How each linked account first joined another: kept only for accounts that were
    /// ever linked, so unlinked accounts (nearly all customers) cost nothing.
    var firstLinks: [Int32: FirstLink] = [:]
    /// How much linking work has been done: to check that it grows with the traffic, not
    /// with the square of the accounts.
    var work = LinkageWork()

    /// The link that first took an account out of its own group: the account it was
    /// compared with, the evidence, and when. What an analyst checks to see why the
    /// account is in its campaign.
    struct FirstLink: Sendable, Equatable {
        var partner: Int32
        var kinds: UInt16
        var weight: Float
        /// Below the link threshold: attached to an already flagged campaign.
        var attached: Bool
        var at: Timestamp
    }

    /// Records the link between `a` and `b` as the first link of each that had none.
    /// - Complexity: O(1) amortised.
    mutating func noteFirstLink(_ a: Int32, _ b: Int32, kinds: UInt16, weight: Double, attached: Bool, at t: Timestamp) {
        if firstLinks[a] == nil {
            firstLinks[a] = FirstLink(partner: b, kinds: kinds, weight: Float(weight), attached: attached, at: t)
        }
        if firstLinks[b] == nil {
            firstLinks[b] = FirstLink(partner: a, kinds: kinds, weight: Float(weight), attached: attached, at: t)
        }
    }

    mutating func addAccount() {
        parent.append(Int32(parent.count))
        size.append(1)
        profiles.append(LinkProfile())
    }

    /// The root of `i`'s group, halving paths on the way. - Complexity: O(α(n)) amortised.
    mutating func find(_ i: Int32) -> Int32 {
        var x = i
        while parent[Int(x)] != x {
            let grand = parent[Int(parent[Int(x)])]
            parent[Int(x)] = grand
            x = grand
        }
        return x
    }

    /// The root of `i`'s group without changing the forest (for read-only queries).
    /// Always inlined: out of line, a caller holding the graph in a mutating context
    /// passed it as a 344-byte copy (on every exchange of a linked account).
    @inline(__always)
    func root(of i: Int32) -> Int32 {
        var x = i
        while parent[Int(x)] != x { x = parent[Int(x)] }
        return x
    }

    /// The group an account is in, when it is in one with others and not detached.
    func group(of i: Int32) -> CampaignState? {
        guard !profiles[Int(i)].detached else { return nil }
        return groups[root(of: i)]
    }

    /// The root of the group whose campaign has `number`; `nil` for a number no campaign
    /// has, including 0 (the number of every group not yet flagged, so it names none of
    /// them: with it an analyst's label landed on whichever unflagged group the dictionary
    /// listed first, which also made two engines disagree; found by fuzz-engine) and numbers
    /// outside `Int32` (converting them trapped).
    /// - Complexity: O(groups).
    func root(ofCampaign number: Int) -> Int32? {
        guard let n = Int32(exactly: number), n > 0 else { return nil }
        return groups.first { $0.value.number == n }?.key
    }
}

/// Counts of the linkage graph's work since the engine started. Each is O(1) work per
/// unit, so these over the exchanges are the linkage cost per exchange, whatever the scale.
public struct LinkageWork: Sendable, Equatable, Codable {
    /// Key joins that looked up candidates: an account new on an address, subnet or client
    /// key, or announcing a profile key.
    public var keyJoins = 0
    /// Account pairs compared (at most four per key joined).
    public var pairComparisons = 0
    /// Groups merged.
    public var unions = 0
    /// Group scorings.
    public var groupScorings = 0
    /// Profile and client keys held, and joins of new ones refused at the index's cap
    /// (``LinkKeyIndex/profileCapacity``): a refused key links nobody.
    public var profileKeysHeld = 0
    public var profileKeysRefused = 0
    /// Address and subnet keys held in the two generations.
    public var exchangeKeysHeld = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case keyJoins = "key_joins"
        case pairComparisons = "pair_comparisons"
        case unions
        case groupScorings = "group_scorings"
        case profileKeysHeld = "profile_keys_held"
        case profileKeysRefused = "profile_keys_refused"
        case exchangeKeysHeld = "exchange_keys_held"
    }
}

// MARK: Snapshot

extension LinkageGraph: SnapshotCodable {
    static var snapshotFieldCount: Int { 8 }

    func write(to w: inout SnapshotWriter) {
        w.section("linkage")
        w.array(profiles)
        w.array(parent) { $0.int($1) }
        w.array(size) { $0.int($1) }
        w.dictionary(groups) { w, root, group in
            w.int(root)
            w.value(group)
        }
        w.value(keys)
        w.int(nextCampaignNumber)
        w.dictionary(firstLinks) { w, account, link in
            w.int(account)
            w.int(link.partner)
            w.int(link.kinds)
            w.float(link.weight)
            w.bool(link.attached)
            w.timestamp(link.at)
        }
        w.value(work)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        try r.section("linkage")
        profiles = ContiguousArray(try r.array(LinkProfile.self, minimumElementSize: 64))
        parent = ContiguousArray(try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() })
        size = ContiguousArray(try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() })
        groups = try r.dictionary(minimumEntrySize: 8) { (r: inout SnapshotReader) throws(SnapshotError) in
            (try r.int(Int32.self), try r.value(CampaignState.self))
        }
        keys = try r.value()
        nextCampaignNumber = try r.int()
        firstLinks = try r.dictionary(minimumEntrySize: 23) { (r: inout SnapshotReader) throws(SnapshotError) in
            (try r.int(Int32.self), FirstLink(partner: try r.int(), kinds: try r.int(), weight: try r.float(),
                                              attached: try r.bool(), at: try r.timestamp()))
        }
        work = try r.value()
        let n = profiles.count
        guard parent.count == n, size.count == n, parent.allSatisfy({ $0 >= 0 && Int($0) < n }),
              groups.keys.allSatisfy({ Int($0) < n }) else {
            throw SnapshotError("the linkage forest does not match its \(n) accounts")
        }
    }
}

extension LinkageWork: SnapshotCodable {
    static var snapshotFieldCount: Int { 7 }

    func write(to w: inout SnapshotWriter) {
        for v in [keyJoins, pairComparisons, unions, groupScorings, profileKeysHeld, profileKeysRefused, exchangeKeysHeld] {
            w.int(Int64(v))
        }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        self.init()
        keyJoins = Int(try r.int(Int64.self))
        pairComparisons = Int(try r.int(Int64.self))
        unions = Int(try r.int(Int64.self))
        groupScorings = Int(try r.int(Int64.self))
        profileKeysHeld = Int(try r.int(Int64.self))
        profileKeysRefused = Int(try r.int(Int64.self))
        exchangeKeysHeld = Int(try r.int(Int64.self))
    }
}
