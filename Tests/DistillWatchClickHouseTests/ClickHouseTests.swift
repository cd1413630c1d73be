import DistillWatchCore
import DistillWatchIngest
import Foundation
import Testing
@testable import DistillWatchClickHouse

/// The parts of the ClickHouse adapter that need no server: URLs, exception text, the
/// traffic query for each table shape and column type, and the rows written. The real
/// server (Debian's 18.16, two shards) is exercised by scripts/clickhouse-e2e.py in CI.
@Suite struct ClickHouseEndpointTests {
    @Test func parsesURLsWithDefaultsAndCredentials() throws {
        let e = try ClickHouseEndpoint(parsing: "clickhouse://analyst:s3cret@ch.internal/logs.requests")
        #expect(e.host == "ch.internal" && e.port == 8123 && !e.secure)
        #expect(e.user == "analyst" && e.password == "s3cret")
        #expect(e.database == "logs" && e.table == "requests")
        #expect(e.baseURL == "http://ch.internal:8123/")
        #expect(!e.description.contains("s3cret"))
        let tls = try ClickHouseEndpoint(parsing: "clickhouses://ch.internal/dw", environment: ["DISTILLWATCH_CLICKHOUSE_PASSWORD": "env"])
        #expect(tls.secure && tls.port == 8443 && tls.table == nil && tls.password == "env")
        let v6 = try ClickHouseEndpoint(parsing: "clickhouse://[::1]:18123/dw.t")
        #expect(v6.baseURL == "http://[::1]:18123/")
    }

    @Test func refusesWhatIsNotAClickHouseTable() {
        let cases: [(String, String)] = [
            ("postgres://h/db", "scheme"), ("clickhouse:///db", "no host"), ("clickhouse://h", "no database"),
            ("clickhouse://h/db.t;DROP", "not a plain identifier"), ("clickhouse://h/1db", "not a plain identifier"),
            ("clickhouse://h/db/x", "is not DATABASE"), ("not a url at all", "not a URL"),
        ]
        for (text, reason) in cases {
            do {
                _ = try ClickHouseEndpoint(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error)")
                #expect(error.description.hasPrefix(text), "the message names the URL: \(error)")
            }
        }
        #expect(throws: ClickHouseError.self) { try ClickHouseEndpoint(parsing: "clickhouse://h/db", requireTable: true) }
        #expect(throws: ClickHouseError.self, "a store is a database") { try ClickHouseEndpoint(parsing: "clickhouse://h/db.t", forbidTable: true) }
        for ignored in ["clickhouse://h/db.t?max_threads=1", "clickhouse://h/db.t#x"] {
            do {
                _ = try ClickHouseEndpoint(parsing: ignored)
                Issue.record("\(ignored) was accepted")
            } catch {
                #expect(error.description.contains("query string or fragment"))
            }
        }
    }

    @Test func messagesNeverShowThePassword() {
        #expect(ClickHouseEndpoint.redacted("clickhouse://u:s3cr3t@h:99999/dw.t") == "clickhouse://u:***@h:99999/dw.t")
        #expect(ClickHouseEndpoint.redacted("clickhouse://u@h/dw") == "clickhouse://u@h/dw")
        #expect(ClickHouseEndpoint.redacted("clickhouse://h/dw?x=a@b") == "clickhouse://h/dw?x=a@b")
        do {
            _ = try ClickHouseEndpoint(parsing: "clickhouse://u:s3cr3t@127.0.0.1:99999/dw.traffic")
            Issue.record("port 99999 was accepted")
        } catch {
            #expect(!error.description.contains("s3cr3t") && error.description.contains("port 99999"))
        }
    }

    @Test func readsExceptionsOfOldAndCurrentServers() {
        let old = ClickHouseError.parseException(
            "Code: 60, e.displayText() = DB::Exception: Table dw.nope doesn't exist., e.what() = DB::Exception\n")
        #expect(old.code == 60 && old.message == "Table dw.nope doesn't exist")
        let current = ClickHouseError.parseException(
            "Code: 47. DB::Exception: Missing columns: 'account_id' while processing query. (UNKNOWN_IDENTIFIER) (version 24.8.4.13 (official build))\n")
        #expect(current.code == 47)
        #expect(current.message.hasPrefix("Missing columns: 'account_id'"))
        #expect(ClickHouseError.parseException("Bad Gateway").code == 0)
        let net = ClickHouseError.parseException("Code: 279, e.displayText() = DB::NetException: All connection tries failed. Log: , e.what() = DB::NetException")
        #expect(net.code == 279 && net.message.hasPrefix("All connection tries failed"))
        let error = ClickHouseError.server("clickhouse://h:8123/dw", code: 60, status: 404, message: old.message)
        #expect(error.description.contains("ClickHouse error 60") && error.description.contains("clickhouse init"))
    }
}

@Suite struct TrafficTableMappingTests {
    static let v1Columns: [ClickHouseColumn] = TrafficTableMapping.v1Fields.map { field in
        switch field {
        case "time": return ClickHouseColumn(name: field, type: "UInt64")
        case "account_id": return ClickHouseColumn(name: field, type: "String")
        case "stream", "thinking", "prefill": return ClickHouseColumn(name: field, type: "Nullable(UInt8)")
        case "temperature", "latency_ms", "cost_usd": return ClickHouseColumn(name: field, type: "Nullable(Float64)")
        case "input_tokens", "output_tokens", "reasoning_tokens", "max_tokens", "tool_count", "message_count", "status", "asn":
            return ClickHouseColumn(name: field, type: "Nullable(Int64)")
        default: return ClickHouseColumn(name: field, type: "Nullable(String)")
        }
    }

    @Test func v1TableReadsItsFieldsInTimeOrderWithTheShardPushedDown() throws {
        let plan = try TrafficTableMapping.plan(
            shape: .v1, table: "dw.traffic", columns: Self.v1Columns, content: true,
            window: TrafficWindow(since: Timestamp(millisecondsSinceEpoch: 1_000), until: Timestamp(millisecondsSinceEpoch: 2_000)),
            shard: try AccountShard(parsing: "1/2"))
        #expect(plan.inputFormat == .v1 && plan.integerBooleans)
        #expect(plan.columnsRead.count == TrafficTableMapping.v1Fields.count)
        #expect(plan.sql.contains("cityHash64(ifNull(`account_id`, '')) % 2 = 1"))
        #expect(plan.sql.contains("toUInt64(`time`) >= 1000") && plan.sql.contains("toUInt64(`time`) < 2000"))
        #expect(plan.sql.contains("dw_0 AS time, dw_1 AS account_id"))
        #expect(plan.sql.hasSuffix("ORDER BY dw_0, dw_1, dw_2, dw_3, dw_4, dw_5, dw_6, dw_7, dw_8, dw_9, dw_10, dw_11, dw_12, dw_13, "
                                   + "dw_14, dw_15, dw_16, dw_17, dw_18, dw_19, dw_20, dw_21, dw_22, dw_23, dw_24, dw_25, dw_26, "
                                   + "dw_27, dw_28, dw_29, dw_30, dw_31 FORMAT JSONEachRow"))
    }

    @Test func withoutContentTheTextStaysInClickHouse() throws {
        let plan = try TrafficTableMapping.plan(shape: .v1, table: "dw.traffic", columns: Self.v1Columns, content: false)
        for text in ["system", "prompt", "response"] { #expect(!plan.columnsRead.contains(text)) }
        #expect(!plan.sql.contains("cityHash64"), "one shard of one: no filter")
    }

    @Test func timeAndAccountTypesOfOldAndCurrentServers() throws {
        func plan(time: String, account: String = "String") throws -> String {
            try TrafficTableMapping.plan(shape: .v1, table: "t.t", columns: [
                ClickHouseColumn(name: "time", type: time), ClickHouseColumn(name: "account_id", type: account),
            ], content: false, shard: try AccountShard(parsing: "0/4")).sql
        }
        #expect(try plan(time: "DateTime").contains("toUInt64(`time`) * 1000 AS dw_0"))
        #expect(try plan(time: "DateTime64(3, 'UTC')").contains("toUnixTimestamp64Milli(`time`) AS dw_0"))
        #expect(try plan(time: "Nullable(UInt32)").contains("toUInt64(`time`) * 1000"))
        #expect(try plan(time: "UInt64", account: "UUID").contains("cityHash64(ifNull(toString(`account_id`), '')) % 4 = 0"))
        #expect(try plan(time: "UInt64", account: "LowCardinality(String)").contains("cityHash64(ifNull(`account_id`, '')) % 4 = 0"))
        do {
            _ = try plan(time: "String")
            Issue.record("a String time was accepted")
        } catch {
            #expect("\(error)".contains("column 'time' has type String"))
        }
    }

    @Test func missingColumnsAreNamed() {
        do {
            _ = try TrafficTableMapping.plan(shape: .v1, table: "dw.t", columns: [ClickHouseColumn(name: "time", type: "UInt64")], content: false)
            Issue.record("a table without account_id was accepted")
        } catch {
            #expect(error.description == "dw.t: has no column 'account_id' (the account); its columns: time")
        }
        do {
            _ = try TrafficTableMapping.plan(shape: .helicone, table: "h.rmt", columns: Self.v1Columns, content: false)
            Issue.record("a v1 table was read as Helicone's")
        } catch {
            #expect(error.description.contains("has no column 'request_created_at'"))
        }
    }

    @Test func heliconeTableBecomesItsExportShape() throws {
        let columns = [
            ClickHouseColumn(name: "request_created_at", type: "DateTime64(3)"), ClickHouseColumn(name: "user_id", type: "LowCardinality(String)"),
            ClickHouseColumn(name: "organization_id", type: "UUID"), ClickHouseColumn(name: "request_id", type: "UUID"),
            ClickHouseColumn(name: "model", type: "LowCardinality(String)"), ClickHouseColumn(name: "latency", type: "Nullable(Int64)"),
            ClickHouseColumn(name: "status", type: "Int64"), ClickHouseColumn(name: "cost", type: "Nullable(Int64)"),
            ClickHouseColumn(name: "request_body", type: "String"), ClickHouseColumn(name: "response_body", type: "String"),
            ClickHouseColumn(name: "properties", type: "Map(LowCardinality(String), String)"),
        ]
        let plan = try TrafficTableMapping.plan(shape: .helicone, table: "default.request_response_rmt", columns: columns, content: false)
        #expect(plan.inputFormat == .helicone)
        #expect(plan.sql.contains("toUnixTimestamp64Milli(`request_created_at`) AS dw_0"))
        #expect(plan.sql.contains("dw_1 AS request_user_id"))
        #expect(plan.sql.contains("`latency` AS") && plan.sql.contains("AS delay_ms"))
        #expect(plan.sql.contains("`cost` / 1000000000"))
        #expect(plan.sql.contains("toString(`request_id`)"))
        #expect(!plan.columnsRead.contains("properties") && !plan.columnsRead.contains("response_body"))
        let byOrganisation = try TrafficTableMapping.plan(shape: .helicone, table: "default.request_response_rmt", columns: columns,
                                                          content: true, accountColumn: "organization_id")
        #expect(byOrganisation.sql.contains("toString(`organization_id`) AS dw_1"))
        #expect(byOrganisation.columnsRead.contains("response_body"))
    }

    @Test func aStoredRunIsMergedAsOneProcessWouldReportIt() {
        let shards = ["0/2", "1/2"].map {
            ClickHouseResultStore.FinishedShard(shard: $0, attempt: "a-\($0)", exchanges: 1, accounts: 1, firstTimeMilliseconds: 0,
                                                lastTimeMilliseconds: 0, source: .init(source: "clickhouse://h/dw.t"))
        }
        let merged = ClickHouseResultStore.mergedFlaggedQuery(database: "dw", run: "r1", shards: shards, campaignAttempt: "s-1", limit: 501)
        // The step's verdicts for what it re-ran (every candidate is listed), the shards' for the rest.
        #expect(merged.contains("(run_id = 'r1' AND shard = 'campaigns' AND attempt = 's-1' AND verdict != 'allow') OR"))
        #expect(merged.contains("AND account_id GLOBAL NOT IN (SELECT account_id FROM dw.dw_verdicts WHERE run_id = 'r1' AND shard = 'campaigns' AND attempt = 's-1')"))
        #expect(merged.contains("(shard, attempt) IN (('0/2', 'a-0/2'), ('1/2', 'a-1/2'))") && merged.hasSuffix("LIMIT 501 FORMAT TabSeparatedRaw"))
        let count = ClickHouseResultStore.mergedFlaggedCountQuery(database: "dw", run: "r1", shards: shards, campaignAttempt: "s-1")
        #expect(count.hasPrefix("SELECT count() FROM dw.dw_verdicts WHERE (run_id = 'r1'") && !count.contains("LIMIT"))
        let withoutStep = ClickHouseResultStore.mergedFlaggedQuery(database: "dw", run: "r1", shards: shards, campaignAttempt: nil, limit: 10)
        #expect(!withoutStep.contains("campaigns") && withoutStep.contains("verdict != 'allow'"))
        #expect(ClickHouseResultStore.runCampaignsQuery(database: "dw", run: "r1", shards: shards, campaignAttempt: "s-1")
                    .contains("shard = 'campaigns' AND attempt = 's-1'"))
    }

    /// The OpenTelemetry Collector's exporter table (traces_table.sql), as DESCRIBE lists it.
    static let otelColumns = [
        ClickHouseColumn(name: "Timestamp", type: "DateTime64(9)"), ClickHouseColumn(name: "TraceId", type: "String"),
        ClickHouseColumn(name: "SpanId", type: "String"), ClickHouseColumn(name: "SpanName", type: "LowCardinality(String)"),
        ClickHouseColumn(name: "ResourceAttributes", type: "Map(LowCardinality(String), String)"),
        ClickHouseColumn(name: "SpanAttributes", type: "Map(LowCardinality(String), String)"),
        ClickHouseColumn(name: "Duration", type: "UInt64"), ClickHouseColumn(name: "StatusCode", type: "LowCardinality(String)"),
    ]

    @Test func otelTracesAreReadAsSpansOfModelCalls() throws {
        let plan = try TrafficTableMapping.plan(shape: .otelTraces, table: "otel.otel_traces", columns: Self.otelColumns, content: false,
                                                shard: try AccountShard(parsing: "1/2"))
        #expect(plan.inputFormat == .otelTraces)
        #expect(plan.sql.contains("toUnixTimestamp64Nano(`Timestamp`) AS dw_0") && plan.sql.contains("dw_0 AS Timestamp"))
        #expect(plan.sql.contains("coalesce(nullIf(`SpanAttributes`['user.id'], ''), nullIf(`ResourceAttributes`['user.id'], ''), "
                                  + "nullIf(`SpanAttributes`['enduser.id'], ''), nullIf(`ResourceAttributes`['enduser.id'], ''))"))
        #expect(plan.sql.contains("arrayExists(k -> startsWith(k, 'gen_ai.'), mapKeys(`SpanAttributes`))"))
        #expect(plan.sql.contains("NOT IN ('invoke_agent', 'create_agent', 'execute_tool')"))
        #expect(plan.sql.contains("mapFilter((k, v) -> k NOT IN ('gen_ai.input.messages'"), "messages stay in ClickHouse without content")
        #expect(plan.sql.contains("cityHash64(ifNull(coalesce("))
        // A Map cannot be compared: the order is time, account, then the span's ids and duration.
        let order = try #require(plan.sql.components(separatedBy: "ORDER BY ").last)
        #expect(order.hasPrefix("dw_0, dw_1, dw_2, dw_3, dw_4 FORMAT"), "\(order)")
        #expect(!plan.columnsRead.contains("StatusCode"))
        let named = try TrafficTableMapping.plan(shape: .otelTraces, table: "otel.otel_traces", columns: Self.otelColumns, content: true,
                                                 accountColumn: "tenant.id")
        #expect(named.sql.contains("coalesce(nullIf(`SpanAttributes`['tenant.id'], ''), nullIf(`ResourceAttributes`['tenant.id'], ''))"))
        #expect(named.sql.contains("`SpanAttributes` AS dw_") && !named.sql.contains("mapFilter"))
        #expect(TrafficTableMapping.ownersQuery(shape: .otelTraces, table: "otel.otel_traces", columns: Self.otelColumns,
                                                accountColumn: nil, requestIDs: ["x"]) == nil)
        var flat = Self.otelColumns
        flat[5] = ClickHouseColumn(name: "SpanAttributes", type: "Nested(keys String, values String)")
        #expect(throws: ClickHouseError.self) {
            try TrafficTableMapping.plan(shape: .otelTraces, table: "otel.t", columns: flat, content: false)
        }
    }

    @Test func accountListsAndLiteralsAreEscaped() throws {
        #expect(TrafficTableMapping.literal("o'brien\\x\n") == "'o\\'brien\\\\x\\n'")
        let plan = try TrafficTableMapping.plan(shape: .v1, table: "dw.t", columns: Self.v1Columns, content: false,
                                                accounts: ["a'; DROP TABLE x; --", "b"])
        #expect(plan.sql.contains("`account_id` IN ('a\\'; DROP TABLE x; --', 'b')"))
        let none = try TrafficTableMapping.plan(shape: .v1, table: "dw.t", columns: Self.v1Columns, content: false, accounts: [])
        #expect(none.sql.contains(" WHERE 0)"))
    }

    @Test func windowsAreReadInSlicesOfWholeHours() throws {
        let counts: [(hour: Int64, rows: Int)] = [(10, 400), (11, 500), (12, 300), (15, 2_000), (16, 100)]
        let slices = TrafficTableMapping.slices(hourCounts: counts, maximumRows: 1_000)
        func ms(_ hour: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: hour * 3_600_000) }
        #expect(slices == [TrafficWindow(since: ms(10), until: ms(12)), TrafficWindow(since: ms(12), until: ms(15)),
                           TrafficWindow(since: ms(15), until: ms(16)), TrafficWindow(since: ms(16), until: ms(17))])
        #expect(TrafficTableMapping.slices(hourCounts: [], maximumRows: 10).isEmpty)
        #expect(TrafficTableMapping.parseHourCounts("10\t400\n11\t500\n").map(\.rows) == [400, 500])
        let plan = try TrafficTableMapping.plan(shape: .v1, table: "dw.t", columns: Self.v1Columns, content: false,
                                                shard: try AccountShard(parsing: "1/2"))
        #expect(plan.hourCountsSQL.hasPrefix("SELECT intDiv(toUInt64(`time`), 3600000) AS hour, count() FROM dw.t WHERE cityHash64("))
        let sliced = plan.sql(slice: slices[0])
        #expect(sliced.contains("toUInt64(`time`) >= 36000000 AND toUInt64(`time`) < 43200000"))
        #expect(sliced.contains("cityHash64(ifNull(`account_id`, '')) % 2 = 1"), "a NULL account reaches one shard")
    }

    @Test func describeOutputIsRead() {
        let columns = ClickHouseColumn.parseDescription("time\tUInt64\t\t\t\naccount_id\tLowCardinality(String)\t\t\t\n")
        #expect(columns == [ClickHouseColumn(name: "time", type: "UInt64"), ClickHouseColumn(name: "account_id", type: "LowCardinality(String)")])
        #expect(columns[1].baseType == "String")
    }
}

@Suite struct ClickHouseResultStoreTests {
    @Test func tablesUseOnlyTypesClickHouse18Has() {
        let statements = ClickHouseResultStore.createStatements(database: "dw", cluster: "distillwatch")
            + ClickHouseResultStore.trafficTableStatements(database: "dw", table: "traffic", cluster: "distillwatch")
        for s in statements {
            for modern in ["DateTime64", "LowCardinality", "Map(", "Bool", "ON CLUSTER"] { #expect(!s.contains(modern), "\(s)") }
        }
        #expect(statements.contains { $0.contains("dw.dw_verdicts AS dw.dw_verdicts_local ENGINE = Distributed(distillwatch, dw, dw_verdicts_local, cityHash64(account_id))") })
        #expect(ClickHouseResultStore.createStatements(database: "dw", cluster: nil).allSatisfy { !$0.contains("Distributed") })
    }

    @Test func reportRowsCarryTheRunShardAndAttempt() throws {
        var engine = DetectionEngine()
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        for _ in 0..<3_000 {
            t = t.adding(seconds: 2)
            engine.observe(Exchange(time: t, accountID: "bulk", model: "m", outputTokens: 4_000, maxTokens: 4_096))
        }
        let report = ScanReport(engine: engine, generatedAt: t, includeAllAccounts: true)
        let writer = ClickHouseResultStore.Writer(run: "r1", shard: "0/2", attempt: "a1", writtenAt: t)
        let rows = try ClickHouseResultStore.rows(
            report: report, observations: [LinkKeyLedger.Observation(accountID: "bulk", kind: .sharedAddress, key: 42)],
            replayReferences: [("bulk", "req-9")], writer: writer, source: "clickhouse://h:8123/dw.traffic")
        let tables = Dictionary(uniqueKeysWithValues: rows.map { ($0.table, $0.lines) })
        let verdict = try #require(try JSONSerialization.jsonObject(with: tables["dw_verdicts"]!.split(separator: 0x0A)[0]) as? [String: Any])
        #expect(verdict["run_id"] as? String == "r1" && verdict["shard"] as? String == "0/2" && verdict["attempt"] as? String == "a1")
        #expect(verdict["account_id"] as? String == "bulk")
        let entry = try JSONDecoder().decode(ScanReport.Account.self, from: Data((verdict["report_json"] as! String).utf8))
        #expect(entry == report.accounts[0])
        let key = try #require(try JSONSerialization.jsonObject(with: tables["dw_link_keys"]!) as? [String: Any])
        #expect(key["kind"] as? String == "shared_address" && (key["key"] as? NSNumber)?.uint64Value == 42)
        #expect(String(decoding: tables["dw_replay_references"]!, as: UTF8.self).contains("\"request_id\":\"req-9\""))
        let described = ClickHouseResultStore.SourceDescription(source: "clickhouse://h:8123/dw.t", mapping: "v1",
                                                               window: TrafficWindow(since: Timestamp(millisecondsSinceEpoch: 7)))
        let run = try #require(try JSONSerialization.jsonObject(with: try ClickHouseResultStore.runRow(report: report, writer: writer, source: described)) as? [String: Any])
        #expect(run["exchanges"] as? Int == 3_000 && run["since_ms"] as? Int == 7 && run["until_ms"] is NSNull)
        #expect(run["finished_ms"] as? Int == Int(t.millisecondsSinceEpoch), "attempts of one second are told apart by milliseconds")
    }

    @Test func aRunCountsOnlyWhenEveryShardFinished() throws {
        let text = #"{"shard":"0/2","attempt":"a1","exchanges":"10","accounts":3,"first_time_ms":1000,"last_time_ms":2000,"source":"clickhouse://h:8123/dw.t","mapping":"v1","account_column":"","since_ms":null,"until_ms":5000}"#
            + "\n" + #"{"shard":"1/2","attempt":"b7","exchanges":5,"accounts":2,"first_time_ms":1500,"last_time_ms":2500,"source":"s","mapping":"helicone","account_column":"organization_id","since_ms":100,"until_ms":null}"#
        let shards = ClickHouseResultStore.FinishedShard.parse(text)
        #expect(shards.count == 2 && shards[0].exchanges == 10 && shards[0].source.window.until == Timestamp(millisecondsSinceEpoch: 5_000))
        #expect(shards[1].source.mapping == "helicone" && shards[1].source.accountColumn == "organization_id"
                && shards[1].source.window.since == Timestamp(millisecondsSinceEpoch: 100) && shards[1].source.window.until == nil)
        #expect(try ClickHouseResultStore.requireCompleteRun(shards, run: "r") == 2)
        do {
            _ = try ClickHouseResultStore.requireCompleteRun(Array(shards.prefix(1)), run: "r")
            Issue.record("a run missing shard 1/2 was accepted")
        } catch {
            #expect(error.description.contains("shard 1/2 has not finished"))
        }
        #expect(throws: ClickHouseError.self) { try ClickHouseResultStore.requireCompleteRun([], run: "r") }
        let query = ClickHouseResultStore.candidatesQuery(database: "dw", run: "r", shards: shards, maximumKeyAccounts: 1000)
        #expect(query.contains("(shard, attempt) IN (('0/2', 'a1'), ('1/2', 'b7'))"))
        #expect(query.contains("uniqExact(shard) >= 2 AND uniqExact(account_id) <= 1000"))
        #expect(query.contains("dw_linked_accounts") && query.hasSuffix("FORMAT JSONEachRow"), "account ids come back as JSON, not escaped text")
        #expect(ClickHouseResultStore.latestAttemptsQuery(database: "dw", run: "r").contains("argMax(attempt, (finished_ms, attempt))"))
    }
}
