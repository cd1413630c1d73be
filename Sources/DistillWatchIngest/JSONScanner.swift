import DistillWatchCore

/// Why one JSON Lines record was rejected: the field (when one is to blame) and a reason a
/// user can act on. The line number and file are added by the reader.
public struct RecordError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String?
    public var reason: String

    public init(field: String? = nil, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "field \"\(field)\": \(reason)" }
        return reason
    }
}

/// A forward-only scanner over the bytes of one JSON text, the building block of the
/// record decoders. It validates as it goes (strings, numbers, literals, nesting) and
/// materialises only what the caller asks for.
///
/// Strings are scanned eight bytes at a time (SWAR): a word is checked for a quote, a
/// backslash or a control character with three bit tricks, so skipping a 500-byte prompt
/// costs about 60 word loads.
///
/// - Complexity: every method is O(n) in the bytes it consumes; nothing allocates except
///   the `String`s returned by ``readString()``.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// ``ExchangeLineDecoder/integerBooleans``: 0 and 1 read as booleans.
    var integerBooleans = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { position >= bytes.count }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(RecordError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else {
            throw RecordError(what())
        }
        position += 1
    }

    // MARK: Strings

    /// Index of the first quote, backslash or control byte at or after `from`, or `nil`.
    ///
    /// Sixteen bytes at a time with SIMD compares (SSE2 `pcmpeqb`/`pmovmskb` on x86-64,
    /// NEON on ARM); the hit's index comes from the compare result read as two 64-bit
    /// lanes (each byte 0x00 or 0xFF). The last bytes go through eight-byte words, then
    /// one at a time. About 20 instructions for a key or an id, 30 for every further 16
    /// bytes of a prompt (callgrind; the word tricks alone took 20 for every 8).
    @inline(__always)
    private func findStringSpecial(from start: Int) -> Int? {
        let n = bytes.count
        guard let base = bytes.baseAddress else { return nil }
        var i = start
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let backslash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        while i + 16 <= n {
            let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<UInt8>.self)
            let hits = (v .== quote) .| (v .== backslash) .| (v .< space)
            if any(hits) {
                let lanes = unsafeBitCast(hits, to: SIMD2<UInt64>.self)
                let low = lanes[0].littleEndian
                return i + (low != 0 ? low.trailingZeroBitCount / 8 : 8 + lanes[1].littleEndian.trailingZeroBitCount / 8)
            }
            i += 16
        }
        if let hit = Self.firstSpecialInWords(base, from: &i, to: n) { return hit }
        while i < n {
            let c = base[i]
            if c == 0x22 || c == 0x5C || c < 0x20 { return i }
            i += 1
        }
        return nil
    }

    /// The first quote, backslash or control byte in whole eight-byte words from `i`
    /// while a word fits before `end`; `i` is left after the last word read.
    @inline(__always)
    private static func firstSpecialInWords(_ base: UnsafePointer<UInt8>, from i: inout Int, to end: Int) -> Int? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = ones &* 0x22
        let backslashes = ones &* 0x5C
        let controls = ones &* 0x20
        while i + 8 <= end {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self).littleEndian
            let q = word ^ quotes
            let b = word ^ backslashes
            let mask = ((q &- ones) & ~q & highs) | ((b &- ones) & ~b & highs) | ((word &- controls) & ~word & highs)
            if mask != 0 { return i + mask.trailingZeroBitCount / 8 }
            i += 8
        }
        return nil
    }

    /// Reads a string literal (the scanner is at its opening quote) and returns its bytes
    /// range when it holds no escapes, or its decoded value otherwise.
    private mutating func scanString() throws(RecordError) -> (Range<Int>, String?) {
        guard position < bytes.count, bytes[position] == 0x22 else { throw RecordError("expected a string") }
        position += 1
        let start = position
        guard let special = findStringSpecial(from: position) else { throw RecordError("unterminated string") }
        if bytes[special] == 0x22 {
            position = special + 1
            return (start..<special, nil)
        }
        if bytes[special] < 0x20 { throw RecordError("control character inside a string") }
        // Slow path: the string has escapes.
        var decoded: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<special]))
        position = special
        while true {
            guard let next = findStringSpecial(from: position) else { throw RecordError("unterminated string") }
            decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<next]))
            position = next
            let c = bytes[position]
            if c == 0x22 {
                position += 1
                return (start..<(position - 1), String(decoding: decoded, as: UTF8.self))
            }
            if c < 0x20 { throw RecordError("control character inside a string") }
            // Backslash escape.
            position += 1
            guard position < bytes.count else { throw RecordError("unterminated string") }
            let e = bytes[position]
            position += 1
            switch e {
            case 0x22: decoded.append(0x22)
            case 0x5C: decoded.append(0x5C)
            case 0x2F: decoded.append(0x2F)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by \u and a low surrogate.
                    if position + 1 < bytes.count, bytes[position] == 0x5C, bytes[position + 1] == UInt8(ascii: "u") {
                        position += 2
                        let low = try readHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw RecordError(Self.unpairedSurrogate) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        throw RecordError(Self.unpairedSurrogate)
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw RecordError(Self.unpairedSurrogate)
                }
                appendUTF8(scalar, to: &decoded)
            default:
                throw RecordError("invalid escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
    }

    /// A `\\u` escape of half a surrogate pair is not a character: decoding it as U+FFFD
    /// would make distinct identifiers equal, so the record is refused instead.
    static let unpairedSurrogate = "invalid \\u escape: unpaired UTF-16 surrogate"

    private mutating func readHex4() throws(RecordError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw RecordError("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw RecordError("invalid \\u escape")
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: UTF8.encode(s)!)
    }

    /// Reads a string literal and returns its value.
    mutating func readString() throws(RecordError) -> String {
        let (range, decoded) = try scanString()
        if let decoded { return decoded }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Reads a string literal and calls `body` with its raw bytes when it has no escapes
    /// (the common case, no allocation), or with its decoded UTF-8 otherwise.
    mutating func withStringBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) throws(RecordError) -> R {
        let (range, decoded) = try scanString()
        if var decoded {
            return decoded.withUTF8 { body($0) }
        }
        return body(UnsafeBufferPointer(rebasing: bytes[range]))
    }

    /// Skips a string literal without materialising it.
    mutating func skipString() throws(RecordError) {
        _ = try scanString()
    }

    // MARK: Numbers and literals

    enum Number {
        case integer(Int64)
        case fraction(Double)
    }

    /// Reads a JSON number. Integers that fit in 64 bits stay exact; anything with a
    /// fraction or exponent is a `Double`.
    mutating func readNumber() throws(RecordError) -> Number {
        let start = position
        var negative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var overflow = false
        let intStart = position
        while position < bytes.count, bytes[position] &- 48 < 10 {
            let d = UInt64(bytes[position] &- 48)
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(d)
            if o1 || o2 { overflow = true } else { mantissa = m2 }
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw RecordError("expected a number") }
        if digits > 1, bytes[intStart] == 48 { throw RecordError("leading zero in a number") }
        var isFraction = false
        var fractionDigits = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isFraction = true
            position += 1
            let fracStart = position
            while position < bytes.count, bytes[position] &- 48 < 10 {
                let d = UInt64(bytes[position] &- 48)
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(d)
                if o1 || o2 { overflow = true } else { mantissa = m2; fractionDigits += 1 }
                position += 1
            }
            guard position > fracStart else { throw RecordError("expected digits after the decimal point") }
        }
        var exponent = 0
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            isFraction = true
            position += 1
            var expNegative = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                expNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            let expStart = position
            while position < bytes.count, bytes[position] &- 48 < 10 {
                if exponent < 10_000 { exponent = exponent * 10 + Int(bytes[position] &- 48) }
                position += 1
            }
            guard position > expStart else { throw RecordError("expected digits in the exponent") }
            if expNegative { exponent = -exponent }
        }
        if !isFraction && !overflow {
            if negative {
                guard mantissa <= UInt64(Int64.max) + 1 else { return .fraction(-Double(mantissa)) }
                return .integer(mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mantissa))
            }
            // Past Int64 a whole number is still a JSON number: a double, which integer
            // fields then refuse as out of range.
            guard mantissa <= UInt64(Int64.max) else { return .fraction(Double(mantissa)) }
            return .integer(Int64(mantissa))
        }
        let e = exponent - fractionDigits
        // Clinger's fast path (W. D. Clinger, "How to read floating point numbers
        // accurately", PLDI 1990): a mantissa below 2^53 and a power of ten up to 10^22 are
        // both exact doubles, so one multiplication or division is correctly rounded.
        // Anything else (17-digit mantissas are common: every shortest round-trip double
        // has up to 17 digits) goes to the standard library's correctly rounded parser, or
        // a written double would not read back as itself.
        guard !overflow, mantissa <= 1 << 53, (-22...22).contains(e) else {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let v = Double(text) else { throw RecordError("invalid number") }
            guard v.isFinite else { throw RecordError(Self.notFinite) }
            return .fraction(v)
        }
        var value = Double(mantissa)
        if e < 0 {
            value /= pow10(-e)
        } else if e > 0 {
            value *= pow10(e)
        }
        guard value.isFinite else { throw RecordError(Self.notFinite) }
        return .fraction(negative ? -value : value)
    }

    static let notFinite = "number out of range (beyond the largest finite double)"

    private func pow10(_ k: Int) -> Double {
        var r = 1.0
        var base = 10.0
        var k = k
        while k > 0 {
            if k & 1 == 1 { r *= base }
            base *= base
            k >>= 1
        }
        return r
    }

    /// Reads `true` or `false`.
    mutating func readBool() throws(RecordError) -> Bool {
        if matchLiteral("true") { return true }
        if matchLiteral("false") { return false }
        throw RecordError("expected true or false")
    }

    /// Consumes `null` when it is next. Inline, the common answer (not an `n`) costs two
    /// compares instead of a call comparing the literal (384 instructions a line by
    /// callgrind: every optional field asks).
    @inline(__always)
    mutating func consumeNull() -> Bool {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "n") else { return false }
        return matchLiteral("null")
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard position + n <= bytes.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where bytes[position + k] != p[k] { return false }
        position += n
        return true
    }

    /// Skips any JSON value, validating it. Nesting deeper than 64 levels is rejected.
    mutating func skipValue(depth: Int = 0) throws(RecordError) {
        guard depth < 64 else { throw RecordError("nesting deeper than 64 levels") }
        skipWhitespace()
        guard let c = peek() else { throw RecordError("expected a value") }
        switch c {
        case 0x22: try skipString()
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { position += 1; return }
            while true {
                skipWhitespace()
                try skipString()
                try expect(UInt8(ascii: ":"), "expected ':' after an object key")
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard let d = peek() else { throw RecordError("unterminated object") }
                position += 1
                if d == UInt8(ascii: "}") { return }
                guard d == UInt8(ascii: ",") else { throw RecordError("expected ',' or '}' in an object") }
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { position += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard let d = peek() else { throw RecordError("unterminated array") }
                position += 1
                if d == UInt8(ascii: "]") { return }
                guard d == UInt8(ascii: ",") else { throw RecordError("expected ',' or ']' in an array") }
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool()
        case UInt8(ascii: "n"):
            guard consumeNull() else { throw RecordError("invalid literal") }
        default: _ = try readNumber()
        }
    }

    /// Skips any JSON value, validating it as ``skipValue(depth:)`` does, and returns the
    /// path of the first member name an object in it gives twice (`"a.b"`, `"list[2].c"`,
    /// prefixed with `path`), or `nil` when every object names each member once.
    ///
    /// RFC 8259 §4 leaves a repeated name to each parser ("the names within an object
    /// SHOULD be unique"), and parsers differ: Foundation's `JSONDecoder` keeps the first,
    /// Python's `json` and ECMAScript's `JSON.parse` the last. A request body that a
    /// gateway reads one way and DistillWatch another is refused where it is found (I-JSON,
    /// RFC 7493 §2.3, makes unique names a MUST).
    /// - Throws: ``RecordError`` for malformed JSON or nesting deeper than 64 levels.
    /// - Complexity: O(n) in the bytes; one set of names per object.
    mutating func skipValueFindingRepeatedName(path: String = "", depth: Int = 0) throws(RecordError) -> String? {
        guard depth < 64 else { throw RecordError("nesting deeper than 64 levels") }
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { position += 1; return nil }
            var names = Set<String>()
            while true {
                skipWhitespace()
                guard peek() == 0x22 else { throw RecordError("expected a quoted key") }
                let name = try readString()
                let at = path.isEmpty ? name : path + "." + name
                if !names.insert(name).inserted { return at }
                try expect(UInt8(ascii: ":"), "expected ':' after an object key")
                if let repeated = try skipValueFindingRepeatedName(path: at, depth: depth + 1) { return repeated }
                skipWhitespace()
                guard let d = peek() else { throw RecordError("unterminated object") }
                position += 1
                if d == UInt8(ascii: "}") { return nil }
                guard d == UInt8(ascii: ",") else { throw RecordError("expected ',' or '}' in an object") }
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { position += 1; return nil }
            var index = 0
            while true {
                if let repeated = try skipValueFindingRepeatedName(path: "\(path)[\(index)]", depth: depth + 1) { return repeated }
                index += 1
                skipWhitespace()
                guard let d = peek() else { throw RecordError("unterminated array") }
                position += 1
                if d == UInt8(ascii: "]") { return nil }
                guard d == UInt8(ascii: ",") else { throw RecordError("expected ',' or ']' in an array") }
            }
        default:
            try skipValue(depth: depth)
            return nil
        }
    }

    /// Iterates over the members of the top-level object, calling `member` with each key's
    /// raw bytes; `member` must consume the value. Rejects trailing characters.
    mutating func forEachMember(
        _ member: (UnsafeBufferPointer<UInt8>, inout JSONScanner) throws(RecordError) -> Void
    ) throws(RecordError) {
        var nothing: Void = ()
        try forEachMember(into: &nothing) { (key, s, _) throws(RecordError) in try member(key, &s) }
    }

    /// As ``forEachMember(_:)``, with `record` passed to `member` in place: a value built
    /// member by member is then a plain local of the caller, not one captured by the
    /// closure, so the caller can return it without copying (a captured `Exchange` cost a
    /// copy and a destroy, a retain and a release per field, on every line).
    mutating func forEachMember<Record>(
        into record: inout Record,
        _ member: (UnsafeBufferPointer<UInt8>, inout JSONScanner, inout Record) throws(RecordError) -> Void
    ) throws(RecordError) {
        // A byte order mark at the start of a line (a file saved by a Windows editor, or
        // files concatenated) is skipped, as RFC 8259 §8.1 allows a parser to.
        if position == 0, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
        if let bad = Self.firstInvalidUTF8(bytes) {
            throw RecordError("invalid UTF-8 at byte \(bad + 1) of the line (records must be UTF-8, RFC 8259 §8.1)")
        }
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            throw RecordError(isAtEnd ? "empty line" : "not a JSON object")
        }
        try readMembers(into: &record, member)
        skipWhitespace()
        guard isAtEnd else { throw RecordError("unexpected characters after the JSON object") }
    }
}

extension JSONScanner {
    /// Iterates over the members of the object at the current position (a nested object:
    /// no UTF-8 or trailing-character checks, which the top-level ``forEachMember(_:)``
    /// made); `member` must consume each value. `null` is an empty object.
    /// - Throws: ``RecordError`` naming `field` when the value is not an object.
    mutating func forEachNestedMember(
        _ field: String, depth: Int = 1,
        _ member: (UnsafeBufferPointer<UInt8>, inout JSONScanner) throws(RecordError) -> Void
    ) throws(RecordError) {
        guard depth < 64 else { throw RecordError("nesting deeper than 64 levels") }
        if consumeNull() { return }
        guard peek() == UInt8(ascii: "{") else { throw RecordError(field: field, "should be an object") }
        var nothing: Void = ()
        try readMembers(into: &nothing) { (key, s, _) throws(RecordError) in try member(key, &s) }
    }

    /// The members of the object whose `{` is at the current position, through its `}`:
    /// the loop both ``forEachMember(_:)`` and ``forEachNestedMember(_:depth:_:)`` run.
    private mutating func readMembers<Record>(
        into record: inout Record,
        _ member: (UnsafeBufferPointer<UInt8>, inout JSONScanner, inout Record) throws(RecordError) -> Void
    ) throws(RecordError) {
        position += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { position += 1; return }
        while true {
            skipWhitespace()
            guard peek() == 0x22 else { throw RecordError("expected a quoted key") }
            let (range, decoded) = try scanString()
            try expect(UInt8(ascii: ":"), "expected ':' after an object key")
            skipWhitespace()
            if let decoded {
                let keyBytes = Array(decoded.utf8)
                try keyBytes.withUnsafeBufferPointer { (key) throws(RecordError) in try member(key, &self, &record) }
            } else {
                try member(UnsafeBufferPointer(rebasing: bytes[range]), &self, &record)
            }
            skipWhitespace()
            guard let d = peek() else { throw RecordError("unterminated object (truncated line?)") }
            position += 1
            if d == UInt8(ascii: "}") { return }
            guard d == UInt8(ascii: ",") else { throw RecordError("expected ',' or '}' between fields") }
        }
    }

    /// Iterates over the elements of the array at the current position, calling `element`
    /// with each index; `element` must consume the value. `null` is an empty array.
    /// - Throws: ``RecordError`` naming `field` when the value is not an array.
    mutating func forEachElement(
        _ field: String, _ element: (Int, inout JSONScanner) throws(RecordError) -> Void
    ) throws(RecordError) {
        if consumeNull() { return }
        guard peek() == UInt8(ascii: "[") else { throw RecordError(field: field, "should be an array") }
        position += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { position += 1; return }
        var index = 0
        while true {
            skipWhitespace()
            try element(index, &self)
            index += 1
            skipWhitespace()
            guard let d = peek() else { throw RecordError("unterminated array") }
            position += 1
            if d == UInt8(ascii: "]") { return }
            guard d == UInt8(ascii: ",") else { throw RecordError("expected ',' or ']' in an array") }
        }
    }
}

extension JSONScanner {
    /// Offset of the first byte that is not part of well-formed UTF-8, or `nil` when all
    /// of `b` is well-formed (Unicode 15, §3.9, table 3-7: no overlong forms, no surrogates,
    /// nothing past U+10FFFF). ASCII is checked 32 bytes at a time, then eight.
    /// - Complexity: O(n), no allocation.
    static func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = b.baseAddress else { return nil }
        let n = b.count
        var i = 0
        while i < n {
            // ASCII 32 bytes at a time: four words or-ed, one test of the high bits. (SIMD
            // `any(v .>= 0x80)` compiled to a horizontal minimum, three times the work.)
            while i + 32 <= n {
                let p = UnsafeRawPointer(base + i)
                let words = p.loadUnaligned(as: UInt64.self) | p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | p.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                if words & 0x8080_8080_8080_8080 != 0 { break }
                i += 32
            }
            guard i < n else { break }
            if i + 8 <= n, UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            let length: Int
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= n, b[i + 1] >= low, b[i + 1] <= high else { return i }
            for k in 2..<length where b[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }
}

/// Compares raw key bytes with a static field name.
@inline(__always)
func keyEquals(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
    let n = name.utf8CodeUnitCount
    guard key.count == n else { return false }
    let p = name.utf8Start
    for i in 0..<n where key[i] != p[i] { return false }
    return true
}
