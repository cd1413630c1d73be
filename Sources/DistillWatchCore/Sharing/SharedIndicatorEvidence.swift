/// What one shared indicator matched of one account: kept on the account's state (at
/// most ``SharedIndicatorEvidence/capacity`` indicators per account, the strongest kept).
///
/// The indicator's source, campaign and expiry are copied in when it first matches and
/// refreshed whenever the indicator set is replaced, so the `shared_indicator` signal is a
/// pure function of the account's state and the time, and a revoked or removed indicator
/// stops counting at once (``DetectionEngine/replaceSharedIndicators(_:)``).
struct SharedIndicatorEvidence: Sendable, Equatable {
    static let capacity = 8

    var id: String
    var source: String
    var campaign: String?
    var validUntil: Timestamp?
    /// ``SharedIndicatorKind`` bits seen.
    var kinds: UInt8
    /// Exchanges (and account records) that matched.
    var matches: Int32
    /// Of them, exchanges whose prompt or system prompt matched.
    var contentMatches: Int32
    var first: Timestamp
    var last: Timestamp

    func isActive(at t: Timestamp) -> Bool { validUntil.map { t < $0 } ?? true }

    /// How much this indicator says about the account, for ordering and eviction.
    var weight: Int64 { Int64(contentMatches) * 1_000 + Int64(matches) }
}

extension AccountState {
    /// Adds `found` (matches of one exchange or record at `t`) to the account's evidence.
    /// - Complexity: O(capacity) per match.
    mutating func noteShared(_ found: [SharedIndicatorMatch], in set: SharedIndicatorSet, at t: Timestamp) {
        for m in found {
            let content = m.kinds & (SharedIndicatorKind.templateFamily.bit | SharedIndicatorKind.systemPrompt.bit) != 0
            if let k = sharedEvidence.firstIndex(where: { $0.id == m.id }) {
                sharedEvidence[k].kinds |= m.kinds
                sharedEvidence[k].matches.incrementSaturating()
                if content { sharedEvidence[k].contentMatches.incrementSaturating() }
                sharedEvidence[k].last = max(sharedEvidence[k].last, t)
                continue
            }
            let indicator = set.indicators[Int(m.position)]
            let entry = SharedIndicatorEvidence(
                id: m.id, source: indicator.source, campaign: indicator.campaign, validUntil: indicator.validUntil,
                kinds: m.kinds, matches: 1, contentMatches: content ? 1 : 0, first: t, last: t)
            if sharedEvidence.count < SharedIndicatorEvidence.capacity {
                sharedEvidence.append(entry)
            } else if let weakest = sharedEvidence.indices.min(by: { sharedEvidence[$0].weight < sharedEvidence[$1].weight }),
                      sharedEvidence[weakest].weight < entry.weight {
                sharedEvidence[weakest] = entry
            }
        }
    }

    /// Refreshes the evidence against a new indicator set: an indicator no longer present
    /// (revoked, withdrawn) is forgotten; one still present takes its new expiry.
    /// Returns whether anything changed.
    mutating func refreshShared(against set: SharedIndicatorSet) -> Bool {
        guard !sharedEvidence.isEmpty else { return false }
        let before = sharedEvidence
        sharedEvidence = sharedEvidence.compactMap { e in
            guard let indicator = set.indicator(id: e.id) else { return nil }
            var e = e
            e.validUntil = indicator.validUntil
            e.source = indicator.source
            e.campaign = indicator.campaign
            return e
        }
        return sharedEvidence != before
    }
}

// MARK: Snapshot

extension SharedIndicatorEvidence: SnapshotCodable {
    static var snapshotFieldCount: Int { 9 }

    func write(to w: inout SnapshotWriter) {
        w.string(id)
        w.string(source)
        w.optional(campaign) { $0.string($1) }
        w.optional(validUntil) { $0.timestamp($1) }
        w.int(kinds)
        w.int(matches)
        w.int(contentMatches)
        w.timestamp(first)
        w.timestamp(last)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        id = try r.string()
        source = try r.string()
        campaign = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        validUntil = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        kinds = try r.int()
        matches = try r.int()
        contentMatches = try r.int()
        first = try r.timestamp()
        last = try r.timestamp()
    }
}

/// How often one shared indicator matched here: what a `sighting` shared back to its
/// producer says (STIX 2.1 §5.4), without naming any account.
public struct SharedIndicatorSighting: Sendable, Equatable {
    /// The indicator's STIX id.
    public var indicatorID: String
    public var source: String
    /// Exchanges (and account records) that matched, over all accounts.
    public var matches: Int
    /// Accounts that matched (a count: no id leaves).
    public var accounts: Int
    public var first: Timestamp
    public var last: Timestamp
}

extension DetectionEngine {
    /// Every shared indicator that matched, with counts and time window, ordered by id
    /// (indicators no longer in the set included: a sighting is history).
    /// - Complexity: O(accounts with matches × matches per account).
    public var sharedIndicatorSightings: [SharedIndicatorSighting] {
        var byID: [String: SharedIndicatorSighting] = [:]
        for s in states where !s.sharedEvidence.isEmpty {
            for e in s.sharedEvidence {
                if var seen = byID[e.id] {
                    seen.matches += Int(e.matches)
                    seen.accounts += 1
                    seen.first = min(seen.first, e.first)
                    seen.last = max(seen.last, e.last)
                    byID[e.id] = seen
                } else {
                    byID[e.id] = SharedIndicatorSighting(indicatorID: e.id, source: e.source, matches: Int(e.matches), accounts: 1,
                                                         first: e.first, last: e.last)
                }
            }
        }
        return byID.values.sorted { $0.indicatorID < $1.indicatorID }
    }
}
