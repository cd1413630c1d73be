import RealModule

/// The running totals of one linked group of accounts (two or more), kept by its
/// union-find root and merged when groups join. Every field merges exactly (sums, hourly
/// buckets aligned to the newer hour), so a group's totals do not depend on the order in
/// which its members were linked.
struct CampaignState: Sendable {
    var members: [Int32] = []
    /// Campaign number, given when the group first reaches the review threshold (0 before).
    var number: Int32 = 0
    var exchanges: Int64 = 0
    var outputTokens: Int64 = 0
    var firstSeen = Timestamp(millisecondsSinceEpoch: .max)
    var lastSeen = Timestamp(millisecondsSinceEpoch: .min)
    /// Exchanges per hour over the last 24 hours; `windowHour` is the newest bucket's hour.
    var window = InlineArray<24, UInt32>(repeating: 0)
    var windowHour: Int64 = .min
    var windowSum: Int64 = 0
    var hourOfDay = InlineArray<24, UInt32>(repeating: 0)
    /// Σ of members' own scores (behaviour and content), kept as they change.
    var ownScoreSum: Double = 0
    var rotatingMembers: Int32 = 0
    var selfServeMembers: Int32 = 0
    /// Comparisons of two members whose evidence reached the attach threshold ("linking
    /// comparisons"; the same two accounts count again when compared again at a later
    /// milestone), and how many of them carried each kind of evidence.
    var linkedPairs: Int32 = 0
    var pairKinds = InlineArray<15, Int32>(repeating: 0)
    var pivotWindowExchanges: Int64 = 0
    var pivotNewModelExchanges: Int64 = 0

    // Verdict.
    var score: Double = 0
    var verdict: Verdict = .allow
    var strongest: CampaignSignalKind?
    var firstFlaggedAt: Timestamp?
    var lastScoredMinute: Int64 = .min
    /// Signal values an analyst dismissed; only evidence beyond them counts.
    var dismissed = InlineArray<7, Double>(repeating: 0)
    var confirmed = false
    var label: AnalystLabel?

    /// Adds one member's history as it stands (when it joins a group).
    mutating func absorb(member: Int32, view s: AccountLinkView, window w: AccountWindowView, profile: LinkProfile) {
        members.append(member)
        exchanges.addSaturating(s.exchanges)
        outputTokens.addSaturating(w.outputTokens)
        if s.exchanges > 0 {
            firstSeen = min(firstSeen, w.firstSeen)
            lastSeen = max(lastSeen, w.lastSeen)
            mergeWindow(w.windowExchanges, hour: w.windowHour)
            for h in 0..<24 { hourOfDay[h] &+= w.hourOfDayCounts[h] }
        }
        ownScoreSum += s.score
        if profile.countedProxy { rotatingMembers += 1 }
        if profile.unverifiedSelfServe { selfServeMembers += 1 }
        pivotWindowExchanges.addSaturating(Int64(s.pivotWindowExchanges))
        pivotNewModelExchanges.addSaturating(Int64(s.pivotNewModelExchanges))
    }

    /// Adds another group (the two are joined under this one's root).
    mutating func merge(_ o: CampaignState) {
        members.append(contentsOf: o.members)
        number = number == 0 ? o.number : (o.number == 0 ? number : min(number, o.number))
        exchanges.addSaturating(o.exchanges)
        outputTokens.addSaturating(o.outputTokens)
        firstSeen = min(firstSeen, o.firstSeen)
        lastSeen = max(lastSeen, o.lastSeen)
        mergeWindow(o.window, hour: o.windowHour)
        for h in 0..<24 { hourOfDay[h] &+= o.hourOfDay[h] }
        ownScoreSum += o.ownScoreSum
        rotatingMembers += o.rotatingMembers
        selfServeMembers += o.selfServeMembers
        linkedPairs.addSaturating(o.linkedPairs)
        for k in 0..<LinkEvidenceKind.count { pairKinds[k] += o.pairKinds[k] }
        pivotWindowExchanges.addSaturating(o.pivotWindowExchanges)
        pivotNewModelExchanges.addSaturating(o.pivotNewModelExchanges)
        if let f = o.firstFlaggedAt { firstFlaggedAt = firstFlaggedAt.map { min($0, f) } ?? f }
        confirmed = confirmed || o.confirmed
        for k in 0..<CampaignSignalKind.count { dismissed[k] = max(dismissed[k], o.dismissed[k]) }
        lastScoredMinute = .min
    }

    /// Counts one member exchange.
    mutating func record(at t: Timestamp, outputTokens output: Int64, pivotWindow: Int64, pivotNewModel: Int64) {
        exchanges.addSaturating(1)
        outputTokens.addSaturating(output)
        firstSeen = min(firstSeen, t)
        lastSeen = max(lastSeen, t)
        let hour = t.hourIndex
        advanceWindow(to: hour)
        window[Int(((hour % 24) + 24) % 24)] &+= 1
        windowSum.addSaturating(1)
        hourOfDay[t.hourOfDay] &+= 1
        pivotWindowExchanges.addSaturating(pivotWindow)
        pivotNewModelExchanges.addSaturating(pivotNewModel)
    }

    mutating func notePair(kinds: UInt16) {
        linkedPairs.addSaturating(1)
        for k in 0..<LinkEvidenceKind.count where kinds & (1 << UInt16(k)) != 0 { pairKinds[k] += 1 }
    }

    private mutating func advanceWindow(to hour: Int64) {
        if windowHour == .min {
            windowHour = hour
            return
        }
        guard hour > windowHour else { return }
        let steps = min(24, hour - windowHour)
        for k in 1...steps {
            let b = Int(((windowHour + k) % 24 + 24) % 24)
            windowSum -= Int64(window[b])
            window[b] = 0
        }
        windowHour = hour
    }

    private mutating func mergeWindow(_ other: InlineArray<24, UInt32>, hour: Int64) {
        guard hour != .min else { return }
        if windowHour == .min || hour > windowHour { advanceWindow(to: hour) }
        // Buckets of `other` older than 24 hours before our newest hour have expired.
        let age = windowHour - hour
        guard age < 24 else { return }
        for k in 0..<Int(24 - age) {
            let h = hour - Int64(k)
            let b = Int(((h % 24) + 24) % 24)
            window[b] &+= other[b]
            windowSum.addSaturating(Int64(other[b]))
        }
    }

    /// Hour-of-day entropy of the group's traffic, normalised to [0, 1].
    var diurnalEntropy: Double {
        var n = 0.0, clogc = 0.0
        for h in 0..<24 {
            let c = Double(hourOfDay[h])
            n += c
            if c > 0 { clogc += c * Double.log(c) }
        }
        guard n > 1 else { return 0 }
        return max(0, min(1, (Double.log(n) - clogc / n) / Double.log(24)))
    }
}

// MARK: Snapshot

extension CampaignState: SnapshotCodable {
    static var snapshotFieldCount: Int { 25 }

    func write(to w: inout SnapshotWriter) {
        w.array(members) { $0.int($1) }
        w.int(number)
        w.int(exchanges)
        w.int(outputTokens)
        w.timestamp(firstSeen)
        w.timestamp(lastSeen)
        w.inline(window)
        w.int(windowHour)
        w.int(windowSum)
        w.inline(hourOfDay)
        w.double(ownScoreSum)
        w.int(rotatingMembers)
        w.int(selfServeMembers)
        w.int(linkedPairs)
        w.inline(pairKinds)
        w.int(pivotWindowExchanges)
        w.int(pivotNewModelExchanges)
        w.double(score)
        w.string(verdict.rawValue)
        w.optional(strongest) { $0.string($1.rawValue) }
        w.optional(firstFlaggedAt) { $0.timestamp($1) }
        w.int(lastScoredMinute)
        w.inline(dismissed)
        w.bool(confirmed)
        w.optional(label) { $0.string($1.rawValue) }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        members = try r.array(minimumElementSize: MemoryLayout<Int32>.size) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        number = try r.int()
        exchanges = try r.int()
        outputTokens = try r.int()
        firstSeen = try r.timestamp()
        lastSeen = try r.timestamp()
        window = try r.inline()
        windowHour = try r.int()
        windowSum = try r.int()
        hourOfDay = try r.inline()
        ownScoreSum = try r.double()
        rotatingMembers = try r.int()
        selfServeMembers = try r.int()
        linkedPairs = try r.int()
        pairKinds = try r.inline()
        pivotWindowExchanges = try r.int()
        pivotNewModelExchanges = try r.int()
        score = try r.double()
        verdict = try r.rawValue(Verdict.self)
        strongest = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.rawValue(CampaignSignalKind.self) }
        firstFlaggedAt = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        lastScoredMinute = try r.int()
        dismissed = try r.inline()
        confirmed = try r.bool()
        label = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.rawValue(AnalystLabel.self) }
    }
}
