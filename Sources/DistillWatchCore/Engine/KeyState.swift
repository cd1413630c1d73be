import RealModule

/// What the engine remembers about one API key of one account (`api_key_id`), in fixed
/// memory (about 150 bytes): enough to judge a key that is shared, resold or leaked apart
/// from its owner's other keys.
///
/// Two signals are judged per key when exchanges carry a key id: `sudden_change` (the
/// key's volume against its own daily baseline) and `key_sharing` (how many countries and
/// networks use the key within one hour). The account's own readings of those two are then
/// 0, so that one abused key does not block the owner's other keys.
struct KeyState: Sendable {
    var accountIndex: Int32
    var keyID: String
    var exchanges: Int64 = 0
    var firstSeen = Timestamp(millisecondsSinceEpoch: 0)
    var lastSeen = Timestamp(millisecondsSinceEpoch: 0)

    // Sliding 24-hour window of hourly buckets, as the account's.
    var windowExchanges = InlineArray<24, UInt32>(repeating: 0)
    var windowHour: Int64 = 0
    var windowExchangeSum: Int64 = 0

    // Daily baseline: the current UTC day, its exchanges, and the completed days'
    // winsorised total and count (a day counts at most 4× the baseline + 20, so that a burst
    // does not become the norm at once; idle days count as 0, at most 60 of them).
    var batchExchanges: Int64 = 0
    var day: Int64 = .min
    var dayExchanges: Int64 = 0
    var baselineTotal: Double = 0
    var baselineDays: Int32 = 0
    /// The busiest completed day (exchanges outside batches): a key used in bursts (an
    /// evaluation run, a release day) has had busy days before.
    var peakDayExchanges: Int64 = 0

    // Countries and autonomous systems seen on the current UTC day (one bit each of 64,
    // by hash), and the counts of the day before.
    var dayCountryBits: UInt64 = 0
    var dayNetworkBits: UInt64 = 0
    var previousDayCountries: UInt8 = 0
    var previousDayNetworks: UInt8 = 0

    var score: Double = 0
    var verdict: Verdict = .allow
    var strongestSignal: SignalKind?
    var firstFlaggedAt: Timestamp?
    /// The account's exchanges when the key was first flagged.
    var accountExchangesAtFlag: Int64 = 0

    init(accountIndex: Int32, keyID: String) {
        self.accountIndex = accountIndex
        self.keyID = keyID
    }

    /// Counts one exchange at `t` (the account's time, so never earlier than the last).
    /// - Complexity: O(1) amortised (O(24) when hours are skipped).
    mutating func record(at t: Timestamp, asn: Int?, country: String?, batch: Bool) {
        let h = t.hourIndex
        if exchanges == 0 {
            firstSeen = t
            windowHour = h
        }
        exchanges.incrementSaturating()
        lastSeen = t
        if h > windowHour {
            let advance = min(24, h - windowHour)
            for k in 1...advance {
                let b = Int(floorModulo(windowHour + k, 24))
                windowExchangeSum -= Int64(windowExchanges[b])
                windowExchanges[b] = 0
            }
            windowHour = h
        }
        let bucket = Int(floorModulo(h, 24))
        windowExchanges[bucket].incrementSaturating()
        windowExchangeSum.incrementSaturating()

        let d = t.dayIndex
        if d != day {
            if day != .min {
                let mean = baselineDays > 0 ? baselineTotal / Double(baselineDays) : Double(dayExchanges)
                baselineTotal += min(Double(dayExchanges), 4 * mean + 20)
                peakDayExchanges = max(peakDayExchanges, dayExchanges)
                baselineDays.incrementSaturating()
                baselineDays.addSaturating(Int32(min(60, max(0, d - day - 1))))
            }
            previousDayCountries = d == day + 1 ? UInt8(dayCountryBits.nonzeroBitCount) : 0
            previousDayNetworks = d == day + 1 ? UInt8(dayNetworkBits.nonzeroBitCount) : 0
            dayCountryBits = 0
            dayNetworkBits = 0
            day = d
            dayExchanges = 0
        }
        if batch { batchExchanges.incrementSaturating() } else { dayExchanges.incrementSaturating() }

        if let asn { dayNetworkBits |= 1 << (finalMix(UInt64(UInt32(truncatingIfNeeded: asn)) ^ 0x4E7) & 63) }
        if let country {
            var code: UInt64 = 0
            for byte in country.utf8.prefix(8) { code = code << 8 | UInt64(byte) }
            dayCountryBits |= 1 << (finalMix(code ^ 0xC0C1) & 63)
        }
    }

    /// The most countries and networks that used the key on one day, today or yesterday
    /// (bits set: a slight under-count once dozens collide).
    @inline(__always)
    var peakDay: (countries: Int, networks: Int) {
        (max(dayCountryBits.nonzeroBitCount, Int(previousDayCountries)),
         max(dayNetworkBits.nonzeroBitCount, Int(previousDayNetworks)))
    }

    @inline(__always)
    var baselineDaily: Double { baselineDays > 0 ? baselineTotal / Double(baselineDays) : 0 }

    /// Exchanges in the 24 hours before `now`.
    @inline(__always)
    func windowExchangeCount(at now: Timestamp) -> Int64 {
        AccountState.windowSum(windowExchanges, runningSum: windowExchangeSum, newestHour: windowHour, at: now)
    }
}

/// The engine's API keys: one ``KeyState`` per (account, `api_key_id`), found through a
/// dictionary keyed by a stable hash of both.
///
/// Holds at most ``capacity`` keys (2^20 by default, about 250 bytes each with the index and
/// the id, so at most about 250 MB):
/// beyond, new keys are not tracked (counted in ``untrackedKeys``) and judged with their
/// account, so a client that invents a key per request cannot grow memory without bound.
struct KeyTable: Sendable {
    var states: [KeyState] = []
    var index = HashedKeyTable<Int32>(placeholder: -1)
    var capacity = 1 << 20
    private(set) var untrackedKeys = 0

    static func hash(account: Int32, key: String) -> UInt64 {
        stableHash(key, salt: 0x6E75 ^ UInt64(UInt32(bitPattern: account)) << 20)
    }

    /// The slot of `key` of account `account`, created if there is room.
    /// - Complexity: O(length of the key id) for the hash, O(1) amortised otherwise.
    mutating func slot(account: Int32, key: String) -> Int? {
        let h = Self.hash(account: account, key: key)
        let held = index.index(forKey: h)
        if let held {
            let i = Int(index[position: held])
            if states[i].accountIndex == account, states[i].keyID == key { return i }
        }
        guard held == nil, states.count < capacity else {
            untrackedKeys += 1
            return nil
        }
        index.insertNew(Int32(states.count), forKey: h)
        states.append(KeyState(accountIndex: account, keyID: key))
        return states.count - 1
    }

    func find(account: Int32, key: String) -> Int? {
        guard let i = index[Self.hash(account: account, key: key)], states[Int(i)].accountIndex == account,
              states[Int(i)].keyID == key else { return nil }
        return Int(i)
    }
}

// MARK: Snapshot

extension KeyState: SnapshotCodable {
    static var snapshotFieldCount: Int { 23 }

    func write(to w: inout SnapshotWriter) {
        w.int(accountIndex)
        w.string(keyID)
        w.int(exchanges)
        w.timestamp(firstSeen)
        w.timestamp(lastSeen)
        w.inline(windowExchanges)
        w.int(windowHour)
        w.int(windowExchangeSum)
        w.int(batchExchanges)
        w.int(day)
        w.int(dayExchanges)
        w.double(baselineTotal)
        w.int(baselineDays)
        w.int(peakDayExchanges)
        w.int(dayCountryBits)
        w.int(dayNetworkBits)
        w.int(previousDayCountries)
        w.int(previousDayNetworks)
        w.double(score)
        w.string(verdict.rawValue)
        w.optional(strongestSignal) { $0.string($1.rawValue) }
        w.optional(firstFlaggedAt) { $0.timestamp($1) }
        w.int(accountExchangesAtFlag)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        accountIndex = try r.int()
        keyID = try r.string()
        exchanges = try r.int()
        firstSeen = try r.timestamp()
        lastSeen = try r.timestamp()
        windowExchanges = try r.inline()
        windowHour = try r.int()
        windowExchangeSum = try r.int()
        batchExchanges = try r.int()
        day = try r.int()
        dayExchanges = try r.int()
        baselineTotal = try r.double()
        baselineDays = try r.int()
        peakDayExchanges = try r.int()
        dayCountryBits = try r.int()
        dayNetworkBits = try r.int()
        previousDayCountries = try r.int()
        previousDayNetworks = try r.int()
        score = try r.double()
        verdict = try r.rawValue(Verdict.self)
        strongestSignal = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.rawValue(SignalKind.self) }
        firstFlaggedAt = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        accountExchangesAtFlag = try r.int()
    }
}

extension KeyTable: SnapshotCodable {
    static var snapshotFieldCount: Int { 4 }

    /// The index is rebuilt from the keys (each key's hash is its account and id).
    func write(to w: inout SnapshotWriter) {
        w.array(states)
        w.int(capacity)
        w.int(untrackedKeys)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        states = try r.array(minimumElementSize: 64)
        capacity = try r.int()
        untrackedKeys = try r.int()
        index = HashedKeyTable(placeholder: -1, minimumCapacity: states.count)
        for (i, s) in states.enumerated() { index.updateValue(Int32(i), forKey: Self.hash(account: s.accountIndex, key: s.keyID)) }
    }
}
