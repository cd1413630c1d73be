import RealModule

/// What the linkage graph remembers about one account, in fixed memory (about 180 bytes):
/// hashed sign-up attributes, the last client seen, and sketches of where and when the
/// account is active.
struct LinkProfile: Sendable {
    static let empty: UInt64 = 0

    // From the account record (read at the account's first exchange).
    var paymentKey: UInt64 = 0
    var emailKey: UInt64 = 0
    var created: Timestamp?
    /// Unverified account on a free or standard tier (or with no record saying otherwise).
    var unverifiedSelfServe = true

    // Client, as last seen.
    var lastAddressKey: UInt64 = 0
    var userAgentKey: UInt64 = 0
    var fingerprintKey: UInt64 = 0

    /// One-permutation MinHash (16 bins) of the autonomous systems used, for the overlap of
    /// two accounts' proxy pools; distinct systems and countries by 64-bit linear counting.
    var networkSketch = InlineArray<16, UInt16>(repeating: .max)
    var networkBits: UInt64 = 0
    var countryBits: UInt64 = 0
    var networkObservations: Int32 = 0

    /// One-permutation MinHash (16 bins) of the client addresses used, and distinct
    /// addresses by 64-bit linear counting: how much two accounts' proxy exits overlap.
    var addressSketch = InlineArray<16, UInt16>(repeating: .max)
    var addressBits: UInt64 = 0
    /// Boyer–Moore majority vote over the addresses of every exchange: a customer's home or
    /// office keeps a large margin; a proxy user has no address that most requests come from.
    var majorityAddress: UInt64 = 0
    var majorityMargin: Int32 = 0
    var addressedExchanges: Int32 = 0

    /// One-permutation MinHash (16 bins) of active minute buckets (SynchroTrap-style).
    var minuteSketch = InlineArray<16, UInt16>(repeating: .max)
    var lastMinute: Int64 = .min
    var activeMinutes: Int32 = 0

    /// The template family the account last used while it was a split task list.
    var splitFamilyKey: UInt64 = 0
    /// The next exchange count at which profile keys are announced again.
    var nextMilestone: Int64 = 1
    /// Kinds whose profile key the account has joined.
    var joinedKinds: UInt16 = 0
    /// Counted as rotating networks (pair logic: its addresses are proxy exits).
    var countedRotating = false
    /// Counted in its group's `rotatingMembers`: rotating, or using many exits.
    var countedProxy = false
    /// An analyst labelled the account legitimate: it is out of its campaign and links no more.
    var detached = false

    /// Distinct autonomous systems, estimated (exact enough up to ~100).
    var distinctNetworks: Double { Self.linearCount(networkBits) }
    var distinctCountries: Double { Self.linearCount(countryBits) }

    var distinctAddresses: Double { Self.linearCount(addressBits) }

    /// Many exits: at least 6 distinct addresses in at least 3 networks over the account's
    /// life, and no address that most requests come from (the majority vote's margin under
    /// a third of the exchanges). A home, an office and a phone make three addresses and the
    /// home a clear majority; a sticky proxy session a day makes one address a day.
    var usesManyExits: Bool {
        addressBits.nonzeroBitCount >= 6 && networkBits.nonzeroBitCount >= 3
            && Int64(majorityMargin) * 3 < Int64(addressedExchanges)
    }

    /// Counts one exchange from address `key` in the majority vote. - Complexity: O(1).
    mutating func voteAddress(_ key: UInt64) {
        addressedExchanges &+= 1
        if key == majorityAddress {
            majorityMargin &+= 1
        } else if majorityMargin == 0 {
            majorityAddress = key
            majorityMargin = 1
        } else {
            majorityMargin -= 1
        }
    }

    mutating func noteAddress(_ key: UInt64) {
        let h = finalMix(key ^ 0xAD_D2E5)
        addressBits |= 1 << (h & 63)
        Self.insert(hash: h, into: &addressSketch)
    }

    /// Rotating through a proxy pool: at least 6 networks in at least 3 countries, with a
    /// new network on at least a third of exchanges. Always inlined: read out of line from a
    /// profile in the engine's table, the whole profile (237 bytes) was copied first
    /// (callgrind, 1 December 2026).
    @inline(__always)
    var isRotating: Bool {
        // Bit counts first: linear counting never estimates more than the bits set.
        guard networkBits.nonzeroBitCount >= 6, countryBits.nonzeroBitCount >= 3 else { return false }
        let networks = distinctNetworks
        return networks >= 6 && distinctCountries >= 3 && networks >= Double(networkObservations) / 3
    }

    mutating func noteNetwork(asn: Int?, country: String?) {
        guard asn != nil || country != nil else { return }
        networkObservations += 1
        if let asn {
            let h = finalMix(UInt64(UInt32(truncatingIfNeeded: asn)) | 0xA5A5 << 40)
            networkBits |= 1 << (h & 63)
            Self.insert(hash: h, into: &networkSketch)
        }
        if let country {
            // Country codes are two letters: their bytes are the key (no string hashing).
            var code: UInt64 = 0
            for byte in country.utf8.prefix(8) { code = code << 8 | UInt64(byte) }
            countryBits |= 1 << (finalMix(code ^ 0xC0C0) & 63)
        }
    }

    mutating func noteMinute(_ minute: Int64) {
        guard minute != lastMinute else { return }
        lastMinute = minute
        activeMinutes += 1
        Self.insert(hash: finalMix(UInt64(bitPattern: minute) ^ 0x5EC0_4D5E_C04D), into: &minuteSketch)
    }

    /// One-permutation MinHash insert: the top 4 bits pick the bin, 16 bits below the
    /// lowest 8 are the value kept if smaller. - Complexity: O(1).
    static func insert(hash h: UInt64, into sketch: inout InlineArray<16, UInt16>) {
        let bin = Int(h >> 60)
        let value = UInt16(truncatingIfNeeded: h >> 8)
        if value < sketch[bin] { sketch[bin] = value }
    }

    /// Estimated Jaccard similarity of two one-permutation sketches: agreeing bins over
    /// bins filled in either (empty in both does not count).
    /// - Complexity: O(16), four bins at a time in 64-bit words without a branch per bin
    ///   (the loop mispredicted: 6% of a shared-network scan's time, `perf`, 1 December
    ///   2026). Standard error about 0.12 at 16 bins; 16-bit minima add a chance agreement
    ///   of 1/65,536 per bin.
    static func similarity(_ a: InlineArray<16, UInt16>, _ b: InlineArray<16, UInt16>) -> Double {
        // Four bins to a 64-bit word; a lane's high bit marks "this bin is 0" in `zeroLanes`.
        typealias Words = (UInt64, UInt64, UInt64, UInt64)
        let wa = unsafeBitCast(a, to: Words.self), wb = unsafeBitCast(b, to: Words.self)
        @inline(__always) func zeroLanes(_ z: UInt64) -> UInt64 {
            let low: UInt64 = 0x7FFF_7FFF_7FFF_7FFF
            return ~(((z & low) &+ low) | z) & ~low
        }
        // Per word, 1 in each lane that is filled in either sketch / also equal in both.
        @inline(__always) func lanes(_ x: UInt64, _ y: UInt64) -> (filled: UInt64, equal: UInt64) {
            let filled = ~(zeroLanes(~x) & zeroLanes(~y)) & ~0x7FFF_7FFF_7FFF_7FFF
            return (filled >> 15, (filled & zeroLanes(x ^ y)) >> 15)
        }
        // Lane sums stay at most 4; one multiply adds the four lanes into the top one.
        @inline(__always) func total(_ ones: UInt64) -> Int { Int((ones &* 0x0001_0001_0001_0001) >> 48) }
        let l0 = lanes(wa.0, wb.0), l1 = lanes(wa.1, wb.1), l2 = lanes(wa.2, wb.2), l3 = lanes(wa.3, wb.3)
        let filledBins = total(l0.filled + l1.filled + l2.filled + l3.filled)
        let equalBins = total(l0.equal + l1.equal + l2.equal + l3.equal)
        return filledBins == 0 ? 0 : Double(equalBins) / Double(filledBins)
    }

    static func linearCount(_ bits: UInt64) -> Double {
        let zeros = 64 - bits.nonzeroBitCount
        guard zeros > 0 else { return 250 }
        return -64 * Double.log(Double(zeros) / 64)
    }
}

/// Keys for client addresses: the address itself and its /24 (IPv4) or /48 (IPv6).
enum AddressKeys {
    /// The key of `address`, or `nil` for text that is not an address.
    /// - Complexity: O(length), no allocation for IPv4.
    static func addressKey(_ address: String) -> UInt64? {
        let utf8 = address.utf8
        guard !utf8.isEmpty, utf8.count <= 64 else { return nil }
        if utf8.contains(UInt8(ascii: ":")) {
            guard ipv6Prefix48(address) != nil else { return nil }
            return stableHash(address.lowercased(), salt: 0x1F6)
        }
        guard ipv4LastDot(address) != nil else { return nil }
        return stableHash(address, salt: 0x1F4)
    }

    /// The key of the address's /24 or /48 (call after ``addressKey(_:)`` accepted it).
    static func subnetKey(_ address: String) -> UInt64? {
        if address.utf8.contains(UInt8(ascii: ":")) {
            return ipv6Prefix48(address).map { stableHash($0, salt: 0x5B6) }
        }
        guard let lastDot = ipv4LastDot(address) else { return nil }
        return stableHash(String(address[..<lastDot]), salt: 0x5B4)
    }

    /// The address's key and its /24's or /48's (``addressKey(_:)`` and
    /// ``subnetKey(_:)``), or `nil` for text that is not an address. A dotted-quad IPv4
    /// address (the common case) is read once, from its bytes, with no allocation.
    /// - Complexity: O(length).
    static func keys(_ address: String) -> (address: UInt64, subnet: UInt64?)? {
        let ipv4 = address.utf8.withContiguousStorageIfAvailable { bytes -> (UInt64, UInt64)?? in
            guard !bytes.isEmpty, bytes.count <= 64 else { return .some(nil) }
            // FNV-1a over the whole address and over its bytes up to the last dot, as
            // `stableHash` computes them.
            var whole: UInt64 = 0xCBF2_9CE4_8422_2325 ^ 0x1F4
            var prefix: UInt64 = 0xCBF2_9CE4_8422_2325 ^ 0x5B4
            var subnet = prefix
            var dots = 0
            for c in bytes {
                if c == UInt8(ascii: ".") {
                    dots += 1
                    subnet = prefix
                } else if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                    return nil // IPv6 (`fe80::1`) or not an address: the general path below
                }
                whole ^= UInt64(c)
                whole &*= 0x0000_0100_0000_01B3
                prefix ^= UInt64(c)
                prefix &*= 0x0000_0100_0000_01B3
            }
            return dots == 3 ? .some((finalMix(whole), finalMix(subnet))) : .some(nil)
        }
        switch ipv4 {
        case .some(.some(.some(let keys))): return (keys.0, keys.1)
        case .some(.some(.none)): return nil
        default:
            guard let key = addressKey(address) else { return nil }
            return (key, subnetKey(address))
        }
    }

    /// The index of the last dot of a dotted-quad IPv4 address, or `nil`.
    private static func ipv4LastDot(_ address: String) -> String.Index? {
        let utf8 = address.utf8
        var dots = 0
        var lastDot = utf8.startIndex
        for i in utf8.indices {
            let c = utf8[i]
            if c == UInt8(ascii: ".") {
                dots += 1
                lastDot = i
            } else if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                return nil
            }
        }
        return dots == 3 ? lastDot : nil
    }

    /// The first three groups of an IPv6 address, expanded (`2a01:4f8:c0c::1` → `2a01:4f8:c0c`).
    static func ipv6Prefix48(_ address: String) -> String? {
        let lower = address.lowercased()
        let halves = lower.split(separator: "::", maxSplits: 1, omittingEmptySubsequences: false)
        var head = halves[0].isEmpty ? [] : halves[0].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard head.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
        if halves.count == 1, head.count != 8 { return nil }
        while head.count < 3 { head.append("0") }
        return head.prefix(3).map { String(Int($0, radix: 16)!, radix: 16) }.joined(separator: ":")
    }
}

// MARK: Snapshot

extension LinkProfile: SnapshotCodable {
    static var snapshotFieldCount: Int { 25 }

    func write(to w: inout SnapshotWriter) {
        w.int(paymentKey)
        w.int(emailKey)
        w.optional(created) { $0.timestamp($1) }
        w.bool(unverifiedSelfServe)
        w.int(lastAddressKey)
        w.int(userAgentKey)
        w.int(fingerprintKey)
        w.inline(networkSketch)
        w.int(networkBits)
        w.int(countryBits)
        w.int(networkObservations)
        w.inline(addressSketch)
        w.int(addressBits)
        w.int(majorityAddress)
        w.int(majorityMargin)
        w.int(addressedExchanges)
        w.inline(minuteSketch)
        w.int(lastMinute)
        w.int(activeMinutes)
        w.int(splitFamilyKey)
        w.int(nextMilestone)
        w.int(joinedKinds)
        w.bool(countedRotating)
        w.bool(countedProxy)
        w.bool(detached)
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        paymentKey = try r.int()
        emailKey = try r.int()
        created = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.timestamp() }
        unverifiedSelfServe = try r.bool()
        lastAddressKey = try r.int()
        userAgentKey = try r.int()
        fingerprintKey = try r.int()
        networkSketch = try r.inline()
        networkBits = try r.int()
        countryBits = try r.int()
        networkObservations = try r.int()
        addressSketch = try r.inline()
        addressBits = try r.int()
        majorityAddress = try r.int()
        majorityMargin = try r.int()
        addressedExchanges = try r.int()
        minuteSketch = try r.inline()
        lastMinute = try r.int()
        activeMinutes = try r.int()
        splitFamilyKey = try r.int()
        nextMilestone = try r.int()
        joinedKinds = try r.int()
        countedRotating = try r.bool()
        countedProxy = try r.bool()
        detached = try r.bool()
    }
}
