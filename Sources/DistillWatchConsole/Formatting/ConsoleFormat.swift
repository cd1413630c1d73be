import DistillWatchCore

/// How the console and the HTML report write numbers and times: thousands separators,
/// times in UTC with the zone stated (ISO 8601 date and 24-hour time), fixed digits.
///
/// Pure and locale-independent, so a report renders byte-identically anywhere.
public enum ConsoleFormat {
    /// `1234567` → `1,234,567`.
    public static func number(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        out.reserveCapacity(digits.count + digits.count / 3 + 1)
        for (k, c) in digits.enumerated() {
            if k > 0, (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    public static func number(_ n: Int64) -> String { number(Int(clamping: n)) }

    /// `0.4567` → `0.46` (`digits` decimals, rounded half away from zero).
    public static func decimal(_ x: Double, digits: Int = 2) -> String {
        let digits = max(0, min(digits, 6))
        guard x.isFinite else { return x.isNaN ? "n/a" : (x > 0 ? "∞" : "-∞") }
        // Beyond 2^53 a Double holds no fraction, and past Int64 it does not convert.
        guard abs(x) < 9.0e15 else { return x > 0 ? "≥ 9,000,000,000,000,000" : "≤ -9,000,000,000,000,000" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(x) * scale).rounded() / scale
        let whole = Int64(r)
        var frac = String(Int64(((r - Double(whole)) * scale).rounded()))
        while frac.count < digits { frac = "0" + frac }
        let sign = x < 0 && r > 0 ? "-" : ""
        return digits == 0 ? sign + number(whole) : sign + number(whole) + "." + frac
    }

    /// `0.314` → `31.4%`.
    public static func percent(_ share: Double, digits: Int = 1) -> String { decimal(share * 100, digits: digits) + "%" }

    /// US dollars with cents and separators: `$12,345.67`.
    public static func dollars(_ x: Double) -> String { "$" + decimal(x, digits: 2) }

    /// `2026-01-04 13:05 UTC`.
    public static func time(_ t: Timestamp?) -> String {
        guard let t else { return "–" }
        let s = t.rfc3339  // 2026-01-04T13:05:09.123Z
        let chars = Array(s)
        guard chars.count >= 16 else { return s }
        return String(chars[0..<10]) + " " + String(chars[11..<16]) + " UTC"
    }

    /// `2026-01-04` (UTC) for a day index (days since the Unix epoch).
    public static func day(_ dayIndex: Int64) -> String {
        let s = Timestamp(millisecondsSinceEpoch: dayIndex * 86_400_000).rfc3339
        return String(s.prefix(10))
    }

    /// `2026-01-04 13:00 UTC` for an hour index (hours since the Unix epoch).
    public static func hour(_ hourIndex: Int64) -> String {
        time(Timestamp(millisecondsSinceEpoch: hourIndex * 3_600_000))
    }

    /// The label a person reads for a verdict; the badge also carries it as text, so colour
    /// is never the only cue.
    public static func verdict(_ v: Verdict?) -> String { v?.rawValue ?? "none" }

    public static func label(_ l: AnalystLabel?) -> String {
        switch l {
        case .confirmedAttack: return "confirmed attack"
        case .legitimate: return "legitimate"
        case nil: return "unlabelled"
        }
    }

    /// Percent-encodes a path segment (RFC 3986 unreserved characters kept), for links to
    /// attacker-chosen account ids.
    public static func pathSegment(_ s: String) -> String {
        // "." and ".." are dot segments a browser resolves away (RFC 3986 §5.2.4).
        if s == "." || s == ".." { return String(repeating: "%2E", count: s.count) }
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(b)))
            default:
                let hex = Array("0123456789ABCDEF")
                out.append("%"); out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
            }
        }
        return out
    }

    /// Escapes text for HTML and XML (SVG) content and attribute values: `& < > " '`.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab and newline are not allowed in XML 1.0;
                // bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) would
                // reorder what follows them (Trojan Source, CVE-2021-42574): shown by name.
                if c.value < 0x20 && c != "\t" && c != "\n" {
                    out += "\u{FFFD}"
                } else if (0x202A...0x202E).contains(c.value) || (0x2066...0x2069).contains(c.value) || c.value == 0x200F || c.value == 0x200E || c.value == 0x061C {
                    out += "[U+" + String(c.value, radix: 16, uppercase: true) + "]"
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out
    }
}
