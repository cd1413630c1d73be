/// A keyed MinHash sketch of one response's text, never the text: what provenance keeps of
/// each answer served, to recognise it later in a published or seized dataset
/// (Documentation/Provenance.md).
///
/// - Shingles: overlapping word 3-grams of the text's words (letters and digits, lower-cased:
///   case, punctuation and markup do not matter), except those made of function words
///   only, each through the content key's SipHash PRF
///   (``ContentKey/prf(_:)``), so a sketch reveals nothing about a text one cannot already
///   guess *and* hash under the provider's secret key.
/// - MinHash: one permutation hashing with 64 bins and optimal densification (Li, Owen and
///   Zhang, "One Permutation Hashing", NeurIPS 2012; Shrivastava, "Optimal Densification for
///   Fast and Accurate Minwise Hashing", ICML 2017): each shingle hash goes to the bin its top
///   6 bits name, the bin keeps its smallest value, and an empty bin takes a neighbour's.
/// - Storage: 16 bits of each bin (b-bit minwise hashing, Li and König, WWW 2010): the
///   probability that two bins agree is `J + (1 - J) / 65536` for Jaccard similarity `J`.
///
/// The number of distinct shingles is kept too, so that Jaccard similarity converts to
/// containment: a truncated copy of an answer is contained in it even when their Jaccard
/// similarity is low.
public struct ResponseSketch: Sendable, Equatable, Hashable {
    public static let bins = 64
    public static let shingleWords = 3

    /// 16 bits of each bin's minimum (64 values).
    public var signature: [UInt16]
    /// Distinct shingles (an estimate above 64: the count of shingle hashes, which double
    /// counts repeated 3-grams; at most 2^32 - 1).
    public var shingles: UInt32

    public init(signature: [UInt16], shingles: UInt32) {
        self.signature = signature
        self.shingles = shingles
    }

    /// The 128 signature bytes and 4 count bytes, little-endian: how the store keeps it.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.bins * 2 + 4)
        for v in signature { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
        for k in 0..<4 { out.append(UInt8((shingles >> (8 * UInt32(k))) & 0xFF)) }
        return out
    }

    /// Reads ``bytes``. - Returns: nil for a blob of another length.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == Self.bins * 2 + 4 else { return nil }
        signature = (0..<Self.bins).map { UInt16(b[2 * $0]) | UInt16(b[2 * $0 + 1]) << 8 }
        shingles = (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[Self.bins * 2 + $1]) << (8 * UInt32($1)) }
    }

    /// The sketch of a text, or nil when the text has no word.
    /// - Complexity: O(n) in the text's bytes: one PRF call per word.
    public static func of(_ text: String, key: ContentKey) -> ResponseSketch? {
        var text = text
        return text.withUTF8 { of(bytes: $0, key: key) }
    }

    public static func of(bytes: UnsafeBufferPointer<UInt8>, key: ContentKey) -> ResponseSketch? {
        let tokens = Self.tokens(bytes)
        guard !tokens.isEmpty else { return nil }
        var minima = [UInt64](repeating: .max, count: bins)
        var count: UInt32 = 0
        let n = tokens.count
        let shingleCount = max(1, n - shingleWords + 1)
        for i in 0..<shingleCount {
            let end = min(n, i + shingleWords)
            // Shingles of function words only ("one of the", "it is a") are in every text.
            if n > shingleWords, (i..<end).allSatisfy({ Self.functionWords.contains(tokens[$0]) }) { continue }
            var h: UInt64 = 0x5EED_0F_7E47
            for j in i..<end { h = (h ^ tokens[j]) &* 0x100_0000_01B3 &+ 0x9E37_79B9_7F4A_7C15 }
            let x = key.prf(h)
            let bin = Int(x >> 58)
            let value = x & 0x03FF_FFFF_FFFF_FFFF
            if value < minima[bin] { minima[bin] = value }
            count &+= 1
        }
        guard count > 0 else { return nil }
        densify(&minima)
        return ResponseSketch(signature: minima.map { UInt16(truncatingIfNeeded: $0 ^ ($0 >> 16) ^ ($0 >> 32)) },
                              shingles: count)
    }

    /// The text's words: runs of letters and digits, lower-cased, each as its FNV-1a hash.
    /// Unlike prompts (``PromptNormalizer``, which folds digits to 0 to find templates),
    /// digits are kept: the numbers of an answer are part of what makes it this answer.
    /// - Complexity: O(n) in the bytes.
    static func tokens(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(bytes.count / 5 + 1)
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var inToken = false
        func feed(_ b: UInt8) {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
            inToken = true
        }
        func end() {
            if inToken { out.append(h) }
            h = 0xCBF2_9CE4_8422_2325
            inToken = false
        }
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            if scalar.isASCII {
                let b = UInt8(scalar.value)
                switch b {
                case 0x41...0x5A: feed(b + 0x20)
                case 0x61...0x7A, 0x30...0x39: feed(b)
                default: end()
                }
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                for u in scalar.properties.lowercaseMapping.utf8 { feed(u) }
            } else {
                end()
            }
        }
        end()
        return out
    }

    /// The hashes of English function words (articles, pronouns, prepositions,
    /// conjunctions, auxiliaries): a shingle of these alone says nothing about its text.
    static let functionWords: Set<UInt64> = {
        let words = ("a an the and or but nor so yet if then than that this these those there here it its it's is are was were be been "
            + "being am do does did doing have has had having i you he she we they me him her us them my your his our their "
            + "what which who whom whose when where why how all any both each few more most other some such no not only own "
            + "same too very can will just should would could may might must shall of at by for with about against between "
            + "into through during before after above below to from up down in out on off over under again further once as "
            + "also one two first second let us s t")
        var set: Set<UInt64> = []
        for w in words.split(separator: " ") {
            var word = String(w)
            let t = word.withUTF8 { tokens($0) }
            if let first = t.first { set.insert(first) }
        }
        return set
    }()

    /// Optimal densification: an empty bin takes the value of the first non-empty bin found
    /// by a probe sequence seeded by its own index (so that two sketches of similar texts fill
    /// their empty bins alike).
    static func densify(_ minima: inout [UInt64]) {
        guard minima.contains(where: { $0 != .max }) else { return }
        let original = minima
        for i in 0..<bins where original[i] == .max {
            var attempt: UInt64 = 1
            while true {
                var z = (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) ^ (attempt &* 0xBF58_476D_1CE4_E5B9)
                z = (z ^ (z >> 31)) &* 0x94D0_49BB_1331_11EB
                let j = Int((z ^ (z >> 29)) % UInt64(bins))
                if original[j] != .max {
                    // Mixed with the attempt, so a borrowed value differs from the lender's.
                    minima[i] = (original[j] &+ attempt &* 0x2545_F491_4F6C_DD1D) & 0x03FF_FFFF_FFFF_FFFF
                    break
                }
                attempt += 1
            }
        }
    }

    /// Bins on which two sketches agree, of 64.
    /// - Complexity: O(64).
    public func agreement(with other: ResponseSketch) -> Int {
        var n = 0
        for i in 0..<Self.bins where signature[i] == other.signature[i] { n += 1 }
        return n
    }

    /// The estimated Jaccard similarity of the two shingle sets, corrected for chance
    /// agreement of 16-bit values.
    public func jaccard(with other: ResponseSketch) -> Double {
        let p = Double(agreement(with: other)) / Double(Self.bins)
        let chance = 1.0 / 65_536
        return max(0, min(1, (p - chance) / (1 - chance)))
    }

    /// The estimated share of this sketch's shingles that `other` also has (containment of
    /// self in other): `J (|A| + |B|) / ((1 + J) |A|)`, at most 1.
    public func containment(in other: ResponseSketch) -> Double {
        let j = jaccard(with: other)
        guard j > 0, shingles > 0 else { return 0 }
        let a = Double(shingles), b = Double(other.shingles)
        return min(1, j * (a + b) / ((1 + j) * a))
    }
}
