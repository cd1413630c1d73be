/// One way to print numbers, durations and counted nouns in everything people read:
/// command summaries, the evaluation tables, evidence sentences, generated policy files.
///
/// Locale-free and deterministic (output is diffed in tests and pasted into tickets):
/// thousands separated by commas (`5,311`), a dot for decimals, and the noun agreeing
/// with the count (`1 account`, `2 accounts`). Every function is O(digits).
public enum Wording {
    /// `n` with thousands separated by commas: `number(1234567)` is `1,234,567`.
    public static func number(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0, (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `n` and the noun, singular for exactly one: `counted(1, "account")` is `1 account`,
    /// `counted(1200, "campaign")` is `1,200 campaigns`.
    public static func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(number(n)) \(n == 1 ? singular : plural ?? singular + "s")"
    }

    /// `x` rounded to `digits` decimals, always that many: `fixed(0.5, 2)` is `0.50`.
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "\(x)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        var v = (x * scale).rounded() / scale
        if v == 0 { v = 0 }   // no "-0"
        var s = String(v)
        if s.contains("e") { return s }
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
            if digits == 0 { s = String(s[..<dot]) }
        }
        return s
    }

    /// A share in [0, 1] as a percentage with `digits` decimals: `percent(0.4567)` is
    /// `45.7%`, `percent(0.4567, digits: 0)` is `46%`.
    public static func percent(_ share: Double, digits: Int = 1) -> String {
        fixed(share * 100, digits) + "%"
    }

    /// The shortest text that reads back as the same `Double`: whole numbers without a
    /// fraction (`40000`, not `40000.0`), others in Swift's shortest round-trip form (`0.45`).
    public static func decimal(_ x: Double) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return x.description
    }

    /// A number for a sentence: whole from 100 up (with separators), otherwise `digits`
    /// decimals at most (`0.35`, `12.5`, `340`, `3,680`).
    public static func rounded(_ x: Double, digits: Int = 1) -> String {
        guard x.isFinite else { return "\(x)" }
        if abs(x) >= 100 || x == x.rounded() { return number(Int(clamping: x.rounded())) }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return "\((x * scale).rounded() / scale)"
    }

    /// A duration in seconds, in its two largest units: `12s`, `14m 8s`, `3h 5m`, `20d 16h`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(clamping: seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        return "\(s / 86_400)d \((s % 86_400) / 3600)h"
    }
}
