import DistillWatchCore
import DistillWatchIngest

/// A column as `DESCRIBE TABLE` lists it.
public struct ClickHouseColumn: Sendable, Equatable {
    public var name: String
    public var type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }

    /// The type without `Nullable(…)` and `LowCardinality(…)` around it.
    public var baseType: String {
        var t = type
        for wrapper in ["Nullable(", "LowCardinality("] {
            while t.hasPrefix(wrapper), t.hasSuffix(")") { t = String(t.dropFirst(wrapper.count).dropLast()) }
        }
        return t
    }

    /// Reads `DESCRIBE TABLE … FORMAT TabSeparated` output (name, type, then defaults).
    public static func parseDescription(_ text: String) -> [ClickHouseColumn] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { return nil }
            return ClickHouseColumn(name: String(fields[0]), type: String(fields[1]))
        }
    }
}

/// The shapes of traffic table DistillWatch reads.
public enum TrafficTableShape: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Columns named as traffic format v1's fields (`time`, `account_id`, `model`, …);
    /// any optional field may be missing. `distillwatch clickhouse init` creates one.
    case v1
    /// Helicone's `request_response_rmt` (its ClickHouse request log): `request_created_at`,
    /// `user_id`, tokens, `latency`, `status`, `country_code`, and the bodies as JSON text.
    case helicone
    /// `otel_traces`, the table the OpenTelemetry Collector's ClickHouse exporter writes
    /// (`Timestamp` DateTime64(9), `SpanId`, `Duration` ns, `SpanAttributes` and
    /// `ResourceAttributes` as `Map(LowCardinality(String), String)`): each GenAI model-call
    /// span is an exchange, read as an OTLP span (``OTelTracesRowReader``). The account is
    /// the first of the attributes named (default `user.id`, then `enduser.id`; span first,
    /// then resource). Needs a ClickHouse with `Map` (21.8 or later).
    case otelTraces = "otel-traces"

    public var description: String { rawValue }
}

/// A time window of traffic: exchanges at or after `since` and before `until` (ms).
public struct TrafficWindow: Sendable, Hashable {
    public var since: Timestamp?
    public var until: Timestamp?
    public init(since: Timestamp? = nil, until: Timestamp? = nil) {
        self.since = since
        self.until = until
    }
}

/// The query that reads a traffic table as exchange lines, and how to decode them.
public struct TrafficQueryPlan: Sendable, Equatable {
    /// `SELECT … FORMAT JSONEachRow` of the whole window, ordered by time, account, then
    /// every other column.
    public var sql: String { sql(slice: nil) }
    /// Rows per hour of the window: `hour` (ms since the epoch / 3,600,000) and `rows`,
    /// tab-separated, in hour order; ``TrafficTableMapping/slices(hourCounts:maximumRows:)``
    /// turns them into windows read one after another.
    public var hourCountsSQL: String {
        "SELECT intDiv(\(timeExpression), 3600000) AS hour, count() FROM \(table)\(whereClause([])) GROUP BY hour ORDER BY hour FORMAT TabSeparated"
    }
    let table: String
    let inner: String
    let outer: String
    let order: String
    let conditions: [String]
    let timeExpression: String
    /// How the lines decode (v1, or Helicone's export shape).
    public var inputFormat: InputFormat
    /// The table's columns the query reads.
    public var columnsRead: [String]
    /// Booleans arrive as 0 and 1 (`UInt8` columns).
    public var integerBooleans: Bool

    /// The query of one slice of the window (`nil`: the whole window): the server sorts
    /// only that slice's rows.
    public func sql(slice: TrafficWindow?) -> String {
        var extra: [String] = []
        if let since = slice?.since { extra.append("\(timeExpression) >= \(since.millisecondsSinceEpoch)") }
        if let until = slice?.until { extra.append("\(timeExpression) < \(until.millisecondsSinceEpoch)") }
        return "SELECT \(outer) FROM (SELECT \(inner) FROM \(table)\(whereClause(extra))) ORDER BY \(order) FORMAT JSONEachRow"
    }

    func whereClause(_ extra: [String]) -> String {
        let all = conditions + extra
        return all.isEmpty ? "" : " WHERE " + all.joined(separator: " AND ")
    }
}

/// Maps a traffic table's columns to exchange fields and builds the query that streams
/// them in time order, with the time window, the shard filter (`cityHash64` of the account's
/// text `% N = k`, evaluated inside ClickHouse) and an optional account list pushed down.
///
/// Column types are read from the table, so one mapping serves ClickHouse 18.16 (no
/// `DateTime64`, `Map`, `LowCardinality` or `Bool`) and current servers: a time column may be
/// `DateTime`, `DateTime64(p)`, a 32-bit integer of epoch seconds or a 64-bit integer of
/// epoch milliseconds; an account may be any type (read as its text); `UInt8` flags are
/// read as booleans. Only the columns the enabled signals need are read: without content
/// signals, `system`, `prompt` and `response` stay in ClickHouse.
///
/// Pure: builds text, does no I/O. - Complexity: O(columns + accounts listed).
public enum TrafficTableMapping {
    /// Traffic format v1 exchange fields, in the specification's order (§1).
    public static let v1Fields = [
        "time", "account_id", "request_id", "api_key_id", "model", "operation", "input_tokens", "output_tokens",
        "reasoning_tokens", "max_tokens", "temperature", "stream", "thinking", "tool_count", "message_count",
        "finish_reason", "status", "latency_ms", "client_ip", "asn", "country", "user_agent", "client_fingerprint",
        "system", "prompt", "response", "end_user_id", "batch_id", "reasoning_effort", "reasoning_replay_of",
        "prefill", "cost_usd",
    ]
    static let v1Text: Set<String> = ["system", "prompt", "response"]
    static let v1Strings: Set<String> = [
        "request_id", "api_key_id", "model", "operation", "finish_reason", "client_ip", "country", "user_agent",
        "client_fingerprint", "end_user_id", "batch_id", "reasoning_effort", "reasoning_replay_of",
    ]

    /// Helicone's `request_response_rmt` columns and the export keys they become.
    static let heliconeColumns: [(column: String, key: String)] = [
        ("request_id", "request_id"), ("model", "model"), ("prompt_tokens", "prompt_tokens"),
        ("completion_tokens", "completion_tokens"), ("latency", "delay_ms"), ("status", "response_status"),
        ("country_code", "country_code"), ("cost", "cost"), ("request_body", "request_body"),
        ("response_body", "response_body"),
    ]

    /// Builds the query for a table of `shape` whose columns are `columns`.
    /// - Parameters:
    ///   - accountColumn: the column naming the account (default `account_id` for v1,
    ///     `user_id` for Helicone; `organization_id` reads Helicone per organisation).
    ///   - accounts: read only these accounts (the campaign step's candidates).
    /// - Throws: ``ClickHouseError/unusableTable(_:_:)`` naming the missing column or the
    ///   type that cannot be read.
    public static func plan(
        shape: TrafficTableShape, table: String, columns: [ClickHouseColumn], content: Bool,
        window: TrafficWindow = TrafficWindow(), shard: AccountShard = .whole, accountColumn: String? = nil,
        accounts: [String]? = nil
    ) throws(ClickHouseError) -> TrafficQueryPlan {
        var byName: [String: ClickHouseColumn] = [:]
        for c in columns { byName[c.name] = c }
        func require(_ name: String, _ role: String) throws(ClickHouseError) -> ClickHouseColumn {
            guard let c = byName[name] else {
                let known = columns.prefix(12).map(\.name).joined(separator: ", ")
                throw .unusableTable(table, "has no column '\(name)' (\(role)); its columns: \(known)\(columns.count > 12 ? ", …" : "")")
            }
            return c
        }
        var selected: [(expression: String, key: String)] = []
        var read: [String] = []
        var integerBooleans = false
        let timeColumn: ClickHouseColumn
        var accountText = ""
        var timeOutput: String?
        var extraConditions: [String] = []
        var unordered: Set<String> = []
        switch shape {
        case .v1:
            timeColumn = try require("time", "the exchange's time")
            let account = try require(accountColumn ?? "account_id", "the account")
            accountText = isText(account.baseType) ? quoted(account.name) : "toString(\(quoted(account.name)))"
            read.append(account.name)
            for field in v1Fields where field != "time" && field != "account_id" {
                guard let c = byName[field], content || !v1Text.contains(field) else { continue }
                let base = c.baseType
                if ["stream", "thinking", "prefill"].contains(field), base == "UInt8" { integerBooleans = true }
                let expression = v1Strings.contains(field) && !isText(base) ? "toString(\(quoted(c.name)))" : quoted(c.name)
                selected.append((expression, field))
                read.append(c.name)
            }
        case .helicone:
            timeColumn = try require("request_created_at", "the request's time")
            let account = try require(accountColumn ?? "user_id", "the account: Helicone-User-Id")
            accountText = isText(account.baseType) ? quoted(account.name) : "toString(\(quoted(account.name)))"
            read.append(account.name)
            for (name, key) in heliconeColumns {
                guard byName[name] != nil else { continue }
                var expression = quoted(name)
                switch name {
                case "request_id": expression = "toString(\(quoted(name)))"
                case "cost": expression = "\(quoted(name)) / 1000000000"  // Helicone stores cost in 1e-9 USD
                case "response_body" where !content: continue
                default: break
                }
                selected.append((expression, key))
                read.append(name)
            }
        case .otelTraces:
            timeColumn = try require("Timestamp", "the span's start time")
            let attributes = try require("SpanAttributes", "the span's attributes")
            guard attributes.baseType.hasPrefix("Map(") else {
                throw .unusableTable(table, "column 'SpanAttributes' has type \(attributes.type): the exporter's table keeps attributes "
                                     + "as Map(LowCardinality(String), String) (ClickHouse 21.8 or later)")
            }
            let base = timeColumn.baseType
            if base.hasPrefix("DateTime64") {
                timeOutput = "toUnixTimestamp64Nano(\(quoted(timeColumn.name)))"
            } else if base == "DateTime" || base.hasPrefix("DateTime(") {
                timeOutput = "toUInt64(\(quoted(timeColumn.name))) * 1000000000"
            } else {
                throw .unusableTable(table, "column 'Timestamp' has type \(timeColumn.type): the exporter's table has DateTime64(9)")
            }
            let resource = byName["ResourceAttributes"].map { $0.baseType.hasPrefix("Map(") } ?? false
            // As the span reader picks it: each attribute on the span, then on the resource.
            let names = (accountColumn ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let attributeNames = names.isEmpty ? ["user.id", "enduser.id"] : names
            let candidates = attributeNames.flatMap { name in
                ["nullIf(`SpanAttributes`[\(literal(name))], '')"] + (resource ? ["nullIf(`ResourceAttributes`[\(literal(name))], '')"] : [])
            }
            accountText = "coalesce(\(candidates.joined(separator: ", ")))"
            // Model calls only: a gen_ai.* attribute, and no agent or tool operation.
            extraConditions.append("arrayExists(k -> startsWith(k, 'gen_ai.'), mapKeys(`SpanAttributes`))")
            extraConditions.append("`SpanAttributes`['gen_ai.operation.name'] NOT IN ('invoke_agent', 'create_agent', 'execute_tool')")
            for name in ["SpanId", "TraceId", "Duration"] where byName[name] != nil {
                selected.append((quoted(name), name))
                read.append(name)
            }
            // Without content signals, the messages stay in ClickHouse.
            let spanAttributes = content ? "`SpanAttributes`"
                : "mapFilter((k, v) -> k NOT IN ('gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions', "
                    + "'gen_ai.prompt', 'gen_ai.completion'), `SpanAttributes`)"
            selected.append((spanAttributes, "SpanAttributes"))
            unordered.insert("SpanAttributes")
            read.append("SpanAttributes")
            if resource {
                selected.append(("`ResourceAttributes`", "ResourceAttributes"))
                unordered.insert("ResourceAttributes")
                read.append("ResourceAttributes")
            }
        }
        let timeExpression = try millisecondsExpression(timeColumn, table: table)
        let timeKey = shape == .v1 ? "time" : shape == .helicone ? "request_created_at" : "Timestamp"
        let accountKey = shape == .v1 ? "account_id" : shape == .helicone ? "request_user_id" : "dw_account"
        selected.insert((accountText, accountKey), at: 0)
        selected.insert((timeOutput ?? timeExpression, timeKey), at: 0)
        read.insert(timeColumn.name, at: 0)

        var conditions: [String] = []
        if let since = window.since { conditions.append("\(timeExpression) >= \(since.millisecondsSinceEpoch)") }
        if let until = window.until { conditions.append("\(timeExpression) < \(until.millisecondsSinceEpoch)") }
        // A NULL account hashes as the empty string: its row reaches one shard, which counts
        // it as malformed, as a file's would be.
        if shard.count > 1 { conditions.append("cityHash64(ifNull(\(accountText), '')) % \(shard.count) = \(shard.index)") }
        if let accounts {
            conditions.append(accounts.isEmpty ? "0" : "\(accountText) IN (\(accounts.map(literal).joined(separator: ", ")))")
        }
        conditions += extraConditions
        // Aliases that differ from every column name (ClickHouse refuses an alias that
        // names the column it is computed from), renamed in the outer query.
        let inner = selected.enumerated().map { "\($1.expression) AS dw_\($0)" }.joined(separator: ", ")
        let outer = selected.enumerated().map { "dw_\($0) AS \($1.key)" }.joined(separator: ", ")
        // Time, then account, then every other column: a total order, so that two reads of
        // one table give the same exchanges in the same order (and the same verdicts).
        // (Attribute maps are left out: a Map cannot be compared; the span id orders those.)
        let order = selected.indices.filter { !unordered.contains(selected[$0].key) }.map { "dw_\($0)" }.joined(separator: ", ")
        return TrafficQueryPlan(table: table, inner: inner, outer: outer, order: order, conditions: conditions,
                                timeExpression: timeExpression,
                                inputFormat: shape == .v1 ? .v1 : shape == .helicone ? .helicone : .otelTraces,
                                columnsRead: read, integerBooleans: integerBooleans)
    }

    /// The accounts that sent the given requests: `dw_account`, `dw_request` objects (for
    /// `reasoning_replay_of` references that cross shards). `nil` when the table has no
    /// `request_id` column.
    public static func ownersQuery(shape: TrafficTableShape, table: String, columns: [ClickHouseColumn],
                                   accountColumn: String?, requestIDs: [String]) -> String? {
        // Spans carry no reasoning_replay_of.
        guard shape != .otelTraces else { return nil }
        guard let request = columns.first(where: { $0.name == "request_id" }),
              let account = columns.first(where: { $0.name == (accountColumn ?? (shape == .v1 ? "account_id" : "user_id")) }),
              !requestIDs.isEmpty else { return nil }
        let accountText = isText(account.baseType) ? quoted(account.name) : "toString(\(quoted(account.name)))"
        let requestText = isText(request.baseType) ? quoted(request.name) : "toString(\(quoted(request.name)))"
        return "SELECT DISTINCT \(accountText) AS dw_account, \(requestText) AS dw_request FROM \(table) WHERE \(requestText) IN "
            + "(\(requestIDs.map(literal).joined(separator: ", "))) FORMAT JSONEachRow"
    }

    /// Windows of consecutive hours holding at most `maximumRows` rows each (an hour
    /// with more is a window of its own), covering every counted hour in order: read one
    /// after another, each sorted by the server alone, they give the whole window in time
    /// order with the server's memory bounded by a slice, not the window.
    /// - Parameter hourCounts: (hour since the epoch, rows), in hour order.
    public static func slices(hourCounts: [(hour: Int64, rows: Int)], maximumRows: Int) -> [TrafficWindow] {
        var out: [TrafficWindow] = []
        var start: Int64?
        var rows = 0
        for (hour, n) in hourCounts {
            if let s = start, rows + n > maximumRows, rows > 0 {
                out.append(TrafficWindow(since: Timestamp(millisecondsSinceEpoch: s * 3_600_000),
                                         until: Timestamp(millisecondsSinceEpoch: hour * 3_600_000)))
                start = nil
                rows = 0
            }
            if start == nil { start = hour }
            rows += n
        }
        if let s = start, let last = hourCounts.last {
            out.append(TrafficWindow(since: Timestamp(millisecondsSinceEpoch: s * 3_600_000),
                                     until: Timestamp(millisecondsSinceEpoch: (last.hour + 1) * 3_600_000)))
        }
        return out
    }

    /// Reads `hourCountsSQL`'s answer.
    public static func parseHourCounts(_ text: String) -> [(hour: Int64, rows: Int)] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t")
            guard f.count == 2, let h = Int64(f[0]), let n = Int(f[1]) else { return nil }
            return (h, n)
        }
    }

    /// The settings every traffic query runs with: 64-bit integers as JSON numbers, sorting
    /// spilled to disk past 1 GB, and a result the server would cut short (an account's
    /// `max_result_rows` with `result_overflow_mode = 'break'`) made an error instead.
    public static let querySettings = [
        "output_format_json_quote_64bit_integers": "0",
        "max_bytes_before_external_sort": "1000000000",
        "result_overflow_mode": "throw",
    ]

    /// Epoch milliseconds from a time column, by its type.
    static func millisecondsExpression(_ c: ClickHouseColumn, table: String) throws(ClickHouseError) -> String {
        let base = c.baseType, name = quoted(c.name)
        if base == "DateTime" || base.hasPrefix("DateTime(") { return "toUInt64(\(name)) * 1000" }
        if base.hasPrefix("DateTime64") { return "toUnixTimestamp64Milli(\(name))" }
        if base == "UInt32" || base == "Int32" { return "toUInt64(\(name)) * 1000" }
        if base == "UInt64" || base == "Int64" { return "toUInt64(\(name))" }
        throw .unusableTable(table, "column '\(c.name)' has type \(c.type): a time column must be DateTime, DateTime64, "
                             + "UInt32 (epoch seconds) or UInt64 (epoch milliseconds)")
    }

    static func isText(_ baseType: String) -> Bool { baseType == "String" || baseType.hasPrefix("FixedString") }

    /// A column name quoted with backquotes (any name is safe).
    static func quoted(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "`", with: "\\`") + "`"
    }

    /// A string literal (backslash and quote escaped, as ClickHouse's SQL reads them).
    public static func literal(_ text: String) -> String {
        var out = "'"
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "'"
    }
}
