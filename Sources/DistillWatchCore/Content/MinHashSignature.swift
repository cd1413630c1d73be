/// A one-permutation MinHash signature of a prompt's word 3-shingles: 128 bins of 32 bits.
///
/// Each shingle's keyed hash picks a bin with its top 7 bits and competes for that bin's
/// minimum with its low 32 bits (Li, Owen and Zhang, "One Permutation Hashing", NIPS 2012);
/// empty bins borrow from the next non-empty bin to their right with an offset per hop
/// (rotation densification, Shrivastava and Li, ICML 2014), so every bin is comparable.
///
/// The share of equal bins between two signatures estimates the Jaccard similarity of the
/// two shingle sets, with a standard error of about √(J(1−J)/128) (0.044 at J = 0.5) for
/// sets much larger than 128 and somewhat more for short prompts; the test suite measures
/// it against exact Jaccard.
public struct MinHashSignature: Sendable, Equatable {
    public static let binCount = 128
    /// Always `binCount` values. A heap buffer rather than an inline array: signatures
    /// cross threads inside exchanges, and copying a reference is cheaper than 512 bytes.
    public private(set) var bins: [UInt32]

    public init() {
        bins = [UInt32](repeating: .max, count: Self.binCount)
    }

    init(bins: [UInt32]) {
        precondition(bins.count == Self.binCount)
        self.bins = bins
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    /// - Complexity: O(128).
    public func jaccard(_ other: MinHashSignature) -> Double {
        var equal = 0
        for i in 0..<Self.binCount where bins[i] == other.bins[i] { equal += 1 }
        return Double(equal) / Double(Self.binCount)
    }

    /// Builds a signature from keyed shingle hashes, densified.
    /// - Complexity: O(n + 128).
    static func build(_ offer: ((UInt64) -> Void) -> Void) -> MinHashSignature {
        var signature = MinHashSignature()
        signature.bins.withUnsafeMutableBufferPointer { bins in
            offer { h in
                let bin = Int(h >> 57)
                let value = UInt32(truncatingIfNeeded: h)
                bins[bin] = min(value, bins[bin])
            }
        }
        signature.densify()
        return signature
    }

    /// Fills empty bins by rotation: each takes the value of the next non-empty bin to its
    /// right (circularly), offset by the number of hops. An all-empty signature (no
    /// shingles) stays empty.
    /// - Complexity: O(128), one pass from the right after finding the last full bin, with
    ///   no data-dependent branch (a short prompt leaves about half the bins empty, in no
    ///   predictable pattern).
    mutating func densify() {
        bins.withUnsafeMutableBufferPointer { b in
            let n = Self.binCount
            guard let lastFull = (0..<n).last(where: { b[$0] != .max }) else { return }
            // Walking leftwards from the last full bin (wrapping around), n − 1 steps visit
            // every other bin once, each after its nearest full bin to the right.
            var lender = b[lastFull]
            var hops: UInt32 = 0
            @inline(__always) func visit(_ i: Int) {
                let value = b[i]
                let empty = value == .max
                hops = empty ? hops &+ 1 : 0
                lender = empty ? lender : value
                // The offset keeps borrowed values distinct from the lender's own.
                b[i] = empty ? lender &+ hops &* 0x9E37_79B9 : value
            }
            var i = lastFull
            while i > 0 {
                i -= 1
                visit(i)
            }
            i = n - 1
            while i > lastFull {
                visit(i)
                i -= 1
            }
        }
    }

    /// The lowest bit of every bin: a 128-bit b-bit MinHash fingerprint (Li and König,
    /// "b-Bit Minwise Hashing", WWW 2010). Two fingerprints agree on a bit with probability
    /// (1 + J) / 2, so the share of agreeing bits estimates J = 2·share − 1 with a standard
    /// error of about 0.09; 16 bytes instead of 512.
    public var oneBitFingerprint: (UInt64, UInt64) {
        var lo: UInt64 = 0, hi: UInt64 = 0
        for i in 0..<64 { lo |= UInt64(bins[i] & 1) << UInt64(i) }
        for i in 0..<64 { hi |= UInt64(bins[64 + i] & 1) << UInt64(i) }
        return (lo, hi)
    }

    /// Estimated Jaccard similarity from two ``oneBitFingerprint``s.
    public static func jaccard(fingerprint a: (UInt64, UInt64), _ b: (UInt64, UInt64)) -> Double {
        let agree = 128 - (a.0 ^ b.0).nonzeroBitCount - (a.1 ^ b.1).nonzeroBitCount
        return max(0, 2 * Double(agree) / 128 - 1)
    }
}
