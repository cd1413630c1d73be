/// What went wrong talking to ClickHouse, worded for the person running the command.
public enum ClickHouseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL cannot be used: the text, and why.
    case badURL(String, String)
    /// The server could not be reached: the endpoint, and the network's reason.
    case unreachable(String, String)
    /// The server answered with an exception: the endpoint, ClickHouse's error code
    /// (`system.errors`; 60 unknown table, 81 unknown database, 47 unknown column, 516
    /// authentication) or 0 when the body carried none, the HTTP status, and its message.
    case server(String, code: Int, status: Int, message: String)
    /// The table exists but cannot be read as traffic: the table, and why.
    case unusableTable(String, String)
    /// The response stopped before its end (the server died or the connection dropped).
    case interrupted(String, String)
    /// The reader of a streamed result stopped reading (it failed or stopped on purpose,
    /// as `--strict` does at a malformed line): not a ClickHouse problem.
    case readerClosed(String)

    public var description: String {
        switch self {
        case .badURL(let url, let why): return "\(url): \(why)"
        case .unreachable(let endpoint, let why): return "\(endpoint): cannot reach ClickHouse (\(why))"
        case .server(let endpoint, let code, let status, let message):
            let what = code > 0 ? "ClickHouse error \(code)" : "ClickHouse answered HTTP \(status)"
            return "\(endpoint): \(what): \(message)\(Self.hint(code: code))"
        case .unusableTable(let table, let why): return "\(table): \(why)"
        case .interrupted(let endpoint, let why): return "\(endpoint): the query's result stopped before its end (\(why))"
        case .readerClosed(let endpoint): return "\(endpoint): the reader stopped reading the result"
        }
    }

    /// ClickHouse's error code, when the server sent one.
    public var serverCode: Int? {
        if case .server(_, let code, _, _) = self { return code }
        return nil
    }

    static func hint(code: Int) -> String {
        switch code {
        case 60: return " (check the table name; `distillwatch clickhouse init` creates DistillWatch's own tables)"
        case 81: return " (check the database name in the URL)"
        case 47: return " (a column the mapping reads is missing; --clickhouse-mapping chooses the table's shape)"
        case 192, 193, 194, 516: return " (check the user and password: clickhouse://USER@HOST/… and $\(ClickHouseEndpoint.passwordVariable))"
        case 164: return " (the user is read-only (readonly = 1) and cannot set the query's settings: use a user with readonly = 2 or 0)"
        case 209, 210, 279: return " (a server of the cluster is down or unreachable: a Distributed table needs every shard)"
        case 241: return " (the server's memory limit, max_memory_usage: a smaller --clickhouse-slice-rows makes each sorted slice smaller)"
        default: return ""
        }
    }

    /// Reads ClickHouse's exception text, in the shape of 18.x
    /// (`Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = DB::Exception`)
    /// and of current servers (`Code: 60. DB::Exception: Table x does not exist. (UNKNOWN_TABLE) (version 24.3…)`).
    /// - Returns: the code (0 if none) and the message, trimmed.
    public static func parseException(_ body: String) -> (code: Int, message: String) {
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let codeRange = text.range(of: "Code: ") else { return (0, String(text.prefix(500))) }
        let digits = text[codeRange.upperBound...].prefix { $0.isNumber }
        let code = Int(digits) ?? 0
        var message = String(text[codeRange.upperBound...])
        // DB::Exception, DB::NetException, DB::ErrnoException, …
        if let r = message.range(of: "DB::"), let colon = message[r.upperBound...].range(of: "Exception: ") {
            message = String(message[colon.upperBound...])
        } else if let r = message.range(of: "e.displayText() = ") {
            message = String(message[r.upperBound...])
        }
        if let r = message.range(of: ", e.what() = ") { message = String(message[..<r.lowerBound]) }
        if let r = message.range(of: " (version ") { message = String(message[..<r.lowerBound]) }
        if let r = message.range(of: "\n") { message = String(message[..<r.lowerBound]) }
        while message.hasSuffix(".") || message.hasSuffix(" ") { message.removeLast() }
        return (code, String(message.prefix(500)))
    }
}

import Foundation
