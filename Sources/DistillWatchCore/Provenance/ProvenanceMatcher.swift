/// Finds which records of a suspect dataset (prompt/response pairs someone published, sold
/// or was seized with) reproduce answers this provider served.
///
/// The dataset's response sketches go into an in-memory LSH table (32 bands of 2 bins:
/// Indyk and Motwani, STOC 1998; Leskovec, Rajaraman and Ullman, "Mining of Massive
/// Datasets", §3.4); the served responses' sketches, read from the store in one pass, are
/// offered one by one, and each probes the table. The index of served responses is thus a
/// flat, append-only list of 132-byte sketches (cheap to write at ingest, 28.8M of them in
/// under 4 GB), and the banding lives on the side that changes with each check. A pair whose
/// band agrees is confirmed on all 64 bins: it matches when at least `minimumAgreement` bins
/// agree and the record's estimated containment in the response reaches
/// `minimumContainment` (a truncated copy is contained in its source; a paraphrase keeps part
/// of its 3-grams).
///
/// Candidate probability for a pair of Jaccard similarity `J` is `1 - (1 - J²)^32`: 0.73 at
/// 0.2, 0.95 at 0.3, 0.99 at 0.4.
public struct ProvenanceMatcher: Sendable {
    public struct Thresholds: Sendable, Equatable {
        /// Bins of 64 that must agree (16: an estimated Jaccard similarity of 0.25).
        public var minimumAgreement: Int
        /// The record's estimated containment in the response.
        public var minimumContainment: Double

        public init(minimumAgreement: Int = 16, minimumContainment: Double = 0.4) {
            self.minimumAgreement = minimumAgreement
            self.minimumContainment = minimumContainment
        }
    }

    /// One record matched to one served response.
    public struct Match: Sendable, Equatable {
        public var record: Int
        public var response: Int64
        public var agreement: Int
        public var jaccard: Double
        public var containment: Double
    }

    public static let bands = 32
    public static let rows = 2

    public let thresholds: Thresholds
    /// Matches kept per record, the most contained first.
    public let matchesPerRecord: Int
    private let sketches: [ResponseSketch?]
    private var table: [UInt64: [Int32]] = [:]
    /// The best matches of each record so far.
    public private(set) var matches: [[Match]]
    /// Responses offered, and candidate pairs confirmed on all bins.
    public private(set) var responsesOffered = 0
    public private(set) var candidatePairs = 0

    /// - Parameter records: each dataset record's response sketch (nil for a record with no
    ///   text to compare).
    /// - Complexity: O(records × 32).
    public init(records: [ResponseSketch?], thresholds: Thresholds = Thresholds(), matchesPerRecord: Int = 5) {
        self.thresholds = thresholds
        self.matchesPerRecord = max(1, matchesPerRecord)
        sketches = records
        matches = Array(repeating: [], count: records.count)
        for (i, sketch) in records.enumerated() {
            guard let sketch else { continue }
            for b in 0..<Self.bands { table[Self.bandKey(sketch, band: b), default: []].append(Int32(i)) }
        }
    }

    static func bandKey(_ s: ResponseSketch, band: Int) -> UInt64 {
        var h = UInt64(band) &* 0x9E37_79B9_7F4A_7C15
        for r in 0..<rows { h = (h ^ UInt64(s.signature[band * rows + r])) &* 0xBF58_476D_1CE4_E5B9; h ^= h >> 29 }
        return h
    }

    /// Compares one served response with every dataset record that shares a band with it.
    /// - Returns: the matches it made.
    /// - Complexity: O(32) lookups plus O(64) per candidate.
    @discardableResult
    public mutating func offer(_ response: ResponseSketch, id: Int64) -> [Match] {
        responsesOffered += 1
        var seen: Set<Int32> = []
        var made: [Match] = []
        for b in 0..<Self.bands {
            guard let records = table[Self.bandKey(response, band: b)] else { continue }
            for r in records where seen.insert(r).inserted {
                guard let sketch = sketches[Int(r)] else { continue }
                candidatePairs += 1
                if let m = Self.judge(sketch, record: Int(r), against: response, id: id, thresholds) {
                    made.append(m)
                    keep(m)
                }
            }
        }
        return made
    }

    /// Whether a record matches a response under `thresholds`, and how well.
    public static func judge(_ record: ResponseSketch, record index: Int, against response: ResponseSketch, id: Int64,
                             _ thresholds: Thresholds) -> Match? {
        let agreement = record.agreement(with: response)
        guard agreement >= thresholds.minimumAgreement else { return nil }
        let containment = record.containment(in: response)
        guard containment >= thresholds.minimumContainment else { return nil }
        return Match(record: index, response: id, agreement: agreement, jaccard: record.jaccard(with: response),
                     containment: containment)
    }

    private mutating func keep(_ m: Match) {
        var list = matches[m.record]
        list.append(m)
        list.sort { ($0.containment, $0.agreement, -$0.response) > ($1.containment, $1.agreement, -$1.response) }
        if list.count > matchesPerRecord { list.removeLast(list.count - matchesPerRecord) }
        matches[m.record] = list
    }

    /// How often an unrelated text reaches the thresholds among the pairs a check confirms,
    /// estimated on this dataset itself: pairs of its own distinct records that share an LSH
    /// band (the pairs the banding makes candidates, so enriched for similarity as the
    /// check's are; the dataset's topics and style stand in for unrelated text), sampled up to
    /// `pairs`, excluding identical sketches. Records of one source in the dataset twice
    /// count against the estimate, which keeps it conservative. Called after the served
    /// answers were offered, it leaves out pairs of two records that both matched served
    /// answers (they may share a source, as two harvested answers to one task do). When fewer than `pairs`
    /// share a band (a dataset whose records seldom resemble each other), random pairs of
    /// distinct records make up the rest.
    /// - Returns: pairs compared, pairs that matched, and how many of those compared shared a band.
    /// - Complexity: O(pairs × 64) plus one pass over the band table.
    public func backgroundRate(pairs: Int, seed: UInt64 = 0x5EED) -> (compared: Int, matched: Int, sharingBand: Int) {
        var rng = SplitMix64(seed: seed)
        var candidates: [(Int32, Int32)] = []
        var total = 0
        // Reservoir sampling over the band-sharing pairs, in a fixed order of the table.
        for key in table.keys.sorted() {
            let bucket = table[key]!
            guard bucket.count >= 2 else { continue }
            let n = min(bucket.count, 200)
            for i in 0..<n {
                for j in (i + 1)..<n where bucket[i] != bucket[j] {
                    total += 1
                    if candidates.count < pairs {
                        candidates.append((bucket[i], bucket[j]))
                    } else {
                        let k = Int(rng.next() % UInt64(total))
                        if k < pairs { candidates[k] = (bucket[i], bucket[j]) }
                    }
                }
            }
        }
        var compared = 0, matched = 0
        var seen: Set<Int64> = []
        let sourced = { (i: Int) in !self.matches[i].isEmpty }
        for (a, b) in candidates {
            let (x, y) = (min(a, b), max(a, b))
            guard !(sourced(Int(x)) && sourced(Int(y))) else { continue }
            guard seen.insert(Int64(x) << 32 | Int64(y)).inserted, let sa = sketches[Int(x)], let sb = sketches[Int(y)], sa != sb else { continue }
            compared += 1
            if Self.judge(sa, record: Int(x), against: sb, id: 0, thresholds) != nil
                || Self.judge(sb, record: Int(y), against: sa, id: 0, thresholds) != nil { matched += 1 }
        }
        let sharingBand = compared
        let usable = sketches.indices.filter { sketches[$0] != nil }
        if usable.count >= 2 {
            var attempts = 0
            while compared < pairs, attempts < pairs * 2 {
                attempts += 1
                let a = usable[Int(rng.next() % UInt64(usable.count))], b = usable[Int(rng.next() % UInt64(usable.count))]
                guard a != b, !(sourced(a) && sourced(b)), let sa = sketches[a], let sb = sketches[b], sa != sb,
                      seen.insert(Int64(min(a, b)) << 32 | Int64(max(a, b))).inserted else { continue }
                compared += 1
                if Self.judge(sa, record: a, against: sb, id: 0, thresholds) != nil { matched += 1 }
            }
        }
        return (compared, matched, sharingBand)
    }
}
