import RealModule

/// The campaign signals of a linked group: each a value in [0, 1] with a detail a human
/// can check. Pure functions of ``CampaignState``.
///
/// - Complexity: O(24) per evaluation (the hour-of-day entropy).
enum CampaignSignals {
    typealias Values = InlineArray<7, Double>

    static func values(_ c: CampaignState, members n: Int) -> Values {
        var v = Values(repeating: 0)
        guard n > 0 else { return v }
        let count = Double(n)
        // Members' own evidence: a mean own score of 0.1 is ordinary, 0.35 is every member
        // half-way to review.
        let meanScore = c.ownScoreSum / count
        v[CampaignSignalKind.memberEvidence.ordinal] = clamp((meanScore - 0.1) / 0.25)
        // Aggregate volume: 2,000 exchanges a day from self-serve accounts is nothing, 20,000 is a lot.
        let selfServeShare = Double(c.selfServeMembers) / count
        let daily = Double(c.windowSum) * selfServeShare
        v[CampaignSignalKind.aggregateVolume.ordinal] = daily > 2_000 ? clamp(Double.log10(daily / 2_000)) : 0
        // Proxy rotation: more than a fifth of members rotating through networks.
        let rotating = Double(c.rotatingMembers) / count
        v[CampaignSignalKind.proxyRotation.ordinal] = clamp((rotating - 0.2) / 0.5)
        // An account farm: unverified self-serve accounts, most of the group; from 0 at 3 to
        // 1 at 33 of them (a family shares a card between two or three).
        v[CampaignSignalKind.accountFarm.ordinal] = clamp((Double(c.selfServeMembers) - 3) / 30)
            * clamp((selfServeShare - 0.5) / 0.4)
        let pairs = Double(max(1, c.linkedPairs))
        // Synchronised waves around the clock: pairs linked by synchrony, in a group whose
        // traffic covers the whole day (a class meeting at fixed hours does not).
        let syncShare = Double(c.pairKinds[LinkEvidenceKind.synchronisedActivity.ordinal]) / pairs
        v[CampaignSignalKind.synchronisedWaves.ordinal] = clamp(syncShare / 0.4) * clamp((c.diurnalEntropy - 0.8) / 0.12)
        // A split task list.
        let splitShare = Double(c.pairKinds[LinkEvidenceKind.complementaryCoverage.ordinal]) / pairs
        v[CampaignSignalKind.splitWorkload.ordinal] = clamp(splitShare / 0.5)
        // The whole group on a new model within its pivot window.
        if c.pivotWindowExchanges >= 50 {
            let share = Double(c.pivotNewModelExchanges) / Double(c.pivotWindowExchanges)
            v[CampaignSignalKind.coordinatedPivot.ordinal] = clamp((share - 0.3) / 0.3)
        }
        return v
    }

    /// Each signal's contribution to the group's score: its weight times what its value
    /// exceeds the level an analyst dismissed, at most 1.
    static func contributions(_ values: Values, dismissed: Values, policy: CampaignPolicy) -> Values {
        var out = Values(repeating: 0)
        for kind in CampaignSignalKind.all {
            out[kind.ordinal] = min(1, policy.weight(kind) * max(0, values[kind.ordinal] - dismissed[kind.ordinal]))
        }
        return out
    }

    static func detail(_ kind: CampaignSignalKind, _ c: CampaignState, members n: Int) -> String {
        let count = Double(max(1, n))
        let pairs = max(1, Int(c.linkedPairs))
        switch kind {
        case .memberEvidence:
            return "members' own scores average \(Wording.rounded(c.ownScoreSum / count, digits: 2))"
        case .aggregateVolume:
            return "\(c.windowSum) exchanges in the last 24 hours; \(c.selfServeMembers) of \(n) members are unverified self-serve accounts"
        case .proxyRotation:
            return "\(c.rotatingMembers) of \(n) accounts rotate through 6+ networks in 3+ countries or through a pool of sticky proxy exits"
        case .accountFarm:
            return "\(c.selfServeMembers) of \(n) accounts are unverified, on free or standard tiers"
        case .synchronisedWaves:
            let sync = Int(c.pairKinds[LinkEvidenceKind.synchronisedActivity.ordinal])
            return "\(sync) of \(pairs) linking comparisons active in the same minutes; traffic spread over the day (hour-of-day entropy \(Wording.rounded(c.diurnalEntropy, digits: 2)))"
        case .splitWorkload:
            let split = Int(c.pairKinds[LinkEvidenceKind.complementaryCoverage.ordinal])
            return "\(split) of \(pairs) linking comparisons send distinct items of one shared template"
        case .coordinatedPivot:
            let share = c.pivotWindowExchanges > 0 ? Double(c.pivotNewModelExchanges) / Double(c.pivotWindowExchanges) : 0
            return "\(Wording.rounded(share * 100, digits: 0))% of the group's traffic moved to the new model within its first day"
        }
    }

    @inline(__always)
    static func clamp(_ x: Double) -> Double { min(1, max(0, x)) }
}
