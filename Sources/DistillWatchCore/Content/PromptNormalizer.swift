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
/// - Complexity: O(n) in the bytes; a temporary buffer for the token hashes, and an
///   allocation for case-mapping each non-ASCII letter whose lower case differs.
public enum PromptNormalizer {
    @usableFromInline static let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
    @usableFromInline static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// Calls `token` with the hash of each normalised token, in order.
    @inlinable
    public static func forEachToken(_ text: UnsafeBufferPointer<UInt8>, _ token: (UInt64) -> Void) {
        var ignored = 0
        forEachToken(text, codePunctuation: &ignored, token)
    }

    /// Like ``forEachToken(_:_:)``, and counts characters typical of code (braces,
    /// parentheses, `;`, `=`, `<`, `>`, backticks) in the same pass.
    public static func forEachToken(
        _ text: UnsafeBufferPointer<UInt8>, codePunctuation: inout Int, _ token: (UInt64) -> Void
    ) {
        codePunctuation += withTokens(of: text) { tokens, punctuation in
            for t in tokens { token(t) }
            return punctuation
        }
    }

    /// Calls `body` with the text's token hashes, in a temporary buffer that lives only for
    /// the call, and the number of code punctuation characters (see
    /// ``forEachToken(_:codePunctuation:_:)``).
    @inlinable
    public static func withTokens<R>(
        of text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt64>, Int) throws -> R
    ) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: maximumTokenCount(byteCount: text.count)) { out in
            var punctuation = 0
            let count = tokenize(text, into: out.baseAddress!, codePunctuation: &punctuation)
            return try body(UnsafeBufferPointer(rebasing: out[0..<count]), punctuation)
        }
    }

    /// The most tokens `tokenize` can write for a text of `byteCount` bytes: a token takes
    /// at least one byte and is followed by a separator (or is a character of three bytes).
    @inlinable
    public static func maximumTokenCount(byteCount: Int) -> Int { byteCount / 2 + 2 }

    /// Bit k is set when ASCII 0x20 + k is code punctuation: `( ) ; < = >`.
    @usableFromInline static let codePunctuationLow: UInt64 = (1 << 8) | (1 << 9) | (1 << 27) | (1 << 28) | (1 << 29) | (1 << 30)
    /// Bit k is set when ASCII 0x60 + k is code punctuation: `` ` { } ``.
    @usableFromInline static let codePunctuationHigh: UInt64 = (1 << 0) | (1 << 27) | (1 << 29)

    /// Writes the hash of each normalised token to `out`, in order, and returns how many it
    /// wrote; counts characters typical of code (braces, parentheses, `;`, `=`, `<`, `>`,
    /// backticks) in the same pass.
    ///
    /// `out` must have room for ``maximumTokenCount(byteCount:)`` values. Runs of ASCII go
    /// through a tight loop with no call and no allocation: the FNV-1a step, a class test,
    /// and at a separator an unconditional store whose count advances only when a token
    /// ended. Other scalars go to ``tokenizeScalar(_:at:state:into:)``, out of line, so
    /// that the loop keeps its state in registers.
    /// - Complexity: O(n) in the bytes.
    @inlinable
    public static func tokenize(
        _ text: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt64>, codePunctuation: inout Int
    ) -> Int {
        guard let bytes = text.baseAddress else { return 0 }
        var state = TokenizerState()
        var punctuation = 0
        var i = 0
        let n = text.count
        while true {
            // A local copy, so that the loop keeps the state in registers; the out-of-line
            // call below takes it back.
            var local = state
            while i < n {
                let c = bytes[i]
                if c >= 0x80 { break }
                let lower = c | 0x20
                if lower &- 0x61 < 26 {
                    local.add(lower)
                } else if c &- 0x30 < 10 {
                    local.add(0x30)
                } else {
                    local.flush(into: out)
                    let k = UInt64(c) &- 0x20
                    // Control characters wrap around to a large k, outside both masks.
                    punctuation &+= Int(truncatingIfNeeded:
                        (k < 64 ? codePunctuationLow &>> k : k < 128 ? codePunctuationHigh &>> (k &- 64) : 0) & 1)
                }
                i &+= 1
            }
            state = local
            guard i < n else { break }
            i += tokenizeScalar(text, at: i, state: &state, into: out)
        }
        state.flush(into: out)
        codePunctuation &+= punctuation
        return state.count
    }

    /// Where ``tokenize(_:into:codePunctuation:)`` is between tokens or inside one.
    @usableFromInline
    struct TokenizerState {
        @usableFromInline var count = 0
        @usableFromInline var hash = fnvOffset
        @usableFromInline var inToken = false

        @inlinable init() {}

        @inlinable @inline(__always)
        mutating func add(_ byte: UInt8) {
            hash = (hash ^ UInt64(byte)) &* fnvPrime
            inToken = true
        }

        @inlinable @inline(__always)
        mutating func flush(into out: UnsafeMutablePointer<UInt64>) {
            out[count] = hash
            count &+= inToken ? 1 : 0
            hash = fnvOffset
            inToken = false
        }
    }

    /// Tokenizes the multi-byte scalar at `i` (or an invalid byte, a separator); returns
    /// how many bytes it took.
    @usableFromInline @inline(never)
    static func tokenizeScalar(
        _ text: UnsafeBufferPointer<UInt8>, at i: Int, state: inout TokenizerState, into out: UnsafeMutablePointer<UInt64>
    ) -> Int {
        let (scalar, length) = decodeScalar(text, at: i)
        guard let scalar else {
            state.flush(into: out)
            return length
        }
        let p = scalar.properties
        if p.isAlphabetic || p.numericType != nil {
            if p.numericType != nil && !p.isAlphabetic {
                state.add(0x30)
            } else if isUnspacedScript(scalar) {
                state.flush(into: out)
                appendUTF8(scalar) { state.add($0) }
                state.flush(into: out)
            } else if p.changesWhenLowercased {
                for s in p.lowercaseMapping.unicodeScalars { appendUTF8(s) { state.add($0) } }
            } else {
                appendUTF8(scalar) { state.add($0) }
            }
        } else {
            state.flush(into: out)
        }
        return length
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
