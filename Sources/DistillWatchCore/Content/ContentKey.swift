/// The secret that seeds every content sketch.
///
/// Signatures made with the same key can be compared (within one provider, or across
/// providers who share the key); without the key, a signature reveals nothing about the
/// text: each shingle passes through SipHash-2-4, a keyed pseudo-random function, before
/// it reaches the sketch, so one cannot test a guessed text against a signature.
public struct ContentKey: Sendable, Hashable {
    public var k0: UInt64
    public var k1: UInt64

    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// Parses 32 hexadecimal digits.
    public init?(hex: String) {
        let digits = hex.trimmingWhitespace
        guard digits.count == 32, let a = UInt64(digits.prefix(16), radix: 16), let b = UInt64(digits.suffix(16), radix: 16)
        else { return nil }
        self.init(k0: a, k1: b)
    }

    /// 32 hexadecimal digits.
    public var hex: String {
        func h(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return h(k0) + h(k1)
    }

    /// A new random key.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> ContentKey {
        ContentKey(k0: generator.next(), k1: generator.next())
    }

    /// SipHash-2-4 of a 64-bit value (Aumasson and Bernstein, "SipHash: a fast short-input
    /// PRF", 2012).
    /// - Complexity: O(1), about 10 ns.
    @inlinable @inline(__always)
    public func prf(_ m: UInt64) -> UInt64 {
        var state = SipState(k0: k0, k1: k1)
        state.absorb(m)
        // Final block: the message length (8) in the top byte.
        state.absorb(UInt64(8) << 56)
        return state.finalize()
    }

    /// SipHash-2-4 of a byte string.
    public func prf(bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var state = SipState(k0: k0, k1: k1)
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            state.absorb(UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self).littleEndian)
            i += 8
        }
        var last = UInt64(n & 0xFF) << 56
        var shift: UInt64 = 0
        while i < n {
            last |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        state.absorb(last)
        return state.finalize()
    }
}

@usableFromInline
struct SipState {
    @usableFromInline var v0: UInt64
    @usableFromInline var v1: UInt64
    @usableFromInline var v2: UInt64
    @usableFromInline var v3: UInt64

    @inlinable @inline(__always)
    init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736F_6D65_7073_6575
        v1 = k1 ^ 0x646F_7261_6E64_6F6D
        v2 = k0 ^ 0x6C79_6765_6E65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    @inlinable @inline(__always)
    mutating func round() {
        v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
        v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
    }

    @inlinable @inline(__always)
    mutating func absorb(_ m: UInt64) {
        v3 ^= m
        round()
        round()
        v0 ^= m
    }

    @inlinable @inline(__always)
    mutating func finalize() -> UInt64 {
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    /// Rotation with masking shifts (`&<<`): the plain `<<` with a `UInt64` count goes
    /// through the generic "smart shift" and costs more than the hash itself.
    @inlinable @inline(__always)
    func rotatedLeft(_ k: UInt64) -> UInt64 { (self &<< k) | (self &>> (64 &- k)) }
}

extension String {
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
