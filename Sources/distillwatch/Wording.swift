import Foundation

/// One way to print numbers and counted nouns in every command's output: thousands
/// separated by commas (`5,311`), and the noun agreeing with the count (`1 account`,
/// `2 accounts`).
enum Wording {
    /// `n` with thousands separated by commas, whatever the locale: output is compared in
    /// tests and pasted into tickets.
    static func number(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0, (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// `n` and the noun, singular for exactly one: `counted(1, "account")` is `1 account`.
    static func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(number(n)) \(n == 1 ? singular : plural ?? singular + "s")"
    }
}

/// The version `--version` prints.
enum DistillWatchVersion {
    static let current = "0.12.0"
}
