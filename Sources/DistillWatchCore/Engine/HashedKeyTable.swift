import CMemoryHints

/// A hash table from 64-bit keys that are already hashes (``stableHash(_:salt:)``, a pair of
/// hashes) to values: open addressing with linear probing in one flat array of buckets, key
/// and value side by side, so that a lookup usually reads one cache line.
///
/// Why not `Dictionary`: it hashes every key again with SipHash-1-3 (about 90 instructions
/// for a `UInt64`, 140–150 a lookup in all by callgrind) and keeps keys and values in two
/// arrays (two cache misses per lookup once the table outgrows the caches, which the link
/// keys of `hydra-2026` at scale 1 do). Here a lookup is one multiply-and-shift mix and,
/// usually, one bucket; ``prefetch(_:)`` can start loading that bucket before it is needed.
///
/// Hash flooding: keys derive from input (addresses, user agents) through hashes an
/// attacker can compute, so the bucket is taken from the key mixed with a per-process random
/// seed (MurmurHash3's 64-bit finaliser of `key ^ seed`; the seed comes from `Hasher`, so
/// `SWIFT_DETERMINISTIC_HASHING=1` fixes it as it fixes `Dictionary`'s): input cannot aim at
/// buckets without the seed. Keys equal in all 64 bits are one key, here as in the engine.
///
/// Deletion shifts the following run back (Knuth, *TAOCP* vol. 3, §6.4, Algorithm R), so
/// there are no tombstones and lookups never slow down with churn.
///
/// Positions (``index(forKey:)``, ``insertNew(_:forKey:)``) stay valid until the next
/// insertion or removal, like a `Dictionary.Index`.
///
/// - Complexity: expected O(1) per lookup, insertion and removal at a load of at most 3/4;
///   growth doubles the buckets (O(n), amortised O(1)). Memory: `MemoryLayout<UInt64>.size +
///   MemoryLayout<Value>.stride` bytes (rounded up to the value's alignment) per bucket, with
///   the buckets a power of two at least 4/3 of the count, and one more.
struct HashedKeyTable<Value: Sendable>: Sendable {
    private struct Bucket: Sendable {
        /// 0 marks an empty bucket (key 0 has a bucket of its own, see `buckets`).
        var key: UInt64
        var value: Value
    }

    /// `bucketMask + 1` buckets that keys probe, then one more for key 0 (which cannot
    /// live among them: 0 marks an empty bucket), used when `holdsZeroKey`.
    private var buckets: [Bucket]
    private var holdsZeroKey = false
    /// What empty buckets hold (never read as a value).
    private let placeholder: Value
    private var bucketMask: Int
    /// 64 − log2(bucket count): the mixed key's top bits pick the bucket.
    private var shift: UInt64
    private(set) var count = 0
    /// The process's seed, held here so that a lookup does not check a global's
    /// initialisation.
    private let seed = hashedKeyTableSeed

    /// An empty table with room for `minimumCapacity` keys before it grows.
    /// - Parameter placeholder: any value; fills empty buckets and is never returned.
    init(placeholder: Value, minimumCapacity: Int = 0) {
        self.placeholder = placeholder
        let n = Self.bucketCount(for: minimumCapacity)
        buckets = Array(repeating: Bucket(key: 0, value: placeholder), count: n + 1)
        bucketMask = n - 1
        shift = UInt64(64 - n.trailingZeroBitCount)
    }

    private static func bucketCount(for capacity: Int) -> Int {
        var n = 8
        while n / 4 * 3 < capacity { n *= 2 }
        return n
    }

    @inline(__always)
    private func home(of key: UInt64) -> Int {
        Int(truncatingIfNeeded: finalMix(key ^ seed) &>> shift)
    }

    /// The position of key 0 (the bucket after those keys probe).
    private var zeroKeyPosition: Int { bucketMask + 1 }

    /// The first empty bucket from `key`'s home on, where it goes when it is not held.
    @inline(__always)
    private func emptyBucket(for key: UInt64) -> Int {
        var i = home(of: key)
        while buckets[i].key != 0 { i = (i &+ 1) & bucketMask }
        return i
    }

    /// One more key would take the load past 3/4.
    private var isFull: Bool { count + 1 > (bucketMask + 1) / 4 * 3 }

    // MARK: Reading

    /// The position of `key`, or nil when it is not held.
    /// - Complexity: expected O(1).
    @inline(__always)
    func index(forKey key: UInt64) -> Int? {
        guard key != 0 else { return holdsZeroKey ? zeroKeyPosition : nil }
        var i = home(of: key)
        while true {
            let k = buckets[i].key
            if k == key { return i }
            if k == 0 { return nil }
            i = (i &+ 1) & bucketMask
        }
    }

    /// The value of `key`, or nil when it is not held.
    subscript(key: UInt64) -> Value? {
        guard let i = index(forKey: key) else { return nil }
        return self[position: i]
    }

    /// The value at a position from ``index(forKey:)`` or ``insertNew(_:forKey:)``.
    /// A getter and a setter, not a `_modify` coroutine: the coroutine's frame was
    /// allocated with `malloc` on every access (callgrind), and a value passed `inout`
    /// through this subscript is copied out and back, which for the small values held here
    /// costs less.
    subscript(position i: Int) -> Value {
        @inline(__always) get { buckets[i].value }
        @inline(__always) set { buckets[i].value = newValue }
    }

    /// Starts loading the bucket where a lookup of `key` begins (a hint: changes nothing).
    @inline(__always)
    func prefetch(_ key: UInt64) {
        let i = home(of: key)
        buckets.withUnsafeBufferPointer { distillwatch_prefetch_read($0.baseAddress! + i, MemoryLayout<Bucket>.size) }
    }

    /// Calls `body` with every key and its value, in no particular order.
    func forEach(_ body: (UInt64, Value) throws -> Void) rethrows {
        if holdsZeroKey { try body(0, buckets[zeroKeyPosition].value) }
        for b in buckets[..<zeroKeyPosition] where b.key != 0 { try body(b.key, b.value) }
    }

    /// The keys and values as a dictionary (for snapshots and tests).
    var dictionary: [UInt64: Value] {
        var out: [UInt64: Value] = [:]
        out.reserveCapacity(count)
        forEach { out[$0] = $1 }
        return out
    }

    // MARK: Changing

    /// Inserts `value` for `key`, which must not be held, and returns its position.
    /// - Complexity: expected O(1); O(count) when the table doubles.
    @discardableResult
    mutating func insertNew(_ value: Value, forKey key: UInt64) -> Int {
        assert(index(forKey: key) == nil, "HashedKeyTable: key inserted twice")
        guard key != 0 else {
            buckets[zeroKeyPosition].value = value
            holdsZeroKey = true
            count += 1
            return zeroKeyPosition
        }
        if isFull { grow() }
        let i = emptyBucket(for: key)
        buckets[i] = Bucket(key: key, value: value)
        count += 1
        return i
    }

    /// The position of `key`, after inserting `value` for it when it was not held
    /// (`inserted`): one probe sequence for a lookup that may insert.
    /// - Complexity: expected O(1); O(count) when the table doubles.
    @inline(__always)
    mutating func position(forKey key: UInt64, inserting value: @autoclosure () -> Value) -> (position: Int, inserted: Bool) {
        guard key != 0 else {
            if holdsZeroKey { return (zeroKeyPosition, false) }
            return (insertNew(value(), forKey: key), true)
        }
        var i = home(of: key)
        while true {
            let k = buckets[i].key
            if k == key { return (i, false) }
            if k == 0 { break }
            i = (i &+ 1) & bucketMask
        }
        if isFull {
            grow()
            i = emptyBucket(for: key)
        }
        buckets[i] = Bucket(key: key, value: value())
        count += 1
        return (i, true)
    }

    /// Sets the value of `key`, inserting it when it is not held; returns the old value.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: UInt64) -> Value? {
        if let i = index(forKey: key) {
            let old = self[position: i]
            self[position: i] = value
            return old
        }
        insertNew(value, forKey: key)
        return nil
    }

    /// Removes `key` and returns its value, or nil when it was not held.
    /// - Complexity: expected O(1): the run after the emptied bucket shifts back.
    @discardableResult
    mutating func removeValue(forKey key: UInt64) -> Value? {
        guard key != 0 else {
            guard holdsZeroKey else { return nil }
            let v = buckets[zeroKeyPosition].value
            buckets[zeroKeyPosition].value = placeholder
            holdsZeroKey = false
            count -= 1
            return v
        }
        guard var hole = index(forKey: key) else { return nil }
        let removed = buckets[hole].value
        var j = hole
        while true {
            j = (j &+ 1) & bucketMask
            let k = buckets[j].key
            if k == 0 { break }
            // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
            let h = home(of: k)
            if (j &- h) & bucketMask >= (j &- hole) & bucketMask {
                buckets[hole] = buckets[j]
                hole = j
            }
        }
        buckets[hole] = Bucket(key: 0, value: placeholder)
        count -= 1
        return removed
    }

    /// Makes room for `capacity` keys without growing again.
    mutating func reserveCapacity(_ capacity: Int) {
        if Self.bucketCount(for: capacity) > bucketMask + 1 { rehash(into: Self.bucketCount(for: capacity)) }
    }

    private mutating func grow() { rehash(into: (bucketMask + 1) * 2) }

    private mutating func rehash(into n: Int) {
        let old = buckets
        let oldZeroKeyPosition = zeroKeyPosition
        buckets = Array(repeating: Bucket(key: 0, value: placeholder), count: n + 1)
        bucketMask = n - 1
        shift = UInt64(64 - n.trailingZeroBitCount)
        if holdsZeroKey { buckets[zeroKeyPosition].value = old[oldZeroKeyPosition].value }
        for b in old[..<oldZeroKeyPosition] where b.key != 0 { buckets[emptyBucket(for: b.key)] = b }
    }
}

/// The per-process seed of every ``HashedKeyTable`` (see its note on hash flooding).
private let hashedKeyTableSeed: UInt64 = {
    var hasher = Hasher()
    hasher.combine(0x5EED_7AB1_E000_0001 as UInt64)
    return UInt64(bitPattern: Int64(hasher.finalize()))
}()
