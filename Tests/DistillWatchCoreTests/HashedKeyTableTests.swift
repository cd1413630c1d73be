import Testing
@testable import DistillWatchCore

/// ``HashedKeyTable``: the same answers as a `Dictionary` under any sequence of insertions,
/// updates and removals, including key 0, runs that wrap around the end of the buckets,
/// growth, and removals that must shift a run back.
@Suite struct HashedKeyTableTests {
    /// Checks every key of `keys` against the model, and the count and contents.
    static func expectSame(_ table: HashedKeyTable<Int>, _ model: [UInt64: Int], keys: some Sequence<UInt64>,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(table.count == model.count, sourceLocation: sourceLocation)
        for key in keys {
            #expect(table[key] == model[key], "key \(key)", sourceLocation: sourceLocation)
            #expect((table.index(forKey: key) != nil) == (model[key] != nil), sourceLocation: sourceLocation)
        }
        #expect(table.dictionary == model, sourceLocation: sourceLocation)
    }

    /// Random operations on a few keys in a small table: most lookups meet collisions, runs
    /// wrap around the last bucket, and removals land inside runs.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func matchesADictionaryUnderRandomOperations(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = HashedKeyTable<Int>(placeholder: -1)
        var model: [UInt64: Int] = [:]
        // Key 0 is held apart from the buckets; the largest key too is an ordinary one.
        let keys: [UInt64] = [0, .max] + (1...60).map { _ in rng.next() }
        for step in 0..<20_000 {
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            switch rng.next() % 4 {
            case 0, 1:
                #expect(table.updateValue(step, forKey: key) == model.updateValue(step, forKey: key))
            case 2:
                #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key))
            default:
                if let p = table.index(forKey: key) {
                    table[position: p] += 1
                    model[key]! += 1
                } else {
                    #expect(model[key] == nil)
                    let p = table.insertNew(step, forKey: key)
                    #expect(table[position: p] == step)
                    model[key] = step
                }
            }
            if step % 997 == 0 { Self.expectSame(table, model, keys: keys) }
        }
        Self.expectSame(table, model, keys: keys)
    }

    /// Growing from the smallest table to 100,000 keys keeps every key; removing every other
    /// key leaves exactly the rest, and keys never inserted are absent throughout.
    @Test func growsAndShrinksWithoutLosingKeys() {
        var rng = SplitMix64(seed: 21)
        var table = HashedKeyTable<Int>(placeholder: -1)
        var model: [UInt64: Int] = [:]
        let keys = (0..<100_000).map { _ in rng.next() | 1 }
        for (i, key) in keys.enumerated() {
            table.insertNew(i, forKey: key)
            model[key] = i
        }
        let absent = (0..<1_000).map { _ in rng.next() & ~1 }
        Self.expectSame(table, model, keys: keys + absent)
        for key in keys.enumerated().filter({ $0.offset % 2 == 0 }).map(\.element) {
            #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key))
        }
        Self.expectSame(table, model, keys: keys + absent)
        #expect(table.count == 50_000)
    }

    /// Sequential keys (as an attacker who knew the hash might send) and keys differing
    /// only in their top bits all stay reachable; a reserved table holds its capacity.
    @Test func sequentialAndHighBitKeys() {
        var table = HashedKeyTable<Int>(placeholder: -1, minimumCapacity: 4_096)
        var model: [UInt64: Int] = [:]
        let keys = (1...2_000).map { UInt64($0) } + (1...60).map { UInt64($0) << 58 | 7 }
        for (i, key) in keys.enumerated() {
            table.insertNew(i, forKey: key)
            model[key] = i
        }
        Self.expectSame(table, model, keys: keys + [0, 2_001, 1 << 63])
        table.reserveCapacity(10)
        Self.expectSame(table, model, keys: keys)
    }

    /// The link-key index on its own table: a key's entry survives its generation's growth
    /// and a snapshot, joins find the same candidates as before it.
    @Test func linkKeyIndexSnapshotRoundTrips() throws {
        var index = LinkKeyIndex(generationCapacity: 64)
        for n in 0..<500 {
            _ = index.joinExchangeKey(UInt64(n % 90), account: Int32(n % 7))
            _ = index.joinProfileKey(UInt64(n % 13) &* 0x9E37_79B9_7F4A_7C15, account: Int32(n % 11))
        }
        var w = SnapshotWriter()
        index.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var copy = try LinkKeyIndex(from: &r)
        #expect(copy.exchangeKeyCount == index.exchangeKeyCount)
        for key in 0..<100 {
            let a = index.joinExchangeKey(UInt64(key), account: 3)
            let b = copy.joinExchangeKey(UInt64(key), account: 3)
            #expect(a.accounts == b.accounts && a.isNew == b.isNew)
            #expect((0..<4).allSatisfy { a.candidates[$0] == b.candidates[$0] })
        }
    }

    /// The link-key index's two generations, as they were written on `Dictionary`s before
    /// the index moved to ``HashedKeyTable`` (the reference the index must agree with).
    struct ReferenceExchangeKeys {
        let generationCapacity: Int
        var current: [UInt64: LinkKeyIndex.Entry] = [:]
        var previous: [UInt64: LinkKeyIndex.Entry] = [:]

        mutating func join(_ key: UInt64, account: Int32) -> LinkKeyIndex.Join {
            func join(_ entry: inout LinkKeyIndex.Entry) -> LinkKeyIndex.Join {
                let known = entry.contains(account)
                let candidates = entry.others(than: account)
                if !known {
                    entry.accounts += 1
                    entry.push(account)
                }
                return LinkKeyIndex.Join(accounts: Int(entry.accounts), candidates: candidates, isNew: !known)
            }
            if current[key] != nil { return join(&current[key]!) }
            var entry: LinkKeyIndex.Entry
            if let promoted = previous.removeValue(forKey: key) {
                entry = promoted
            } else {
                if current.count >= generationCapacity {
                    previous = current
                    current = [:]
                }
                entry = LinkKeyIndex.Entry()
            }
            let joined = join(&entry)
            current[key] = entry
            return joined
        }
    }

    /// Random joins of a few hundred keys by a few accounts through generations of 16 keys:
    /// every join answers as the reference does (candidates, count, news), and the index
    /// holds as many keys.
    @Test(arguments: [UInt64(7), 8, 9])
    func exchangeKeyGenerationsMatchTheReference(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var index = LinkKeyIndex(generationCapacity: 16)
        var reference = ReferenceExchangeKeys(generationCapacity: 16)
        for _ in 0..<20_000 {
            // Keys 0..<40 recur often; 40..<400 rarely (they age out).
            let key = rng.next() % 3 == 0 ? rng.next() % 400 : rng.next() % 40
            let account = Int32(rng.next() % 12)
            let a = index.joinExchangeKey(key, account: account)
            let b = reference.join(key, account: account)
            #expect(a.accounts == b.accounts && a.isNew == b.isNew, "key \(key)")
            #expect((0..<4).allSatisfy { a.candidates[$0] == b.candidates[$0] }, "key \(key)")
            #expect(index.exchangeKeyCount == reference.current.count + reference.previous.count)
        }
    }
}

/// ``AccountSlotTable``: ids whose hashes collide in all 64 bits (which `CityHash64` input
/// can be built to do) each keep their own slot.
@Suite struct AccountSlotTableTests {
    @Test func idsWithOneHashKeepTheirOwnSlots() {
        var table = AccountSlotTable()
        var ids: [String] = []
        for (i, id) in ["acct-1", "acct-2", "a much longer account id, past the small-string limit", ""].enumerated() {
            #expect(table.slot(of: id, hash: 42, ids: ids) == nil)
            ids.append(id)
            table.insert(id, hash: 42, slot: Int32(i))
        }
        ids.append("acct-9")
        table.insert("acct-9", hash: CityHash64.hash("acct-9"), slot: 4)
        #expect(table.count == 5)
        for (i, id) in ids.enumerated() {
            let hash: UInt64 = id == "acct-9" ? CityHash64.hash(id) : 42
            #expect(table.slot(of: id, hash: hash, ids: ids) == Int32(i))
        }
        #expect(table.slot(of: "acct-3", hash: 42, ids: ids) == nil)
        #expect(table.slot(of: "acct-1", hash: 43, ids: ids) == nil)
    }

    /// Ids equal as Swift strings (canonically equivalent) are one account, as they were
    /// with the `[String: Int32]` this table replaced; ids that only look alike are not.
    @Test func canonicallyEquivalentIdsAreOneAccount() {
        let pairs: [(String, String)] = [
            ("caf\u{E9}", "cafe\u{301}"),            // é precomposed, e + combining acute
            ("acct-\u{212A}", "acct-K"),              // the Kelvin sign is K
            ("x\u{37E}", "x;"),                       // the Greek question mark is a semicolon
            ("\u{1E0B}\u{323}-long-enough-for-the-heap", "\u{1E0D}\u{307}-long-enough-for-the-heap"),
        ]
        for (a, b) in pairs {
            #expect(a == b)
            #expect(AccountSlotTable.hash(a) == AccountSlotTable.hash(b))
            var engine = DetectionEngine()
            let t = ManualClock().now
            engine.observe(exchange(a, at: t))
            engine.observe(exchange(b, at: t.adding(seconds: 1)))
            #expect(engine.accountsKnown == 1, "\(a.unicodeScalars.map(\.value)) and \(b.unicodeScalars.map(\.value))")
            #expect(engine.summary(for: b)?.exchanges == 2)
        }
        // Not equivalent: the Latin K, the Cyrillic Ka and the full-width K.
        var engine = DetectionEngine()
        let t = ManualClock().now
        for (k, id) in ["acct-K", "acct-\u{41A}", "acct-\u{FF2B}"].enumerated() {
            engine.observe(exchange(id, at: t.adding(seconds: Double(k))))
        }
        #expect(engine.accountsKnown == 3)
        // ASCII ids hash as their bytes do (the partitioning hash, ClickHouse's cityHash64).
        #expect(AccountSlotTable.hash("acct-05947") == CityHash64.hash("acct-05947"))
    }
}
