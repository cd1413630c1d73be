import DistillWatchCore

/// The file of sharing keys an installation holds: one key per line, `NAME SECRET`, the
/// secret as 32 hexadecimal digits; `#` starts a comment. The names travel in bundles, the
/// secrets never do (Documentation/Sharing.md, "Agreeing a sharing key").
///
/// ```
/// # agreed with Globex on 2026-11-30, rotate quarterly
/// acme-globex-2026q4 8f3c0a5e9d1b47c2a6e0f4b3c2d1e0f9
/// ```
public enum SharingKeyFile {
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses the file's text.
    /// - Throws: ``Problem`` for the first malformed line (name, secret, duplicate name).
    public static func parse(_ text: String) throws(Problem) -> [SharingKey] {
        var keys: [SharingKey] = []
        // Swift reads "\r\n" as one character: split on any line end (CRLF files work).
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (n, raw) in lines.enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw Problem(line: n + 1, message: "expected NAME SECRET (two fields), found \(fields.count)")
            }
            let name = String(fields[0])
            guard SharingKey.isValidID(name) else {
                throw Problem(line: n + 1, message: "key name must be 1–64 characters of A–Z a–z 0–9 . _ -")
            }
            guard let key = SharingKey(id: name, secretHex: String(fields[1])) else {
                throw Problem(line: n + 1, message: "the secret of \(name) must be 32 hexadecimal digits")
            }
            guard !keys.contains(where: { $0.id == name }) else {
                throw Problem(line: n + 1, message: "key \(name) appears twice")
            }
            keys.append(key)
        }
        return keys
    }

    /// A line for a new key with a random secret.
    public static func newLine<G: RandomNumberGenerator>(name: String, using generator: inout G) -> String {
        "\(name) \(ContentKey.random(using: &generator).hex)"
    }
}
