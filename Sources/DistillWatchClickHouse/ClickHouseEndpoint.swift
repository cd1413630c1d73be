import Foundation

/// Where a ClickHouse server is and which database (and table) to use, parsed from
/// `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[.TABLE]` (HTTP interface, default
/// port 8123) or `clickhouses://…` (HTTPS, default port 8443).
///
/// A password may also come from the environment (`DISTILLWATCH_CLICKHOUSE_PASSWORD`), so
/// that it stays out of process listings; the URL's own wins. ``description`` never shows it.
public struct ClickHouseEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var database: String
    /// The table, when the URL names one (`DATABASE.TABLE`).
    public var table: String?

    public static let passwordVariable = "DISTILLWATCH_CLICKHOUSE_PASSWORD"

    /// - Throws: ``ClickHouseError/badURL(_:_:)`` naming what is wrong.
    /// - Parameters:
    ///   - requireTable: the URL must name a table (a traffic source).
    ///   - forbidTable: the URL must name a database only (a store).
    public init(parsing given: String, environment: [String: String] = [:], requireTable: Bool = false,
                forbidTable: Bool = false) throws(ClickHouseError) {
        // Messages show the URL without its password.
        let text = Self.redacted(given)
        guard let components = URLComponents(string: given), let scheme = components.scheme?.lowercased() else {
            throw .badURL(text, "not a URL (expected clickhouse://HOST:PORT/DATABASE.TABLE)")
        }
        switch scheme {
        case "clickhouse", "http": secure = false
        case "clickhouses", "https": secure = true
        default: throw .badURL(text, "scheme '\(scheme)' is not clickhouse:// (HTTP) or clickhouses:// (HTTPS)")
        }
        guard components.query == nil, components.fragment == nil else {
            throw .badURL(text, "has a query string or fragment, which DistillWatch does not read (put settings in the user's profile)")
        }
        guard var host = components.host, !host.isEmpty else { throw .badURL(text, "names no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        if let port = components.port {
            guard (1...65_535).contains(port) else { throw .badURL(text, "port \(port) is out of range") }
            self.port = port
        } else {
            port = secure ? 8443 : 8123
        }
        user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        password = components.password ?? environment[Self.passwordVariable]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty else {
            throw .badURL(text, "names no database (clickhouse://HOST:PORT/DATABASE or /DATABASE.TABLE)")
        }
        guard !path.contains("/") else { throw .badURL(text, "path '\(path)' is not DATABASE or DATABASE.TABLE") }
        let parts = path.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        database = parts[0]
        table = parts.count > 1 ? parts[1] : nil
        for (what, name) in [("database", database), ("table", table ?? "t")] {
            guard Self.isIdentifier(name) else {
                throw .badURL(text, "\(what) name '\(name)' is not a plain identifier (letters, digits, _; not starting with a digit)")
            }
        }
        if requireTable, table == nil { throw .badURL(text, "names no table (clickhouse://HOST:PORT/DATABASE.TABLE)") }
        if forbidTable, let table {
            throw .badURL(text, "names a table (\(table)); give the database only (clickhouse://HOST:PORT/DATABASE)")
        }
    }

    /// The URL text with the password of `USER:PASSWORD@` replaced by `***`.
    public static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }

    /// A plain ClickHouse identifier, safe to write unquoted in a query.
    public static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_")
        }
    }

    /// The HTTP interface's base URL, `http://HOST:PORT/`.
    public var baseURL: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "https" : "http")://\(bracketed):\(port)/"
    }

    /// `database.table` (the table must be set).
    public var qualifiedTable: String { "\(database).\(table ?? "")" }

    /// The URL without a password.
    public var description: String {
        let who = user.map { "\($0)@" } ?? ""
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "clickhouses" : "clickhouse")://\(who)\(bracketed):\(port)/\(database)\(table.map { ".\($0)" } ?? "")"
    }

    /// The same server and database, another table.
    public func with(table: String?) -> ClickHouseEndpoint {
        var copy = self
        copy.table = table
        return copy
    }
}
