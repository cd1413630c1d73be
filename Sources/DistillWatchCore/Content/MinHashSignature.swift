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
    /// The bins, inline (512 bytes): a signature lives inside ``ContentFeatures``' single
    /// heap object, which is what crosses threads.
    private var storage = InlineArray<128, UInt32>(repeating: .max)

    public init() {}

    init(bins: [UInt32]) {
        precondition(bins.count == Self.binCount)
        withMutableBins { b in for i in 0..<Self.binCount { b[i] = bins[i] } }
    }

    /// The bins as an array (a copy): for serialisation and tests.
    public var bins: [UInt32] { withBins { Array($0) } }

    /// Calls `body` with the 128 bins, without copying them.
    @inline(__always)
    func withBins<R>(_ body: (UnsafeBufferPointer<UInt32>) -> R) -> R {
        withUnsafePointer(to: storage) { p in
            p.withMemoryRebound(to: UInt32.self, capacity: Self.binCount) {
                body(UnsafeBufferPointer(start: $0, count: Self.binCount))
            }
        }
    }

    @inline(__always)
    mutating func withMutableBins<R>(_ body: (UnsafeMutableBufferPointer<UInt32>) -> R) -> R {
        withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: UInt32.self, capacity: Self.binCount) {
                body(UnsafeMutableBufferPointer(start: $0, count: Self.binCount))
            }
        }
    }

    public static func == (a: MinHashSignature, b: MinHashSignature) -> Bool {
        a.withBins { x in b.withBins { y in x.elementsEqual(y) } }
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    /// - Complexity: O(128).
    public func jaccard(_ other: MinHashSignature) -> Double {
        withBins { x in
            other.withBins { y in
                var equal = 0
                for i in 0..<Self.binCount where x[i] == y[i] { equal += 1 }
                return Double(equal) / Double(Self.binCount)
            }
        }
    }

    /// Builds a signature from keyed shingle hashes, densified.
    /// - Complexity: O(n + 128).
    static func build(_ offer: ((UInt64) -> Void) -> Void) -> MinHashSignature {
        var signature = MinHashSignature()
        signature.withMutableBins { bins in
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
        withMutableBins { b in
            let n = Self.binCount
            guard let lastFull = (0..<n).last(where: { b[$0] != .max }) else { return }
            // Walking leftwards from the last full bin (wrapping around), n − 1 steps visit
            // every other bin once, each after its nearest full bin to the right.
            var lender = b[lastFull]
            var hops: UInt32 = 0
            // Masks rather than conditionals: the compiler turns a select on this loop's
            // carried values back into a branch, which mispredicts on half the bins.
            @inline(__always) func visit(_ i: Int) {
                let value = b[i]
                // All ones when the bin is empty (value + 1 wraps to 0), else zero.
                let empty = UInt32(truncatingIfNeeded: Int32(bitPattern: ~((value &+ 1) | (0 &- (value &+ 1)))) >> 31)
                hops = (hops &+ 1) & empty
                lender = (lender & empty) | (value & ~empty)
                // The offset keeps borrowed values distinct from the lender's own.
                b[i] = ((lender &+ hops &* 0x9E37_79B9) & empty) | (value & ~empty)
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
        withBins { bins in
            var lo: UInt64 = 0, hi: UInt64 = 0
            for i in 0..<64 { lo |= UInt64(bins[i] & 1) << UInt64(i) }
            for i in 0..<64 { hi |= UInt64(bins[64 + i] & 1) << UInt64(i) }
            return (lo, hi)
        }
    }

    /// Estimated Jaccard similarity from two ``oneBitFingerprint``s.
    public static func jaccard(fingerprint a: (UInt64, UInt64), _ b: (UInt64, UInt64)) -> Double {
        let agree = 128 - (a.0 ^ b.0).nonzeroBitCount - (a.1 ^ b.1).nonzeroBitCount
        return max(0, 2 * Double(agree) / 128 - 1)
    }
}
