import RealModule

/// A 64-register HyperLogLog: distinct counts in 64 bytes (Flajolet, Fusy, Gandouet and
/// Meunier, "HyperLogLog: the analysis of a near-optimal cardinality estimation
/// algorithm", 2007), with linear counting for small cardinalities.
///
/// Standard error about 1.04/√64 = 13%: coarse, but enough to tell an account that keeps
/// asking new things from one that repeats itself, in fixed memory.
public struct SmallHyperLogLog: Sendable, Equatable {
    var registers = InlineArray<64, UInt8>(repeating: 0)
    /// Σ 2^-register and the count of zero registers, kept as registers change, so that
    /// ``estimate`` is O(1) (the engine reads it on every exchange).
    private var harmonicSum: Double = 64
    private var zeroRegisters: UInt8 = 64

    public init() {}

    public static func == (a: SmallHyperLogLog, b: SmallHyperLogLog) -> Bool {
        for i in 0..<64 where a.registers[i] != b.registers[i] { return false }
        return true
    }

    /// What inserting one item does: raise register `index` to at least `rank`. Computing
    /// it (the mixing) and applying it are separate, so that the first can run where an
    /// item is produced and the second where the sketch lives.
    public struct Update: Sendable, Equatable {
        public var index: UInt8
        public var rank: UInt8

        /// The update for an item with this hash (any 64-bit value; it is mixed first).
        @inline(__always)
        public init(hash: UInt64) {
            let h = SmallHyperLogLog.mix(hash)
            index = UInt8(truncatingIfNeeded: h & 63)
            rank = UInt8(min(58, (h >> 6).leadingZeroBitCount - 6 + 1))
        }
    }

    /// Adds an item by its hash (any 64-bit value; it is mixed first).
    /// - Complexity: O(1).
    @inline(__always)
    public mutating func insert(hash: UInt64) {
        apply(Update(hash: hash))
    }

    /// Adds an item whose ``Update`` was computed beforehand.
    /// - Complexity: O(1): a comparison, and when the register rises, two running sums.
    @inline(__always)
    public mutating func apply(_ update: Update) {
        let index = Int(update.index)
        let rank = update.rank
        let old = registers[index]
        if rank > old {
            registers[index] = rank
            harmonicSum += Self.inversePowerOfTwo(rank) - Self.inversePowerOfTwo(old)
            if old == 0 { zeroRegisters -= 1 }
        }
    }

    /// 2^-r exactly, from the exponent bits.
    @inline(__always)
    static func inversePowerOfTwo(_ r: UInt8) -> Double {
        Double(sign: .plus, exponent: -Int(r), significand: 1)
    }

    /// Estimated number of distinct items inserted.
    /// - Complexity: O(1).
    public var estimate: Double {
        let m = 64.0
        let raw = 0.709 * m * m / harmonicSum
        if raw <= 2.5 * m, zeroRegisters > 0 {
            return m * Double.log(m / Double(zeroRegisters))
        }
        return raw
    }

    /// The estimate computed from the registers alone (O(64)), to check the running sums.
    var estimateFromRegisters: Double {
        var sum = 0.0
        var zeros = 0
        for i in 0..<64 {
            if registers[i] == 0 { zeros += 1 }
            sum += Self.inversePowerOfTwo(registers[i])
        }
        let raw = 0.709 * 64 * 64 / sum
        return raw <= 160 && zeros > 0 ? 64 * Double.log(64 / Double(zeros)) : raw
    }

    /// MurmurHash3's 64-bit finaliser: spreads input bits over the whole word.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}

// MARK: Snapshot

extension SmallHyperLogLog: SnapshotCodable {
    static var snapshotFieldCount: Int { 3 }

    func write(to w: inout SnapshotWriter) {
        w.inline(registers)
        w.double(harmonicSum)
        w.int(zeroRegisters)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        registers = try r.inline()
        harmonicSum = try r.double()
        zeroRegisters = try r.int()
    }
}
