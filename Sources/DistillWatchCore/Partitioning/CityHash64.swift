/// CityHash64 as ClickHouse computes it (`cityHash64(s)` of a `String`): Google's CityHash
/// version 1.0.2, which ClickHouse keeps frozen (contrib `cityhash102`) so that hashes stored
/// in tables and shard assignments never change. Later CityHash versions give other values.
///
/// DistillWatch uses it to assign accounts to shards, so that a shard's filter can run
/// inside ClickHouse (`cityHash64(account_id) % N = k`) and give the same accounts as the
/// same assignment computed here on a file.
///
/// Source: G. Pike and J. Alakuijala, CityHash 1.0.2 (2011), `city.cc`, `CityHash64`; the
/// test vectors in `CityHash64Tests` were produced by ClickHouse 18.16's `cityHash64`.
/// - Complexity: O(n) in the bytes; no allocation.
public enum CityHash64 {
    static let k0: UInt64 = 0xc3a5_c85c_97cb_3127
    static let k1: UInt64 = 0xb492_b66f_be98_f273
    static let k2: UInt64 = 0x9ae1_6a3b_2f90_404f
    static let k3: UInt64 = 0xc949_d7c7_509e_6557
    static let kMul: UInt64 = 0x9ddf_ea08_eb38_2d69

    /// The hash of a string's UTF-8 bytes (what ClickHouse hashes for a `String` column).
    public static func hash(_ string: String) -> UInt64 {
        var s = string
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// The hash of a byte string.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let len = bytes.count
        if len <= 32 {
            return len <= 16 ? hashLen0to16(bytes, len) : hashLen17to32(bytes, len)
        }
        if len <= 64 { return hashLen33to64(bytes, len) }
        let l = UInt64(len)
        var x = fetch64(bytes, 0)
        var y = fetch64(bytes, len - 16) ^ k1
        var z = fetch64(bytes, len - 56) ^ k0
        var v = weakHashLen32WithSeeds(bytes, len - 64, l, y)
        var w = weakHashLen32WithSeeds(bytes, len - 32, l &* k1, k0)
        z = z &+ shiftMix(v.1) &* k1
        x = rotate(z &+ x, 39) &* k1
        y = rotate(y, 33) &* k1
        // Whole 64-byte chunks from the start, as many as (len - 1) rounded down to 64 holds.
        var remaining = (len - 1) & ~63
        var offset = 0
        repeat {
            x = rotate(x &+ y &+ v.0 &+ fetch64(bytes, offset + 16), 37) &* k1
            y = rotate(y &+ v.1 &+ fetch64(bytes, offset + 48), 42) &* k1
            x ^= w.1
            y ^= v.0
            z = rotate(z ^ w.0, 33)
            v = weakHashLen32WithSeeds(bytes, offset, v.1 &* k1, x &+ w.0)
            w = weakHashLen32WithSeeds(bytes, offset + 32, z &+ w.1, y)
            swap(&z, &x)
            offset += 64
            remaining -= 64
        } while remaining != 0
        return hashLen16(hashLen16(v.0, w.0) &+ shiftMix(y) &* k1 &+ z, hashLen16(v.1, w.1) &+ x)
    }

    @inline(__always) static func fetch64(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    @inline(__always) static func fetch32(_ p: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
    }

    @inline(__always) static func rotate(_ value: UInt64, _ shift: UInt64) -> UInt64 {
        shift == 0 ? value : (value >> shift) | (value << (64 - shift))
    }

    @inline(__always) static func shiftMix(_ value: UInt64) -> UInt64 { value ^ (value >> 47) }

    /// Hash128to64 of (u, v): the Murmur-inspired 128-to-64-bit mix.
    @inline(__always) static func hashLen16(_ u: UInt64, _ v: UInt64) -> UInt64 {
        var a = (u ^ v) &* kMul
        a ^= a >> 47
        var b = (v ^ a) &* kMul
        b ^= b >> 47
        return b &* kMul
    }

    static func hashLen0to16(_ s: UnsafeRawBufferPointer, _ len: Int) -> UInt64 {
        let l = UInt64(len)
        if len > 8 {
            let a = fetch64(s, 0)
            let b = fetch64(s, len - 8)
            return hashLen16(a, rotate(b &+ l, l)) ^ b
        }
        if len >= 4 {
            let a = fetch32(s, 0)
            return hashLen16(l &+ (a << 3), fetch32(s, len - 4))
        }
        if len > 0 {
            let a = UInt32(s[0]), b = UInt32(s[len >> 1]), c = UInt32(s[len - 1])
            let y = a &+ (b << 8)
            let z = UInt32(truncatingIfNeeded: len) &+ (c << 2)
            return shiftMix(UInt64(y) &* k2 ^ UInt64(z) &* k3) &* k2
        }
        return k2
    }

    static func hashLen17to32(_ s: UnsafeRawBufferPointer, _ len: Int) -> UInt64 {
        let a = fetch64(s, 0) &* k1
        let b = fetch64(s, 8)
        let c = fetch64(s, len - 8) &* k2
        let d = fetch64(s, len - 16) &* k0
        return hashLen16(rotate(a &- b, 43) &+ rotate(c, 30) &+ d, a &+ rotate(b ^ k3, 20) &- c &+ UInt64(len))
    }

    static func weakHashLen32WithSeeds(_ w: UInt64, _ x: UInt64, _ y: UInt64, _ z: UInt64,
                                       _ seedA: UInt64, _ seedB: UInt64) -> (UInt64, UInt64) {
        var a = seedA &+ w
        var b = rotate(seedB &+ a &+ z, 21)
        let c = a
        a = a &+ x
        a = a &+ y
        b = b &+ rotate(a, 44)
        return (a &+ z, b &+ c)
    }

    static func weakHashLen32WithSeeds(_ s: UnsafeRawBufferPointer, _ offset: Int, _ a: UInt64, _ b: UInt64) -> (UInt64, UInt64) {
        weakHashLen32WithSeeds(fetch64(s, offset), fetch64(s, offset + 8), fetch64(s, offset + 16), fetch64(s, offset + 24), a, b)
    }

    static func hashLen33to64(_ s: UnsafeRawBufferPointer, _ len: Int) -> UInt64 {
        var z = fetch64(s, 24)
        var a = fetch64(s, 0) &+ (UInt64(len) &+ fetch64(s, len - 16)) &* k0
        var b = rotate(a &+ z, 52)
        var c = rotate(a, 37)
        a = a &+ fetch64(s, 8)
        c = c &+ rotate(a, 7)
        a = a &+ fetch64(s, 16)
        let vf = a &+ z
        let vs = b &+ rotate(a, 31) &+ c
        a = fetch64(s, 16) &+ fetch64(s, len - 32)
        z = fetch64(s, len - 8)
        b = rotate(a &+ z, 52)
        c = rotate(a, 37)
        a = a &+ fetch64(s, len - 24)
        c = c &+ rotate(a, 7)
        a = a &+ fetch64(s, len - 16)
        let wf = a &+ z
        let ws = b &+ rotate(a, 31) &+ c
        let r = shiftMix((vf &+ ws) &* k2 &+ (wf &+ vs) &* k0)
        return shiftMix(r &* k0 &+ vs) &* k2
    }
}
