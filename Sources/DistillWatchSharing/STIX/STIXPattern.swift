import DistillWatchCore

/// The part of STIX Patterning (STIX 2.1 §9) that DistillWatch writes and matches:
/// observation expressions joined by `OR`, each a disjunction of comparisons (`=`, `IN`,
/// `ISSUBSET`) on the object paths below, with `AND` only to qualify a keyed fingerprint
/// by its sharing key and kind.
///
/// | object path | matches |
/// |---|---|
/// | `ipv4-addr:value`, `ipv6-addr:value` (`=`, `IN`, `ISSUBSET` a CIDR block) | `client_ip` |
/// | `autonomous-system:number` | `asn` |
/// | `network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'[*]` | `user_agent` |
/// | `distillwatch-client-fingerprint:value` | `client_fingerprint` |
/// | `distillwatch-keyed-fingerprint:value` with `:key_id` and `:kind` | keyed fingerprints |
///
/// Anything else (other objects, `NOT`, `LIKE`, `MATCHES`, `FOLLOWEDBY`, `WITHIN`,
/// `REPEATS`, `AND` between observations) is valid STIX that DistillWatch cannot match:
/// ``parse(_:)`` reports it as a problem, and the indicator is kept only for the
/// comparisons it can match.
public enum STIXPattern {
    /// `request_header` values are lists of strings (§6.12.2), hence `[*]`; the form
    /// without it is read too.
    public static let userAgentPath = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'[*]"
    static let userAgentPathWithoutIndex = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
    public static let clientFingerprintType = "distillwatch-client-fingerprint"
    public static let keyedFingerprintType = "distillwatch-keyed-fingerprint"
    /// Patterns longer than this are refused (bytes).
    public static let maximumLength = 1 << 20

    /// The `kind` values of a keyed fingerprint.
    public enum KeyedKind: String, CaseIterable, Sendable {
        case templateBand = "template-band"
        case systemPrompt = "system-prompt"
        case emailDomain = "email-domain"
    }

    /// A STIX string literal: quoted, with `'` and `\` escaped (§9.2).
    public static func literal(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// `[path = v]`, or `[path IN (v, ...)]` for several values.
    public static func equals(_ path: String, _ values: [String]) -> String {
        values.count == 1 ? "[\(path) = \(values[0])]" : "[\(path) IN (\(values.joined(separator: ", ")))]"
    }

    /// `[ipv4-addr:value ISSUBSET 'p' OR ...]` for prefixes, `[ipv4-addr:value IN (...)]`
    /// for addresses; one observation per address family.
    public static func addresses(_ prefixes: [IPPrefix]) -> String {
        var observations: [String] = []
        for v4 in [true, false] {
            let family = prefixes.filter { $0.isIPv4 == v4 }
            guard !family.isEmpty else { continue }
            let path = v4 ? "ipv4-addr:value" : "ipv6-addr:value"
            let hosts = family.filter { $0.length == (v4 ? 32 : 128) }.map { literal($0.network.description) }
            let blocks = family.filter { $0.length != (v4 ? 32 : 128) }.map { "\(path) ISSUBSET \(literal($0.description))" }
            if !hosts.isEmpty { observations.append(equals(path, hosts)) }
            if !blocks.isEmpty { observations.append("[" + blocks.joined(separator: " OR ") + "]") }
        }
        return observations.joined(separator: " OR ")
    }

    /// `[distillwatch-keyed-fingerprint:value IN (...) AND ...:key_id = 'k' AND ...:kind = 'kind']`.
    public static func keyed(_ kind: KeyedKind, keyID: String, values: [UInt64]) -> String {
        let t = keyedFingerprintType
        let list = values.map { literal(fingerprintHex($0)) }
        let value = list.count == 1 ? "\(t):value = \(list[0])" : "\(t):value IN (\(list.joined(separator: ", ")))"
        return "[\(value) AND \(t):key_id = \(literal(keyID)) AND \(t):kind = \(literal(kind.rawValue))]"
    }

    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        /// Valid STIX patterning DistillWatch does not evaluate (observation operators other
        /// than OR, qualifiers), as opposed to a malformed pattern.
        public var unsupported = false
        public var description: String { message }
        init(_ message: String, unsupported: Bool = false) {
            self.message = message
            self.unsupported = unsupported
        }
    }

    /// What a pattern gives the engine: the comparisons it can match, and what it could not.
    public struct Parsed: Sendable {
        public var comparisons: [SharedIndicator.Comparison] = []
        public var unsupported: [String] = []
    }

    /// Parses `pattern`. Throws ``Problem`` when it is not well-formed STIX patterning (of
    /// the subset's shape) or longer than ``maximumLength``; valid comparisons DistillWatch
    /// cannot match are listed in ``Parsed/unsupported``.
    /// - Complexity: O(length).
    public static func parse(_ pattern: String) throws(Problem) -> Parsed {
        guard pattern.utf8.count <= maximumLength else { throw Problem("pattern longer than \(maximumLength) bytes") }
        var lexer = Lexer(Array(pattern.utf8))
        var parsed = Parsed()
        var first = true
        while true {
            let token = try lexer.next()
            if token == .end {
                if first { throw Problem("empty pattern") }
                break
            }
            if !first {
                guard token == .word("OR") else {
                    if case .word(let w) = token, ["AND", "FOLLOWEDBY"].contains(w) {
                        throw Problem("\(w) between observation expressions is not supported (only OR)", unsupported: true)
                    }
                    if case .word(let w) = token, ["WITHIN", "REPEATS", "START", "STOP"].contains(w) {
                        throw Problem("qualifier \(w) is not supported", unsupported: true)
                    }
                    throw Problem("expected OR between observation expressions, found \(token)")
                }
                guard try lexer.next() == .open("[") else { throw Problem("expected [ after OR") }
            } else {
                guard token == .open("[") else { throw Problem("a pattern starts with [, found \(token)") }
            }
            first = false
            try parseObservation(&lexer, into: &parsed)
        }
        return parsed
    }

    private struct Comparison {
        var path: String
        var op: String
        var values: [Lexer.Token]
        var negated: Bool
    }

    private static func parseObservation(_ lexer: inout Lexer, into parsed: inout Parsed) throws(Problem) {
        var disjuncts: [[Comparison]] = [[]]
        while true {
            var negated = false
            var token = try lexer.next()
            if token == .word("NOT") {
                negated = true
                token = try lexer.next()
            }
            guard case .path(let path) = token else { throw Problem("expected an object path, found \(token)") }
            var opToken = try lexer.next()
            if opToken == .word("NOT") {
                negated.toggle()
                opToken = try lexer.next()
            }
            let op: String
            switch opToken {
            case .word(let w) where ["IN", "ISSUBSET", "ISSUPERSET", "LIKE", "MATCHES"].contains(w): op = w
            case .op(let o): op = o
            default: throw Problem("expected a comparison operator after \(path), found \(opToken)")
            }
            var values: [Lexer.Token] = []
            if op == "IN" {
                guard try lexer.next() == .open("(") else { throw Problem("IN needs a parenthesised list") }
                while true {
                    let v = try lexer.next()
                    guard v.isLiteral else { throw Problem("expected a literal in the IN list, found \(v)") }
                    values.append(v)
                    let sep = try lexer.next()
                    if sep == .close(")") { break }
                    guard sep == .comma else { throw Problem("expected , or ) in the IN list, found \(sep)") }
                }
            } else {
                let v = try lexer.next()
                guard v.isLiteral else { throw Problem("expected a literal after \(path) \(op), found \(v)") }
                values.append(v)
            }
            disjuncts[disjuncts.count - 1].append(Comparison(path: path, op: op, values: values, negated: negated))
            let joiner = try lexer.next()
            if joiner == .close("]") { break }
            if joiner == .word("AND") { continue }
            if joiner == .word("OR") {
                disjuncts.append([])
                continue
            }
            throw Problem("expected AND, OR or ] in an observation expression, found \(joiner)")
        }
        for conjunction in disjuncts {
            try interpret(conjunction, into: &parsed)
        }
    }

    private static func interpret(_ conjunction: [Comparison], into parsed: inout Parsed) throws(Problem) {
        func describe(_ c: Comparison) -> String { "\(c.negated ? "NOT " : "")\(c.path) \(c.op)" }
        if conjunction.contains(where: { $0.path.hasPrefix(keyedFingerprintType + ":") }) {
            guard conjunction.allSatisfy({ $0.path.hasPrefix(keyedFingerprintType + ":") && ($0.op == "=" || $0.op == "IN") && !$0.negated }) else {
                parsed.unsupported.append(conjunction.map(describe).joined(separator: " AND "))
                return
            }
            var values: [UInt64] = []
            var keyID: String?
            var kind: KeyedKind?
            for c in conjunction {
                switch c.path {
                case keyedFingerprintType + ":value":
                    for v in c.values {
                        guard case .string(let s) = v, s.utf8.count == 16, s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }),
                              let n = UInt64(s, radix: 16) else {
                            throw Problem("\(keyedFingerprintType):value must be 16 hexadecimal digits, found \(v)")
                        }
                        values.append(n)
                    }
                case keyedFingerprintType + ":key_id":
                    guard c.op == "=", case .string(let s) = c.values[0], SharingKey.isValidID(s) else {
                        throw Problem("\(keyedFingerprintType):key_id must be compared with = to a sharing key name")
                    }
                    // Two different keys in one observation: no fingerprint has both, so the
                    // comparison can never be true (STIX 2.1 §9.6: AND within an observation).
                    if let earlier = keyID, earlier != s {
                        throw Problem("\(keyedFingerprintType):key_id is compared with both '\(earlier)' and '\(s)' in one observation, which nothing can match")
                    }
                    keyID = s
                case keyedFingerprintType + ":kind":
                    guard c.op == "=", case .string(let s) = c.values[0], let k = KeyedKind(rawValue: s) else {
                        throw Problem("\(keyedFingerprintType):kind must be one of \(KeyedKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    if let earlier = kind, earlier != k {
                        throw Problem("\(keyedFingerprintType):kind is compared with both '\(earlier.rawValue)' and '\(k.rawValue)' in one observation, which nothing can match")
                    }
                    kind = k
                default:
                    parsed.unsupported.append(describe(c))
                    return
                }
            }
            guard let keyID, let kind, !values.isEmpty else {
                throw Problem("a keyed fingerprint comparison needs value, key_id and kind in the same observation")
            }
            for v in values {
                switch kind {
                case .templateBand: parsed.comparisons.append(.templateBand(keyID: keyID, value: v))
                case .systemPrompt: parsed.comparisons.append(.systemPrompt(keyID: keyID, value: v))
                case .emailDomain: parsed.comparisons.append(.emailDomain(keyID: keyID, value: v))
                }
            }
            return
        }
        guard conjunction.count == 1 else {
            parsed.unsupported.append(conjunction.map(describe).joined(separator: " AND "))
            return
        }
        let c = conjunction[0]
        guard !c.negated, ["=", "IN", "ISSUBSET"].contains(c.op) else {
            parsed.unsupported.append(describe(c))
            return
        }
        switch c.path {
        case "ipv4-addr:value", "ipv6-addr:value":
            for v in c.values {
                // An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) is the IPv4
                // host it maps, as client addresses are read: valid as an ipv6-addr value.
                guard case .string(let s) = v, let p = IPPrefix(s),
                      p.isIPv4 == (c.path == "ipv4-addr:value") || (p.isIPv4 && c.path == "ipv6-addr:value" && s.contains(":")) else {
                    throw Problem("\(c.path) needs an \(c.path.hasPrefix("ipv4") ? "IPv4" : "IPv6") address or CIDR block, found \(String(describing: v).prefix(80))")
                }
                // A block wider than a /8 (IPv4) or /16 (IPv6) is the Internet, not infrastructure.
                guard p.length >= (p.isIPv4 ? 8 : 16) else {
                    parsed.unsupported.append("\(c.path) ISSUBSET \(p) (wider than /\(p.isIPv4 ? 8 : 16): not matched)")
                    continue
                }
                parsed.comparisons.append(.address(p))
            }
        case "autonomous-system:number":
            guard c.op != "ISSUBSET" else { parsed.unsupported.append(describe(c)); return }
            for v in c.values {
                guard case .integer(let n) = v, n >= 0, n <= Int(UInt32.max) else {
                    throw Problem("autonomous-system:number needs an integer from 0 to 4294967295, found \(v)")
                }
                parsed.comparisons.append(.autonomousSystem(n))
            }
        case userAgentPath, userAgentPathWithoutIndex, clientFingerprintType + ":value":
            guard c.op != "ISSUBSET" else { parsed.unsupported.append(describe(c)); return }
            for v in c.values {
                guard case .string(let s) = v, !s.isEmpty, s.utf8.count <= 1024 else {
                    throw Problem("\(c.path) needs a string of 1 to 1024 bytes, found \(v)")
                }
                parsed.comparisons.append(c.path == clientFingerprintType + ":value" ? .clientFingerprint(s) : .userAgent(s))
            }
        default:
            parsed.unsupported.append(describe(c))
        }
    }

    /// The tokens of STIX patterning (§9.3's grammar, lexical part).
    struct Lexer {
        enum Token: Equatable, CustomStringConvertible {
            case open(String), close(String), comma, end
            case word(String), op(String), path(String)
            case string(String), integer(Int), otherLiteral(String)

            var isLiteral: Bool {
                switch self {
                case .string, .integer, .otherLiteral, .word("true"), .word("false"): return true
                default: return false
                }
            }

            var description: String {
                switch self {
                case .open(let s), .close(let s): return "'\(s)'"
                case .comma: return "','"
                case .end: return "the end"
                case .word(let w): return w
                case .op(let o): return "'\(o)'"
                case .path(let p): return p
                case .string(let s): return STIXPattern.literal(s)
                case .integer(let n): return String(n)
                case .otherLiteral(let s): return s
                }
            }
        }

        let b: [UInt8]
        var i = 0
        init(_ bytes: [UInt8]) { b = bytes }

        private func isWordByte(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
        }

        mutating func next() throws(Problem) -> Token {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
            guard i < b.count else { return .end }
            let c = b[i]
            switch c {
            case UInt8(ascii: "["), UInt8(ascii: "("):
                i += 1
                return .open(String(UnicodeScalar(c)))
            case UInt8(ascii: "]"), UInt8(ascii: ")"):
                i += 1
                return .close(String(UnicodeScalar(c)))
            case UInt8(ascii: ","):
                i += 1
                return .comma
            case UInt8(ascii: "'"):
                return .string(try quoted())
            case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "<"), UInt8(ascii: ">"):
                var o = String(UnicodeScalar(c))
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "=") { o += "="; i += 1 }
                if c == UInt8(ascii: "!"), o == "!" { throw Problem("'!' must be followed by '='") }
                return .op(o)
            default:
                break
            }
            if c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39) {
                let start = i
                i += 1
                while i < b.count, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || b[i] == UInt8(ascii: "+") { i += 1 }
                let text = String(decoding: b[start..<i], as: UTF8.self)
                if let n = Int(text) { return .integer(n) }
                if Double(text) != nil { return .otherLiteral(text) }
                throw Problem("malformed number \(text)")
            }
            guard isWordByte(c) else { throw Problem("unexpected character \(String(UnicodeScalar(c)).debugDescription) at byte \(i)") }
            let start = i
            while i < b.count, isWordByte(b[i]) { i += 1 }
            let word = String(decoding: b[start..<i], as: UTF8.self)
            // Typed literals: b'..' (binary), h'..' (hex), t'..' (timestamp).
            if ["b", "h", "t"].contains(word), i < b.count, b[i] == UInt8(ascii: "'") {
                return .otherLiteral(word + STIXPattern.literal(try quoted()))
            }
            guard i < b.count, b[i] == UInt8(ascii: ":") else { return .word(word) }
            // An object path: type ':' then property steps, quoted or bare, and [n] / [*].
            i += 1
            var path = word + ":"
            var expectStep = true
            while i < b.count {
                let d = b[i]
                if expectStep, d == UInt8(ascii: "'") {
                    path += STIXPattern.literal(try quoted()).replacingOccurrences(of: "\\'", with: "'")
                    expectStep = false
                } else if expectStep, isWordByte(d) {
                    let s = i
                    while i < b.count, isWordByte(b[i]) { i += 1 }
                    path += String(decoding: b[s..<i], as: UTF8.self)
                    expectStep = false
                } else if !expectStep, d == UInt8(ascii: ".") {
                    path += "."
                    i += 1
                    expectStep = true
                } else if !expectStep, d == UInt8(ascii: "["), i + 2 < b.count, b[i + 1] == UInt8(ascii: "*") || (b[i + 1] >= 0x30 && b[i + 1] <= 0x39) {
                    let s = i
                    while i < b.count, b[i] != UInt8(ascii: "]") { i += 1 }
                    guard i < b.count else { throw Problem("unterminated list index in \(path)") }
                    i += 1
                    path += String(decoding: b[s..<i], as: UTF8.self)
                } else {
                    break
                }
            }
            guard !expectStep else { throw Problem("incomplete object path \(path)") }
            return .path(path)
        }

        private mutating func quoted() throws(Problem) -> String {
            let start = i
            i += 1
            var out: [UInt8] = []
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\\") {
                    guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "'") || b[i + 1] == UInt8(ascii: "\\") else {
                        throw Problem("a string literal may only escape ' and \\ (byte \(i))")
                    }
                    out.append(b[i + 1])
                    i += 2
                    continue
                }
                if c == UInt8(ascii: "'") {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                out.append(c)
                i += 1
            }
            throw Problem("unterminated string literal starting at byte \(start)")
        }
    }
}
