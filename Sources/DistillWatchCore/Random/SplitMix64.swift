import RealModule

/// A small, fast, seedable pseudo-random generator (Steele, Lea & Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014).
///
/// DistillWatch never uses the system generator or Swift's per-process randomised `Hasher`
/// where results must repeat: the simulator, tests and benchmarks draw from a `SplitMix64`
/// derived from a seed, so the same seed gives byte-identical output on every machine and
/// every run.
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let x = rng.nextUnit()          // in [0, 1)
/// var child = rng.derived(salt: 7) // an independent stream
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// - Complexity: O(1).
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a fixed bijective hash of 64 bits.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A stable hash of `seed` and a sequence of salts, for deriving independent streams
    /// (one per account, per campaign, ...). Never depends on process state.
    public static func seed(_ seed: UInt64, _ salts: UInt64...) -> UInt64 {
        var h = mix(seed ^ 0x6A09_E667_F3BC_C908)
        for s in salts { h = mix(h ^ mix(s &+ 0x9E37_79B9_7F4A_7C15)) }
        return h
    }

    /// An independent generator whose stream depends on this generator's seed state and `salt`
    /// but does not advance this generator.
    public func derived(salt: UInt64) -> SplitMix64 {
        SplitMix64(seed: SplitMix64.seed(state, salt))
    }
}

// MARK: - Distributions

extension SplitMix64 {
    /// Uniform in [0, 1) with 53 random bits. - Complexity: O(1).
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-shift; the tiny bias for huge
    /// bounds does not matter for simulation). - Complexity: O(1).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform integer in a closed range. - Complexity: O(1).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// `true` with probability `p`. - Complexity: O(1).
    public mutating func chance(_ p: Double) -> Bool { nextUnit() < p }

    /// One element of a non-empty array, uniformly. - Complexity: O(1).
    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Exponentially distributed with the given mean. - Complexity: O(1).
    public mutating func exponential(mean: Double) -> Double {
        -mean * Double.log(onePlus: -nextUnit())
    }

    /// Standard normal by Box–Muller (one of the pair is discarded: simplicity over speed).
    public mutating func normal() -> Double {
        let u1 = max(nextUnit(), 0x1.0p-60)
        let u2 = nextUnit()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
    }

    /// Log-normal with the given median and shape σ (the σ of the underlying normal).
    public mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * Double.exp(sigma * normal())
    }

    /// Log-normal factor with mean 1: heavy-tailed per-account volume multipliers.
    public mutating func meanOneLogNormal(sigma: Double) -> Double {
        Double.exp(sigma * normal() - sigma * sigma / 2)
    }

    /// Geometric count ≥ 1 with the given mean. - Complexity: O(1).
    public mutating func geometric(mean: Double) -> Int {
        guard mean > 1 else { return 1 }
        let p = 1 / mean
        return 1 + Int(Double.log(max(nextUnit(), 1e-300)) / Double.log(1 - p))
    }

    /// Lowercase hexadecimal digits, `count` of them. - Complexity: O(count).
    public mutating func hex(_ count: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        var bits: UInt64 = 0
        for i in 0..<count {
            if i % 16 == 0 { bits = next() }
            let nibble = UInt8(truncatingIfNeeded: bits & 15)
            bits >>= 4
            bytes[i] = nibble < 10 ? 48 + nibble : 87 + nibble
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Index drawn with probability proportional to `weights` (non-empty, non-negative,
    /// positive sum). - Complexity: O(weights.count).
    public mutating func weightedIndex(_ weights: [Double]) -> Int {
        var total = 0.0
        for w in weights { total += w }
        var r = nextUnit() * total
        for (i, w) in weights.enumerated() {
            r -= w
            if r < 0 { return i }
        }
        return weights.count - 1
    }
}
