import RealModule

/// An account's content profile in fixed memory (about 300 bytes): what it asks for, how
/// varied it is, and how much of it comes from shared templates.
struct ContentState: Sendable {
    var exchanges: Int32 = 0
    /// Exchanges with each elicitation cue: chain of thought, rubric grading, sensitive
    /// rewriting, synthetic data.
    var cueCounts = InlineArray<4, Int32>(repeating: 0)
    var capabilityCounts = InlineArray<6, Int32>(repeating: 0)
    var tokens: Int64 = 0
    /// Exchanges whose template family was, at the time, used by many accounts.
    var sharedTemplateExchanges: Int32 = 0
    var lastTemplateKey: UInt64 = 0
    var sameTemplateAsPrevious: Int32 = 0
    var systemPromptExchanges: Int32 = 0
    var lastSystemKey: UInt64 = 0
    var sameSystemAsPrevious: Int32 = 0
    /// One-bit MinHash fingerprints of the last 16 prompts, to find near-duplicates.
    var recentFingerprints = InlineArray<32, UInt64>(repeating: 0)
    var recentCount: UInt8 = 0
    var recentHead: UInt8 = 0
    var nearDuplicates: Int32 = 0
    /// Prompts byte for byte identical to one of the last 8 (re-samples), and those 8 keys.
    var exactRepeats: Int32 = 0
    var recentExact = InlineArray<8, UInt64>(repeating: 0)
    var recentExactHead: UInt8 = 0
    /// Distinct signature values (16 bins a prompt): novel material across prompts.
    var novelty = SmallHyperLogLog()
    /// Distinct sampled vocabulary, and how many sampled tokens it came from.
    var vocabulary = SmallHyperLogLog()
    var vocabularySamples: Int64 = 0
    /// One excerpt of a prompt that carried an elicitation cue (only with evidence excerpts on).
    var cueExcerpt: String?

    static let cueOrder: [ContentCues] = [.chainOfThought, .rubricGrading, .sensitiveRewriting, .syntheticData]

    mutating func update(with f: ContentFeatures, sharedTemplate: Bool) {
        exchanges += 1
        tokens += Int64(f.tokenCount)
        for (k, cue) in Self.cueOrder.enumerated() where f.cues.contains(cue) { cueCounts[k] += 1 }
        capabilityCounts[f.capability.ordinal] += 1
        if sharedTemplate { sharedTemplateExchanges += 1 }
        if exchanges > 1, f.templateKey == lastTemplateKey { sameTemplateAsPrevious += 1 }
        lastTemplateKey = f.templateKey
        if let system = f.systemKey {
            if systemPromptExchanges > 0, system == lastSystemKey { sameSystemAsPrevious += 1 }
            systemPromptExchanges += 1
            lastSystemKey = system
        }
        // A near-duplicate: estimated Jaccard of at least 0.8 with one of the last 16
        // prompts, i.e. at least 115 of 128 fingerprint bits agree. Unrelated prompts agree
        // on about 64 + 32·J bits, several standard deviations below.
        let fingerprint = f.fingerprint
        var duplicate = false
        for i in 0..<Int(recentCount) {
            let disagree = (recentFingerprints[2 * i] ^ fingerprint.0).nonzeroBitCount
                + (recentFingerprints[2 * i + 1] ^ fingerprint.1).nonzeroBitCount
            if disagree <= 13 {
                duplicate = true
                break
            }
        }
        if duplicate { nearDuplicates += 1 }
        let exact = f.exactKey
        if exact != 0 {
            var identical = false
            for i in 0..<8 where recentExact[i] == exact { identical = true; break }
            if identical { exactRepeats += 1 }
            recentExact[Int(recentExactHead)] = exact
            recentExactHead = (recentExactHead + 1) & 7
        }
        recentFingerprints[2 * Int(recentHead)] = fingerprint.0
        recentFingerprints[2 * Int(recentHead) + 1] = fingerprint.1
        recentHead = (recentHead + 1) % 16
        if recentCount < 16 { recentCount += 1 }
        let updates = f.noveltyUpdates
        for i in 0..<16 { novelty.apply(updates[i]) }
        f.forEachVocabularySample { vocabulary.insert(hash: $0) }
        vocabularySamples += Int64(f.vocabularySampleCount)
        if cueExcerpt == nil, !f.cues.isEmpty, let excerpt = f.excerpt { cueExcerpt = excerpt }
    }

    func cueShare(_ k: Int) -> Double {
        exchanges > 0 ? Double(cueCounts[k]) / Double(exchanges) : 0
    }

    /// Shares of each capability, summing to 1 (all zero without content).
    var capabilityShares: [(Capability, Double)] {
        guard exchanges > 0 else { return [] }
        return Capability.allCases.map { ($0, Double(capabilityCounts[$0.ordinal]) / Double(exchanges)) }
    }
}

/// Template families across all accounts: for each wrapper key, roughly how many distinct
/// accounts have used it, and how distinct the content inside the wrapper is.
///
/// Distinct accounts per family are counted with a 64-bit linear-counting bitmap (exact
/// enough up to about 100 accounts, which is all the signal needs); content novelty across
/// the family with a 64-register HyperLogLog over 16 signature bins a prompt, like an
/// account's. A family used by many accounts with mostly distinct content is a task list
/// split across accounts; a class whose students send the same homework has low novelty.
/// The catalogue holds at most ``capacity`` families (about 100 bytes each, plus 16 bytes
/// of index per slot); once full, new families are not tracked (they count as unshared),
/// which keeps memory bounded.
///
/// Families are found through an open-addressing index (Fibonacci hashing of the wrapper
/// key, which is already a hash, and linear probing, at most half full): one multiply and
/// usually one probe per exchange, where a `Dictionary` would hash the key again with
/// SipHash.
struct TemplateCatalog: Sendable {
    struct Family: Sendable {
        var accountBits: UInt64 = 0
        var exchanges: Int64 = 0
        var novelty = SmallHyperLogLog()
    }

    /// What the catalogue knows of a family after recording one use.
    struct Use {
        var accounts: Double
        var novelty: Double
    }

    static let capacity = 200_000
    private(set) var families: [Family] = []
    /// The index: a wrapper key and its position in ``families`` plus one; 0 marks an
    /// empty slot. A power of two in size.
    private var slots = [(key: UInt64, family: Int32)](repeating: (0, 0), count: 1024)
    private var slotShift: UInt64 = 54

    /// Records that `account` used the family of `features`.
    /// - Complexity: amortised O(1): one probe sequence; the family is updated in place.
    mutating func record(_ features: ContentFeatures, account: Int32) -> Use {
        let key = features.templateKey
        var s = slotIndex(key)
        let mask = slots.count - 1
        while slots[s].family != 0, slots[s].key != key { s = (s + 1) & mask }
        var family = Int(slots[s].family) - 1
        if family < 0 {
            guard families.count < Self.capacity else { return Use(accounts: 1, novelty: 1) }
            family = families.count
            families.append(Family())
            slots[s] = (key, Int32(family + 1))
            if 2 * families.count > slots.count { grow() }
        }
        let bit = UInt64(1) << (SmallHyperLogLog.mix(UInt64(UInt32(bitPattern: account))) & 63)
        return Self.update(&families[family], bit: bit, novelty: features.noveltyUpdates)
    }

    @inline(__always)
    private func slotIndex(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> slotShift)
    }

    /// Doubles the index and re-inserts every family's key.
    private mutating func grow() {
        let old = slots
        slots = Array(repeating: (0, 0), count: old.count * 2)
        slotShift -= 1
        let mask = slots.count - 1
        for entry in old where entry.family != 0 {
            var s = slotIndex(entry.key)
            while slots[s].family != 0 { s = (s + 1) & mask }
            slots[s] = entry
        }
    }

    private static func update(
        _ family: inout Family, bit: UInt64, novelty: InlineArray<16, SmallHyperLogLog.Update>
    ) -> Use {
        family.accountBits |= bit
        family.exchanges += 1
        for i in 0..<16 { family.novelty.apply(novelty[i]) }
        return Use(accounts: distinctAccounts(family.accountBits),
                   novelty: min(1, family.novelty.estimate / (16 * Double(family.exchanges))))
    }

    /// Linear counting: n ≈ −64 · ln(zero bits / 64).
    static func distinctAccounts(_ bits: UInt64) -> Double {
        let zeros = 64 - bits.nonzeroBitCount
        guard zeros > 0 else { return 250 }
        return -64 * Double.log(Double(zeros) / 64)
    }
}

// MARK: Snapshot

extension ContentState: SnapshotCodable {
    static var snapshotFieldCount: Int { 21 }

    func write(to w: inout SnapshotWriter) {
        w.int(exchanges)
        w.inline(cueCounts)
        w.inline(capabilityCounts)
        w.int(tokens)
        w.int(sharedTemplateExchanges)
        w.int(lastTemplateKey)
        w.int(sameTemplateAsPrevious)
        w.int(systemPromptExchanges)
        w.int(lastSystemKey)
        w.int(sameSystemAsPrevious)
        w.inline(recentFingerprints)
        w.int(recentCount)
        w.int(recentHead)
        w.int(nearDuplicates)
        w.int(exactRepeats)
        w.inline(recentExact)
        w.int(recentExactHead)
        w.value(novelty)
        w.value(vocabulary)
        w.int(vocabularySamples)
        w.optional(cueExcerpt) { $0.string($1) }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        exchanges = try r.int()
        cueCounts = try r.inline()
        capabilityCounts = try r.inline()
        tokens = try r.int()
        sharedTemplateExchanges = try r.int()
        lastTemplateKey = try r.int()
        sameTemplateAsPrevious = try r.int()
        systemPromptExchanges = try r.int()
        lastSystemKey = try r.int()
        sameSystemAsPrevious = try r.int()
        recentFingerprints = try r.inline()
        recentCount = try r.int()
        recentHead = try r.int()
        nearDuplicates = try r.int()
        exactRepeats = try r.int()
        recentExact = try r.inline()
        recentExactHead = try r.int()
        novelty = try r.value(SmallHyperLogLog.self)
        vocabulary = try r.value(SmallHyperLogLog.self)
        vocabularySamples = try r.int()
        cueExcerpt = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        guard recentCount <= 16, recentHead < 16, recentExactHead < 8 else {
            throw SnapshotError("byte \(r.offset): a content ring position is out of range")
        }
    }
}

extension TemplateCatalog: SnapshotCodable {
    static var snapshotFieldCount: Int { 3 }

    func write(to w: inout SnapshotWriter) {
        w.array(families) { w, f in
            w.int(f.accountBits)
            w.int(f.exchanges)
            w.value(f.novelty)
        }
        w.array(slots) { w, s in
            w.int(s.key)
            w.int(s.family)
        }
        w.int(slotShift)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        families = try r.array(minimumElementSize: 16) { (r: inout SnapshotReader) throws(SnapshotError) in
            Family(accountBits: try r.int(), exchanges: try r.int(), novelty: try r.value())
        }
        slots = try r.array(minimumElementSize: 12) { (r: inout SnapshotReader) throws(SnapshotError) in
            (key: try r.int(), family: try r.int())
        }
        slotShift = try r.int()
        // At most half full (as grow() keeps it), so every probe sequence ends.
        guard slots.count.nonzeroBitCount == 1, 64 - slotShift == UInt64(slots.count.trailingZeroBitCount),
              2 * families.count <= slots.count, slots.allSatisfy({ $0.family >= 0 && Int($0.family) <= families.count }) else {
            throw SnapshotError("the template catalogue's index does not match its families")
        }
    }
}
