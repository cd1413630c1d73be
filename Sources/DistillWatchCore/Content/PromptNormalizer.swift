/// Turns prompt text (UTF-8 bytes) into a stream of normalised word tokens, each reduced to
/// a 64-bit hash, without building any `String`.
///
/// Normalisation: letters are lower-cased (ASCII directly, other scripts through Unicode
/// case mapping), every digit becomes `0` (so "problem 17" and "problem 42" are the same
/// words), any run of characters that are neither letters nor digits separates tokens,
/// and characters of scripts written without spaces (Han, Hiragana, Katakana) are tokens
/// of their own. Each token is hashed with FNV-1a over its normalised UTF-8; the hash is
/// not secret (shingles pass through the keyed PRF afterwards).
///
/// - Complexity: O(n) in the bytes; allocation only for case-mapping non-ASCII letters
///   whose lower case differs.
public enum PromptNormalizer {
    @usableFromInline static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    @usableFromInline static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// Calls `token` with the hash of each normalised token, in order.
    @inlinable
    public static func forEachToken(_ text: UnsafeBufferPointer<UInt8>, _ token: (UInt64) -> Void) {
        var ignored = 0
        forEachToken(text, codePunctuation: &ignored, token)
    }

    /// Bit k is set when ASCII 0x20 + k is code punctuation: `( ) ; < = >`.
    @usableFromInline static let codePunctuationLow: UInt64 = (1 << 8) | (1 << 9) | (1 << 27) | (1 << 28) | (1 << 29) | (1 << 30)
    /// Bit k is set when ASCII 0x60 + k is code punctuation: `` ` { } ``.
    @usableFromInline static let codePunctuationHigh: UInt64 = (1 << 0) | (1 << 27) | (1 << 29)

    /// Like ``forEachToken(_:_:)``, and counts characters typical of code (braces,
    /// parentheses, `;`, `=`, `<`, `>`, backticks) in the same pass.
    @inlinable
    public static func forEachToken(
        _ text: UnsafeBufferPointer<UInt8>, codePunctuation: inout Int, _ token: (UInt64) -> Void
    ) {
        var hash = fnvOffset
        var inToken = false
        var i = 0
        let n = text.count
        @inline(__always) func add(_ byte: UInt8) {
            hash = (hash ^ UInt64(byte)) &* fnvPrime
            inToken = true
        }
        @inline(__always) func flush() {
            if inToken { token(hash) }
            hash = fnvOffset
            inToken = false
        }
        while i < n {
            let c = text[i]
            if c < 0x80 {
                switch c {
                case 0x61...0x7A: add(c)
                case 0x41...0x5A: add(c | 0x20)
                case 0x30...0x39: add(0x30)
                default:
                    flush()
                    if c >= 0x20 {
                        let k = UInt64(c &- 0x20)
                        codePunctuation &+= Int(truncatingIfNeeded: (k < 64 ? codePunctuationLow &>> k : codePunctuationHigh &>> (k &- 64)) & 1)
                    }
                }
                i += 1
                continue
            }
            // Multi-byte UTF-8: decode one scalar.
            let (scalar, length) = decodeScalar(text, at: i)
            i += length
            guard let scalar else { flush(); continue }
            let p = scalar.properties
            if p.isAlphabetic || p.numericType != nil {
                if p.numericType != nil && !p.isAlphabetic {
                    add(0x30)
                    continue
                }
                if isUnspacedScript(scalar) {
                    flush()
                    appendUTF8(scalar, add)
                    flush()
                    continue
                }
                if p.changesWhenLowercased {
                    for s in p.lowercaseMapping.unicodeScalars { appendUTF8(s, add) }
                } else {
                    appendUTF8(scalar, add)
                }
            } else {
                flush()
            }
        }
        flush()
    }

    @inlinable
    static func appendUTF8(_ s: Unicode.Scalar, _ add: (UInt8) -> Void) {
        let v = s.value
        switch v {
        case 0..<0x80: add(UInt8(v))
        case 0x80..<0x800:
            add(UInt8(0xC0 | (v >> 6))); add(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            add(UInt8(0xE0 | (v >> 12))); add(UInt8(0x80 | ((v >> 6) & 0x3F))); add(UInt8(0x80 | (v & 0x3F)))
        default:
            add(UInt8(0xF0 | (v >> 18))); add(UInt8(0x80 | ((v >> 12) & 0x3F)))
            add(UInt8(0x80 | ((v >> 6) & 0x3F))); add(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Han, Hiragana and Katakana are written without spaces between words: each
    /// character is a token, and shingles of characters stand in for word shingles.
    @inlinable
    static func isUnspacedScript(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x2FFFF: return true
        default: return false
        }
    }

    /// Decodes the scalar at `i`; `nil` (and a length of 1) for invalid UTF-8.
    @inlinable
    static func decodeScalar(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar?, Int) {
        let c = b[i]
        let n = b.count
        func cont(_ k: Int) -> UInt32? {
            guard i + k < n, b[i + k] & 0xC0 == 0x80 else { return nil }
            return UInt32(b[i + k] & 0x3F)
        }
        switch c {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return (nil, 1) }
            return (Unicode.Scalar((UInt32(c & 0x1F) << 6) | c1), 2)
        case 0xE0...0xEF:
            guard let c1 = cont(1), let c2 = cont(2) else { return (nil, 1) }
            return (Unicode.Scalar((UInt32(c & 0x0F) << 12) | (c1 << 6) | c2), 3)
        case 0xF0...0xF4:
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return (nil, 1) }
            return (Unicode.Scalar((UInt32(c & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3), 4)
        default:
            return (nil, 1)
        }
    }
}
