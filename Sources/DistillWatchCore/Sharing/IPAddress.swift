/// An IPv4 or IPv6 address as 128 bits (IPv4 in the IPv4-mapped range `::ffff:0:0/96`,
/// RFC 4291 §2.5.5.2), for matching shared indicators against `client_ip`.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// True for an address written as a dotted quad (stored IPv4-mapped).
    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    /// Parses a dotted-quad IPv4 address (RFC 791; no leading zeros beyond one digit per
    /// octet are read as octal: `010` is ten) or an IPv6 address in the text forms of
    /// RFC 4291 §2.2 (`::` compression, embedded dotted quad); `nil` for anything else.
    /// A zone index (`%eth0`) is not accepted.
    /// - Complexity: O(length); at most 64 bytes are read.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        if !bytes.contains(UInt8(ascii: ":")) {
            guard let v4 = Self.parseIPv4(bytes[...]) else { return nil }
            self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(v4))
            return
        }
        guard let (h, l) = Self.parseIPv6(bytes) else { return nil }
        self.init(high: h, low: l)
    }

    static func parseIPv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var parts = 0
        for c in bytes {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | octet
                parts += 1
                octet = 0
                digits = 0
            } else if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 3 else { return nil }
                octet = octet * 10 + UInt32(c - UInt8(ascii: "0"))
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | octet
    }

    static func parseIPv6(_ bytes: [UInt8]) -> (UInt64, UInt64)? {
        // Split at "::" (at most one).
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var seenGap = false
        var i = 0
        let n = bytes.count
        if n >= 2, bytes[0] == UInt8(ascii: ":"), bytes[1] == UInt8(ascii: ":") {
            seenGap = true
            i = 2
        } else if bytes[0] == UInt8(ascii: ":") {
            return nil
        }
        while i < n {
            // One group, or a dotted quad at the end.
            var j = i
            while j < n, bytes[j] != UInt8(ascii: ":") { j += 1 }
            let field = bytes[i..<j]
            guard !field.isEmpty else { return nil }
            if field.contains(UInt8(ascii: ".")) {
                guard j == n, let v4 = parseIPv4(field) else { return nil }
                let pair: [UInt16] = [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                if seenGap { tail += pair } else { groups += pair }
            } else {
                guard field.count <= 4 else { return nil }
                var g: UInt16 = 0
                for c in field {
                    guard let d = hexValue(c) else { return nil }
                    g = g << 4 | UInt16(d)
                }
                if seenGap { tail.append(g) } else { groups.append(g) }
            }
            if j == n { break }
            // At a ':' — is it '::'?
            if j + 1 < n, bytes[j + 1] == UInt8(ascii: ":") {
                guard !seenGap else { return nil }
                seenGap = true
                i = j + 2
            } else {
                guard j + 1 < n else { return nil }
                i = j + 1
            }
        }
        let total = groups.count + tail.count
        if seenGap {
            guard total <= 7 else { return nil }
            groups += Array(repeating: 0, count: 8 - total) + tail
        } else {
            guard total == 8 else { return nil }
        }
        var h: UInt64 = 0, l: UInt64 = 0
        for k in 0..<4 { h = h << 16 | UInt64(groups[k]) }
        for k in 4..<8 { l = l << 16 | UInt64(groups[k]) }
        return (h, l)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The address with every bit after the first `length` (of 128) cleared.
    public func masked(to length: Int) -> IPAddress {
        let length = max(0, min(128, length))
        if length >= 128 { return self }
        if length >= 64 {
            let keep = length - 64
            return IPAddress(high: high, low: keep == 0 ? 0 : low & ~(UInt64.max >> UInt64(keep)))
        }
        return IPAddress(high: length == 0 ? 0 : high & ~(UInt64.max >> UInt64(length)), low: 0)
    }

    /// Canonical text: dotted quad for IPv4; RFC 5952 for IPv6 (lower case, longest run of
    /// two or more zero groups compressed, first such run on a tie).
    public var description: String {
        if isIPv4 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        }
        var g: [UInt16] = []
        for k in (0..<4).reversed() { g.append(UInt16(truncatingIfNeeded: high >> UInt64(16 * k))) }
        for k in (0..<4).reversed() { g.append(UInt16(truncatingIfNeeded: low >> UInt64(16 * k))) }
        var bestStart = -1, bestLength = 0, k = 0
        while k < 8 {
            if g[k] == 0 {
                var e = k
                while e < 8, g[e] == 0 { e += 1 }
                if e - k > bestLength, e - k >= 2 { bestStart = k; bestLength = e - k }
                k = e
            } else {
                k += 1
            }
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}

/// An address prefix (CIDR block, RFC 4632), IPv4 or IPv6.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    /// The network address, masked to `length`.
    public var network: IPAddress
    /// Prefix length in the address family's own bits: 0–32 for IPv4, 0–128 for IPv6.
    public var length: Int

    /// The prefix of `address` of `length` bits (its family's bits), or `nil` when the
    /// length is out of range.
    public init?(address: IPAddress, length: Int) {
        let limit = address.isIPv4 ? 32 : 128
        guard length >= 0, length <= limit else { return nil }
        self.network = address.masked(to: address.isIPv4 ? 96 + length : length)
        self.length = length
    }

    /// Parses `a.b.c.d/n`, `x:y::/n`, or a bare address (a /32 or /128). Host bits set in
    /// the network part are cleared (`198.51.100.7/24` is `198.51.100.0/24`).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let limit = address.isIPv4 ? 32 : 128
        var length = limit
        if parts.count == 2 {
            guard parts[1].count <= 3, let n = Int(parts[1]), parts[1].allSatisfy(\.isASCII) else { return nil }
            length = n
        }
        self.init(address: address, length: length)
    }

    /// The prefix length counted over 128 bits (IPv4 prefixes sit under `::ffff:0:0/96`).
    public var bitsOf128: Int { network.isIPv4 ? 96 + length : length }

    public var isIPv4: Bool { network.isIPv4 }

    /// Whether `address` is inside this prefix. An IPv4 address is only ever inside an IPv4
    /// prefix (an IPv6 prefix such as `::/0` does not cover the IPv4-mapped range here).
    /// - Complexity: O(1).
    public func contains(_ address: IPAddress) -> Bool {
        if address.isIPv4, !isIPv4 { return false }
        return address.masked(to: bitsOf128) == network
    }

    public var description: String { "\(network)/\(length)" }
}
