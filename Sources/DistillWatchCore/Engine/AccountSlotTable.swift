/// The engine's accounts by id: each account's slot, found from the `CityHash64` of the
/// id's NFC form (``hash(_:)``) in a ``HashedKeyTable`` and confirmed against the id itself.
///
/// Ids are Swift `String`s, equal when canonically equivalent ("é" precomposed or as "e" and
/// a combining accent; "acct-K" and "acct-\u{212A}", the Kelvin sign), which is what the
/// `[String: Int32]` this replaces matched; hashing the NFC code units keeps that (Unicode
/// Standard Annex #15: canonically equivalent strings have one NFC form). ASCII ids, the
/// usual case, are their own NFC form and are hashed from their bytes.
///
/// Why not `[String: Int32]`: Swift hashes a `String` key with SipHash-1-3 over its bytes
/// after checking them for normalisation: about 1,090 instructions an exchange went to the
/// account lookup on the shared-network file (callgrind, 1 December 2026), a tenth of the
/// engine thread, and its buckets are cold once the accounts outgrow the caches.
///
/// Collisions: `CityHash64` is not keyed, and ids can be chosen to collide in all 64 bits
/// (seed-independent multicollisions: J.-P. Aumasson, D. J. Bernstein, M. Boßlet, "Hash-flooding
/// DoS reloaded", 2012). The first id with a hash takes the table's place; every later id with
/// the same hash goes to a `Dictionary` keyed by the id (per-process seeded SipHash), so a
/// flood of colliding ids costs what it costs today and never a long probe.
///
/// - Complexity: a lookup is one `CityHash64` of the id (O(length)), expected one bucket and
///   one comparison of ids; insertion is amortised O(1). Memory: 16 bytes a bucket.
struct AccountSlotTable: Sendable {
    private var byHash = HashedKeyTable<Int32>(placeholder: -1)
    /// Ids whose hash a different id already holds in `byHash`.
    private var collided: [String: Int32] = [:]

    /// Accounts held.
    var count: Int { byHash.count + collided.count }

    /// The slot of account `id`, whose `CityHash64` is `hash`, given the ids by slot.
    /// - Complexity: expected O(length of the id).
    @inline(__always)
    func slot(of id: String, hash: UInt64, ids: [String]) -> Int32? {
        guard let p = byHash.index(forKey: hash) else { return nil }
        let slot = byHash[position: p]
        if ids[Int(slot)] == id { return slot }
        return collided.isEmpty ? nil : collided[id]
    }

    /// Adds account `id` (not held) at `slot`.
    mutating func insert(_ id: String, hash: UInt64, slot: Int32) {
        if byHash.index(forKey: hash) == nil {
            byHash.insertNew(slot, forKey: hash)
        } else {
            collided[id] = slot
        }
    }

    /// The key of `id` here: `CityHash64` of its NFC form (of its bytes when it is ASCII).
    /// Not the partitioning hash, which is `CityHash64` of the bytes as sent (ClickHouse's
    /// `cityHash64(account_id)`); the two differ only for ids not in NFC.
    /// - Complexity: O(length); no allocation for an ASCII id.
    static func hash(_ id: String) -> UInt64 {
        let ascii = id.utf8.withContiguousStorageIfAvailable { bytes -> UInt64? in
            Self.isASCII(bytes) ? CityHash64.hash(UnsafeRawBufferPointer(bytes)) : nil
        }
        if let ascii, let ascii { return ascii }
        // `_nfcCodeUnits` is the standard library's NFC, the form its `==` and hashing use.
        return id._nfcCodeUnits.withUnsafeBytes { CityHash64.hash($0) }
    }

    /// Whether every byte is below 0x80, eight at a time.
    @inline(__always)
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(bytes)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= raw.count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < raw.count {
            high |= UInt64(raw[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// Makes room for `capacity` accounts.
    mutating func reserveCapacity(_ capacity: Int) { byHash.reserveCapacity(capacity) }
}
