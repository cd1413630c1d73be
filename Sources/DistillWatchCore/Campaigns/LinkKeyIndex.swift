/// Accounts by shared key (a payment fingerprint, an address, a sign-up hour, ...): where
/// candidate pairs come from, so that accounts are never compared all against all.
///
/// Each key keeps how many distinct accounts used it (exact while at most four use it in
/// turn, an over-estimate beyond: an account counts again after four others came between
/// its uses, which only matters for keys already too common to be evidence) and the last
/// four accounts that joined it. Joining a key returns those four as candidates, so the
/// work per join is O(1) however common the key.
///
/// Keys come in two stores. Keys derived from account records, profiles and clients (user
/// agents, client fingerprints) live in a dictionary that grows with the accounts (at most
/// ``profileCapacity`` keys). Addresses and subnets can number one per request behind a
/// rotating proxy, so they live in two generations of at most
/// ``generationCapacity`` keys each: when the current one fills, the older is dropped and
/// keys still in use are promoted on their next use. Sharing is therefore detected between
/// uses at most about one generation of distinct keys apart.
///
/// Both stores are ``HashedKeyTable``s (the keys are hashes already).
///
/// - Complexity: ``joinExchangeKey(_:account:)`` is one probe sequence for a key of the
///   current generation, two for one new to it (the second in the previous generation). Memory is O(profile keys + 2 · generationCapacity), 32 bytes a
///   bucket with at most 3/4 of the buckets used.
struct LinkKeyIndex: Sendable {
    struct Entry: Sendable {
        var accounts: Int32 = 0
        var head: UInt8 = 0
        var recent = InlineArray<4, Int32>(repeating: -1)

        func contains(_ account: Int32) -> Bool {
            for k in 0..<4 where recent[k] == account { return true }
            return false
        }

        /// The recent accounts other than `account`, newest first (-1 for an empty place).
        func others(than account: Int32) -> InlineArray<4, Int32> {
            var out = InlineArray<4, Int32>(repeating: -1)
            var n = 0
            for step in 0..<4 {
                let a = recent[(Int(head) + 3 - step) & 3]
                if a >= 0, a != account {
                    out[n] = a
                    n += 1
                }
            }
            return out
        }

        mutating func push(_ account: Int32) {
            recent[Int(head)] = account
            head = (head + 1) & 3
        }
    }

    /// What joining a key found.
    struct Join {
        /// Distinct accounts on the key, this one included.
        var accounts: Int
        /// Recent other accounts on the key (at most four), newest first; -1 pads.
        var candidates: InlineArray<4, Int32>
        /// The account was not among the key's recent accounts.
        var isNew: Bool
    }

    /// Exchange keys per generation (2^20 by default).
    let generationCapacity: Int
    private(set) var profileKeys = HashedKeyTable(placeholder: Entry())
    private var current = HashedKeyTable(placeholder: Entry())
    private var previous = HashedKeyTable(placeholder: Entry())

    var exchangeKeyCount: Int { current.count + previous.count }
    /// Joins of new profile keys refused because ``profileCapacity`` keys were held.
    private(set) var droppedProfileKeys = 0

    init(generationCapacity: Int = 1 << 20, profileCapacity: Int = 1 << 22) {
        self.generationCapacity = generationCapacity
        self.profileCapacity = profileCapacity
    }

    /// Joins a profile key (sign-up data, parameter fingerprint, template, ...).
    /// `countAgain` is false when the account joined this key before (a re-announcement
    /// at a milestone): it then gets candidates without being counted twice.
    mutating func joinProfileKey(_ key: UInt64, account: Int32, countAgain: Bool = true) -> Join {
        let held = profileKeys.index(forKey: key)
        guard held != nil || profileKeys.count < profileCapacity else {
            droppedProfileKeys += 1
            return Join(accounts: 1, candidates: InlineArray(repeating: -1), isNew: false)
        }
        let position = held ?? profileKeys.insertNew(Entry(), forKey: key)
        return Self.join(&profileKeys[position: position], account: account, countAgain: countAgain)
    }

    /// Profile and client keys held at most (2^22 by default, about 48 bytes each): beyond,
    /// new keys are not tracked (they count as unshared, and are counted in
    /// ``droppedProfileKeys``), so a client that invents a new user agent for every request
    /// cannot grow the index without bound. Keys already held keep working.
    let profileCapacity: Int

    /// Joins a client key (a user agent or a client fingerprint), joined when an account's
    /// client changes. Kept with the profile keys, not in the exchange-key generations: an
    /// account keeps its client for months without joining again, and a popular client's
    /// count must not be forgotten, or it would look rare again.
    mutating func joinClientKey(_ key: UInt64, account: Int32) -> Join {
        joinProfileKey(key, account: account, countAgain: true)
    }

    /// Accounts on a profile key so far.
    func accounts(onProfileKey key: UInt64) -> Int {
        Int(profileKeys[key]?.accounts ?? 0)
    }

    /// Joins a key seen on an exchange.
    /// - Complexity: one probe sequence (find or insert) for a key of the current generation
    ///   or new to it, and for a new one a second in the previous generation.
    mutating func joinExchangeKey(_ key: UInt64, account: Int32) -> Join {
        var (position, inserted) = current.position(forKey: key, inserting: Entry())
        if inserted {
            if let promoted = previous.removeValue(forKey: key) {
                current[position: position] = promoted
            } else if current.count > generationCapacity {
                // The generation was full before this key: it becomes the previous one
                // (without the key), and the key starts the next.
                current.removeValue(forKey: key)
                previous = current
                current = HashedKeyTable(placeholder: Entry(), minimumCapacity: generationCapacity)
                position = current.insertNew(Entry(), forKey: key)
            }
        }
        return Self.join(&current[position: position], account: account, countAgain: true)
    }

    /// Starts loading the bucket of the current generation where a join of `key` looks
    /// (a hint: changes nothing).
    func prefetchExchangeKey(_ key: UInt64) { current.prefetch(key) }

    /// Accounts on an exchange key, if it is still held.
    func accounts(onExchangeKey key: UInt64) -> Int {
        Int(current[key]?.accounts ?? previous[key]?.accounts ?? 0)
    }

    private static func join(_ entry: inout Entry, account: Int32, countAgain: Bool) -> Join {
        let known = entry.contains(account)
        let candidates = entry.others(than: account)
        if !known {
            if countAgain || entry.accounts == 0 { entry.accounts += 1 }
            entry.push(account)
        }
        return Join(accounts: Int(entry.accounts), candidates: candidates, isNew: !known)
    }
}

/// A stable 64-bit hash of text (FNV-1a, then a finaliser), the same in every process so
/// that a batch scan and the server key the same strings alike. Not a privacy measure:
/// keys live only in memory.
/// - Complexity: O(n) in the UTF-8 length.
@inlinable
func stableHash(_ text: String, salt: UInt64) -> UInt64 {
    func fnv(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ salt
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }
    // Over the contiguous bytes when the string has them (native strings do), which
    // avoids the UTF-8 view's per-byte bookkeeping.
    let h = text.utf8.withContiguousStorageIfAvailable { fnv($0) } ?? fnv(text.utf8)
    return finalMix(h)
}

@inlinable
func stableHash(_ value: UInt64, salt: UInt64) -> UInt64 {
    finalMix(value ^ (salt &* 0x9E37_79B9_7F4A_7C15))
}

/// MurmurHash3's 64-bit finaliser.
@inlinable
func finalMix(_ x: UInt64) -> UInt64 {
    var k = x
    k ^= k >> 33
    k &*= 0xFF51_AFD7_ED55_8CCD
    k ^= k >> 33
    k &*= 0xC4CE_B9FE_1A85_EC53
    k ^= k >> 33
    return k
}

// MARK: Snapshot

extension LinkKeyIndex: SnapshotCodable {
    static var snapshotFieldCount: Int { 6 }

    func write(to w: inout SnapshotWriter) {
        w.int(Int64(generationCapacity))
        w.int(Int64(profileCapacity))
        for keys in [profileKeys, current, previous] {
            w.dictionary(keys.dictionary) { w, key, entry in
                w.int(key)
                w.int(entry.accounts)
                w.int(entry.head)
                w.inline(entry.recent)
            }
        }
        w.int(Int64(droppedProfileKeys))
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        let generationCapacity = Int(try r.int(Int64.self))
        let profileCapacity = Int(try r.int(Int64.self))
        guard generationCapacity > 0, profileCapacity > 0 else { throw SnapshotError("the link-key index has no capacity") }
        self.init(generationCapacity: generationCapacity, profileCapacity: profileCapacity)
        func keys(_ r: inout SnapshotReader) throws(SnapshotError) -> HashedKeyTable<Entry> {
            let read = try r.dictionary(minimumEntrySize: 29) { (r: inout SnapshotReader) throws(SnapshotError) in
                let key: UInt64 = try r.int()
                let entry = Entry(accounts: try r.int(), head: try r.int(), recent: try r.inline())
                guard entry.head < 4 else { throw SnapshotError("byte \(r.offset): a link key's ring position \(entry.head) is outside 0..<4") }
                return (key, entry)
            }
            var table = HashedKeyTable(placeholder: Entry(), minimumCapacity: read.count)
            for (key, entry) in read { table.insertNew(entry, forKey: key) }
            return table
        }
        profileKeys = try keys(&r)
        current = try keys(&r)
        previous = try keys(&r)
        droppedProfileKeys = Int(try r.int(Int64.self))
    }
}
