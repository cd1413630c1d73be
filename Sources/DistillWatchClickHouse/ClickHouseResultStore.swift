import DistillWatchCore
import Foundation

/// DistillWatch's tables in ClickHouse: what a scan found (verdicts, signal readings,
/// campaigns and their members), the link keys a shard saw, and one row per finished shard
/// of a run. Analysts query them with SQL; the campaign step reads them back.
///
/// Every row carries `run_id` (chosen by the operator, shared by the shards of one scan),
/// `shard` (`k/N`, `all` for an unsharded scan, `campaigns` for the campaign step) and
/// `attempt` (unique per execution). A shard's rows count only once its row in `dw_runs`
/// exists, written last: a shard that died mid-write leaves rows of an attempt no reader
/// uses, and its rerun writes a new attempt (``latestAttemptsQuery(database:run:)``). So a
/// restarted shard never counts twice, and nothing needs `ALTER … DELETE`.
///
/// The types are those ClickHouse 18.16 has (no `DateTime64`, `LowCardinality`, `Map`):
/// times as `DateTime` (seconds, UTC) beside exact epoch milliseconds (`UInt64`); the whole
/// report entry as JSON text (`report_json`, report format v1 §4) for what a column does not hold.
///
/// With a cluster, each table is a `MergeTree` named `…_local` on every server plus a
/// `Distributed` table with the plain name over them, rows spread by `cityHash64(account_id)`
/// (campaigns by their id), the same hash that assigns accounts to shards.
public enum ClickHouseResultStore {
    /// One of DistillWatch's tables.
    public struct Table: Sendable {
        public var name: String
        public var columns: String
        public var orderBy: String
        public var shardingKey: String
    }

    static let common = "run_id String, shard String, attempt String, written_at DateTime"

    public static let tables: [Table] = [
        Table(name: "dw_runs", columns: common + """
            , source String, mapping String, account_column String, since_ms Nullable(UInt64), until_ms Nullable(UInt64), \
            exchanges UInt64, accounts UInt64, flagged UInt64, campaigns UInt64, \
            first_time_ms UInt64, last_time_ms UInt64, finished_ms UInt64, version String
            """, orderBy: "(run_id, shard, attempt)", shardingKey: "cityHash64(run_id)"),
        Table(name: "dw_verdicts", columns: common + """
            , account_id String, verdict String, score Float64, campaign_id String, \
            first_flagged_at Nullable(DateTime), first_flagged_at_ms Nullable(UInt64), exchanges_before_flag Nullable(UInt64), \
            exchanges UInt64, output_tokens UInt64, strongest_signal String, report_json String
            """, orderBy: "(run_id, account_id)", shardingKey: "cityHash64(account_id)"),
        Table(name: "dw_signal_readings", columns: common + """
            , account_id String, signal String, value Float64, contribution Float64, detail String
            """, orderBy: "(run_id, account_id, signal)", shardingKey: "cityHash64(account_id)"),
        Table(name: "dw_campaigns", columns: common + """
            , campaign_id String, verdict String, score Float64, accounts UInt64, exchanges UInt64, output_tokens UInt64, \
            first_seen Nullable(DateTime), first_flagged_at Nullable(DateTime), last_seen Nullable(DateTime), \
            evidence Array(String), report_json String
            """, orderBy: "(run_id, campaign_id)", shardingKey: "cityHash64(campaign_id)"),
        Table(name: "dw_campaign_members", columns: common + """
            , campaign_id String, account_id String
            """, orderBy: "(run_id, campaign_id, account_id)", shardingKey: "cityHash64(account_id)"),
        Table(name: "dw_link_keys", columns: common + """
            , account_id String, kind String, key UInt64
            """, orderBy: "(run_id, kind, key, account_id)", shardingKey: "cityHash64(account_id)"),
        Table(name: "dw_linked_accounts", columns: common + """
            , account_id String, group_size UInt64
            """, orderBy: "(run_id, account_id)", shardingKey: "cityHash64(account_id)"),
        Table(name: "dw_replay_references", columns: common + """
            , account_id String, request_id String
            """, orderBy: "(run_id, request_id, account_id)", shardingKey: "cityHash64(account_id)"),
        // The decision audit of `serve` (decision_audit_clickhouse), one row per audited
        // answer to a gateway: not a run's rows, so no run_id, shard or attempt.
        Table(name: "dw_decisions", columns: """
            written_at DateTime, node String, at DateTime, at_ms UInt64, account_id String, verdict String, score Float64, \
            reasons Array(String), endpoint String, caller String, request_id String, directives Array(String)
            """, orderBy: "(account_id, at_ms)", shardingKey: "cityHash64(account_id)"),
    ]

    /// The statements that create the tables on one server: plain `MergeTree` tables, or
    /// with `cluster`, `…_local` tables and `Distributed` tables over the cluster. Run them on
    /// every server of the cluster (no ZooKeeper needed: no `ON CLUSTER`).
    public static func createStatements(database: String, cluster: String?) -> [String] {
        var out = ["CREATE DATABASE IF NOT EXISTS \(database)"]
        for t in tables {
            let local = cluster == nil ? t.name : t.name + "_local"
            out.append("CREATE TABLE IF NOT EXISTS \(database).\(local) (\(t.columns)) ENGINE = MergeTree() "
                       + "PARTITION BY toYYYYMM(written_at) ORDER BY \(t.orderBy)")
            if let cluster {
                out.append("CREATE TABLE IF NOT EXISTS \(database).\(t.name) AS \(database).\(local) "
                           + "ENGINE = Distributed(\(cluster), \(database), \(local), \(t.shardingKey))")
            }
        }
        return out
    }

    /// The statement that creates a traffic table in the v1 shape (every field a column,
    /// ordered by time), for loading traffic into ClickHouse; with `cluster`, the local table
    /// and a `Distributed` table sharded by `cityHash64(account_id)`, so each server holds
    /// whole accounts.
    public static func trafficTableStatements(database: String, table: String, cluster: String?) -> [String] {
        let columns = """
            time UInt64, account_id String, request_id Nullable(String), api_key_id Nullable(String), \
            model Nullable(String), operation Nullable(String), input_tokens Nullable(Int64), output_tokens Nullable(Int64), \
            reasoning_tokens Nullable(Int64), max_tokens Nullable(Int64), temperature Nullable(Float64), \
            stream Nullable(UInt8), thinking Nullable(UInt8), tool_count Nullable(Int64), message_count Nullable(Int64), \
            finish_reason Nullable(String), status Nullable(Int64), latency_ms Nullable(Float64), client_ip Nullable(String), \
            asn Nullable(Int64), country Nullable(String), user_agent Nullable(String), client_fingerprint Nullable(String), \
            system Nullable(String), prompt Nullable(String), response Nullable(String), end_user_id Nullable(String), \
            batch_id Nullable(String), reasoning_effort Nullable(String), reasoning_replay_of Nullable(String), \
            prefill Nullable(UInt8), cost_usd Nullable(Float64)
            """
        let local = cluster == nil ? table : table + "_local"
        var out = ["CREATE DATABASE IF NOT EXISTS \(database)",
                   "CREATE TABLE IF NOT EXISTS \(database).\(local) (\(columns)) ENGINE = MergeTree() "
                   + "PARTITION BY toYYYYMM(toDateTime(intDiv(time, 1000))) ORDER BY (time, account_id)"]
        if let cluster {
            out.append("CREATE TABLE IF NOT EXISTS \(database).\(table) AS \(database).\(local) "
                       + "ENGINE = Distributed(\(cluster), \(database), \(local), cityHash64(account_id))")
        }
        return out
    }

    /// Who wrote a set of rows.
    public struct Writer: Sendable {
        public var run: String
        public var shard: String
        public var attempt: String
        public var writtenAt: Timestamp

        public init(run: String, shard: String, attempt: String, writtenAt: Timestamp) {
            self.run = run
            self.shard = shard
            self.attempt = attempt
            self.writtenAt = writtenAt
        }

        func header() -> [String: Any] {
            ["run_id": run, "shard": shard, "attempt": attempt, "written_at": Int(writtenAt.millisecondsSinceEpoch / 1000)]
        }
    }

    /// The rows of a report and of link-key observations, by table, as JSON Lines.
    /// - Complexity: O(accounts × signals + members + observations).
    public static func rows(report: ScanReport, observations: [LinkKeyLedger.Observation],
                            replayReferences: [(accountID: String, requestID: String)] = [],
                            linkedAccounts: [(accountID: String, groupSize: Int)] = [], writer: Writer,
                            source: String) throws -> [(table: String, lines: Data)] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var verdicts = Data(), readings = Data(), campaigns = Data(), members = Data(), keys = Data(), replays = Data()
        var linked = Data()
        func line(_ object: [String: Any], into data: inout Data) throws {
            data += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            data.append(0x0A)
        }
        func seconds(_ t: Timestamp?) -> Any { t.map { Int($0.millisecondsSinceEpoch / 1000) as Any } ?? NSNull() }
        for a in report.accounts {
            var row = writer.header()
            row["account_id"] = a.accountID
            row["verdict"] = a.verdict.rawValue
            row["score"] = a.score
            row["campaign_id"] = a.campaignID ?? ""
            row["first_flagged_at"] = seconds(a.firstFlaggedAt)
            row["first_flagged_at_ms"] = a.firstFlaggedAt.map { Int($0.millisecondsSinceEpoch) as Any } ?? NSNull()
            row["exchanges_before_flag"] = a.exchangesBeforeFlag.map { $0 as Any } ?? NSNull()
            row["exchanges"] = a.exchanges
            row["output_tokens"] = a.outputTokens
            row["strongest_signal"] = a.signals.first?.name ?? ""
            row["report_json"] = String(decoding: try encoder.encode(a), as: UTF8.self)
            try line(row, into: &verdicts)
            for s in a.signals {
                var r = writer.header()
                r["account_id"] = a.accountID
                r["signal"] = s.name
                r["value"] = s.value
                r["contribution"] = s.contribution
                r["detail"] = s.detail
                try line(r, into: &readings)
            }
        }
        for c in report.campaigns {
            var row = writer.header()
            row["campaign_id"] = c.campaignID
            row["verdict"] = c.verdict?.rawValue ?? ""
            row["score"] = c.score
            row["accounts"] = c.accounts.count
            row["exchanges"] = c.exchanges
            row["output_tokens"] = c.outputTokens
            row["first_seen"] = seconds(c.firstSeen)
            row["first_flagged_at"] = seconds(c.firstFlaggedAt)
            row["last_seen"] = seconds(c.lastSeen)
            row["evidence"] = c.evidence.map(\.kind)
            row["report_json"] = String(decoding: try encoder.encode(c), as: UTF8.self)
            try line(row, into: &campaigns)
            for m in c.accounts {
                var r = writer.header()
                r["campaign_id"] = c.campaignID
                r["account_id"] = m
                try line(r, into: &members)
            }
        }
        for o in observations {
            var r = writer.header()
            r["account_id"] = o.accountID
            r["kind"] = o.kind.rawValue
            r["key"] = o.key
            try line(r, into: &keys)
        }
        for (account, request) in replayReferences {
            var r = writer.header()
            r["account_id"] = account
            r["request_id"] = request
            try line(r, into: &replays)
        }
        for (account, size) in linkedAccounts {
            var r = writer.header()
            r["account_id"] = account
            r["group_size"] = size
            try line(r, into: &linked)
        }
        return [("dw_verdicts", verdicts), ("dw_signal_readings", readings), ("dw_campaigns", campaigns),
                ("dw_campaign_members", members), ("dw_link_keys", keys), ("dw_replay_references", replays),
                ("dw_linked_accounts", linked)]
    }

    /// What a shard read: its source (without a password), the table's shape, the account
    /// column and the time window, so that the campaign step reads the same traffic again.
    public struct SourceDescription: Sendable, Hashable {
        public var source: String
        public var mapping: String
        public var accountColumn: String
        public var window: TrafficWindow

        public init(source: String, mapping: String = "v1", accountColumn: String = "", window: TrafficWindow = TrafficWindow()) {
            self.source = source
            self.mapping = mapping
            self.accountColumn = accountColumn
            self.window = window
        }
    }

    /// The `dw_runs` row that makes a shard's rows count, written after all of them.
    public static func runRow(report: ScanReport, writer: Writer, source: SourceDescription) throws -> Data {
        var row = writer.header()
        row["source"] = source.source
        row["mapping"] = source.mapping
        row["account_column"] = source.accountColumn
        row["since_ms"] = source.window.since.map { Int($0.millisecondsSinceEpoch) as Any } ?? NSNull()
        row["until_ms"] = source.window.until.map { Int($0.millisecondsSinceEpoch) as Any } ?? NSNull()
        row["exchanges"] = report.input.exchanges
        row["accounts"] = report.input.accounts
        row["flagged"] = report.accounts.filter { $0.verdict.isFlagged }.count
        row["campaigns"] = report.campaigns.count
        row["first_time_ms"] = report.input.firstTime.map { Int($0.millisecondsSinceEpoch) } ?? 0
        row["last_time_ms"] = report.input.lastTime.map { Int($0.millisecondsSinceEpoch) } ?? 0
        row["finished_ms"] = Int(writer.writtenAt.millisecondsSinceEpoch)
        row["version"] = DistillWatchVersion.current
        return try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]) + Data([0x0A])
    }

    /// The latest finished attempt of each shard of a run (by `finished_ms`, then attempt
    /// id), one JSON object per line.
    public static func latestAttemptsQuery(database: String, run: String) -> String {
        // Aliases unlike the columns: 18.16 reads a column's name as its alias, and an
        // aggregate inside another is refused.
        let fields = ["attempt", "exchanges", "accounts", "first_time_ms", "last_time_ms", "source", "mapping",
                      "account_column", "since_ms", "until_ms"]
        let latest = fields.map { "argMax(\($0), (finished_ms, attempt)) AS latest_\($0)" }.joined(separator: ", ")
        return "SELECT shard AS latest_shard, \(latest) FROM \(database).dw_runs WHERE run_id = \(TrafficTableMapping.literal(run)) "
            + "AND shard != 'campaigns' GROUP BY shard ORDER BY shard FORMAT JSONEachRow"
    }

    /// One shard's finished attempt, as ``latestAttemptsQuery(database:run:)`` lists it.
    public struct FinishedShard: Sendable, Equatable {
        public var shard: String
        public var attempt: String
        public var exchanges: Int
        public var accounts: Int
        public var firstTimeMilliseconds: Int64
        public var lastTimeMilliseconds: Int64
        public var source: SourceDescription

        public init(shard: String, attempt: String, exchanges: Int, accounts: Int, firstTimeMilliseconds: Int64,
                    lastTimeMilliseconds: Int64, source: SourceDescription) {
            self.shard = shard
            self.attempt = attempt
            self.exchanges = exchanges
            self.accounts = accounts
            self.firstTimeMilliseconds = firstTimeMilliseconds
            self.lastTimeMilliseconds = lastTimeMilliseconds
            self.source = source
        }

        /// Parses the query's answer (JSON objects, one per line; 64-bit numbers quoted or not).
        public static func parse(_ text: String) -> [FinishedShard] {
            jsonRows(text).compactMap { row in
                // The query's `latest_` aliases, read without their prefix.
                var o: [String: Any] = [:]
                for (k, v) in row { o[k.hasPrefix("latest_") ? String(k.dropFirst(7)) : k] = v }
                guard let shard = o["shard"] as? String, let attempt = o["attempt"] as? String else { return nil }
                func int(_ k: String) -> Int64? {
                    if let n = o[k] as? NSNumber { return n.int64Value }
                    if let s = o[k] as? String { return Int64(s) }
                    return nil
                }
                let window = TrafficWindow(since: int("since_ms").map(Timestamp.init(millisecondsSinceEpoch:)),
                                           until: int("until_ms").map(Timestamp.init(millisecondsSinceEpoch:)))
                return FinishedShard(
                    shard: shard, attempt: attempt, exchanges: Int(int("exchanges") ?? 0), accounts: Int(int("accounts") ?? 0),
                    firstTimeMilliseconds: int("first_time_ms") ?? 0, lastTimeMilliseconds: int("last_time_ms") ?? 0,
                    source: SourceDescription(source: o["source"] as? String ?? "", mapping: o["mapping"] as? String ?? "v1",
                                              accountColumn: o["account_column"] as? String ?? "", window: window))
            }
        }
    }

    /// The objects of a JSONEachRow answer.
    public static func jsonRows(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Checks that the finished shards are exactly 0/N … (N-1)/N of one N.
    /// - Throws: ``ClickHouseError/unusableTable(_:_:)`` naming the missing or stray shard.
    public static func requireCompleteRun(_ shards: [FinishedShard], run: String) throws(ClickHouseError) -> Int {
        guard let first = shards.first else {
            throw .unusableTable("dw_runs", "run '\(run)' has no finished shard (scan --shard k/N --store URL --run \(run) writes one)")
        }
        guard let n = try? AccountShard(parsing: first.shard).count else {
            throw .unusableTable("dw_runs", "run '\(run)' was not sharded (its shard is '\(first.shard)'): nothing to join")
        }
        var seen = Set<Int>()
        for s in shards {
            guard let parsed = try? AccountShard(parsing: s.shard), parsed.count == n else {
                throw .unusableTable("dw_runs", "run '\(run)' mixes shard counts ('\(first.shard)' and '\(s.shard)')")
            }
            seen.insert(parsed.index)
        }
        let missing = (0..<n).filter { !seen.contains($0) }
        guard missing.isEmpty else {
            throw .unusableTable("dw_runs", "run '\(run)': shard \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) has not finished "
                                 + "(no dw_runs row: it is running, died, or was never started); run it, then this step again")
        }
        return n
    }

    static func attemptFilter(_ shards: [FinishedShard], run: String) -> String {
        let pairs = shards.map { "(\(TrafficTableMapping.literal($0.shard)), \(TrafficTableMapping.literal($0.attempt)))" }
        return "run_id = \(TrafficTableMapping.literal(run)) AND (shard, attempt) IN (\(pairs.joined(separator: ", ")))"
    }

    /// The link-key kinds that make accounts of different shards candidates: those a link
    /// can rest on (the engine joins two groups only when one of these carries enough weight:
    /// `PairEvidence.strongest`). Subnets, sign-up hours, e-mail domains, parameters and
    /// prompts only corroborate, so they do not make candidates.
    public static let candidateKinds: [LinkEvidenceKind] = [.sharedAddress, .sharedPayment, .sharedUserAgent, .sharedClientFingerprint]

    /// The campaign step's candidates, one account per line: the **suspects** (every account
    /// a shard flagged, placed in a campaign, or linked to another account) and their
    /// **neighbours** on other shards: the
    /// accounts that share a key of ``candidateKinds`` with a suspect, when the key is held by
    /// accounts of at least two shards and by at most `maximumKeyAccounts` accounts (a key
    /// held by more is common infrastructure: a carrier NAT, a popular client). Unflagged
    /// accounts that no shard linked to anyone stay out: a campaign the step can assemble has,
    /// on some shard, a flagged member or two linked ones.
    ///
    /// With `linkedSuspects` off, only flagged accounts and campaign members are suspects:
    /// far fewer candidates where shards link many accounts (hydra-2026 at 0.1: see
    /// Documentation/Scaling.md), at the price of missing a small campaign split so that no
    /// shard holds a flagged part.
    public static func candidatesQuery(database: String, run: String, shards: [FinishedShard], maximumKeyAccounts: Int,
                                       linkedSuspects: Bool = true) -> String {
        let filter = attemptFilter(shards, run: run)
        let kinds = candidateKinds.map { TrafficTableMapping.literal($0.rawValue) }.joined(separator: ", ")
        let suspects = "SELECT account_id FROM \(database).dw_verdicts WHERE \(filter) AND verdict != 'allow' "
            + "UNION ALL SELECT account_id FROM \(database).dw_campaign_members WHERE \(filter)"
            + (linkedSuspects ? " UNION ALL SELECT account_id FROM \(database).dw_linked_accounts WHERE \(filter)" : "")
        return """
            SELECT DISTINCT account_id FROM (SELECT account_id FROM (\(suspects)) UNION ALL \
            SELECT account_id FROM \(database).dw_link_keys WHERE \(filter) AND (kind, key) GLOBAL IN (\
            SELECT kind, key FROM \(database).dw_link_keys WHERE \(filter) AND kind IN (\(kinds)) AND account_id GLOBAL IN (\(suspects)) \
            AND (kind, key) GLOBAL IN (SELECT kind, key FROM \(database).dw_link_keys WHERE \(filter) AND kind IN (\(kinds)) \
            GROUP BY kind, key HAVING uniqExact(shard) >= 2 AND uniqExact(account_id) <= \(maximumKeyAccounts)))) \
            ORDER BY account_id FORMAT JSONEachRow
            """
    }

    /// The `reasoning_replay_of` references the shards noted: account, request id.
    public static func replayReferencesQuery(database: String, run: String, shards: [FinishedShard]) -> String {
        "SELECT DISTINCT account_id, request_id FROM \(database).dw_replay_references WHERE \(attemptFilter(shards, run: run)) FORMAT JSONEachRow"
    }

    /// The latest finished attempt of a run's campaign step (shard `campaigns`):
    /// `{"latest_attempt": "…", "latest_count": n}`, the attempt empty when there is none.
    public static func campaignStepAttemptQuery(database: String, run: String) -> String {
        "SELECT argMax(attempt, (finished_ms, attempt)) AS latest_attempt, count() AS latest_count FROM \(database).dw_runs "
            + "WHERE run_id = \(TrafficTableMapping.literal(run)) AND shard = 'campaigns' FORMAT JSONEachRow"
    }

    /// The accounts the campaign step flagged among one live shard's accounts
    /// (`cityHash64(account_id) % N = k`): campaign members, and accounts flagged on evidence
    /// another shard held (a `reasoning_replay` whose originals were there): `account_id`,
    /// `verdict`, `score`, `campaign_id` (empty when none).
    public static func campaignStepVerdictsQuery(database: String, run: String, attempt: String, shard: AccountShard) -> String {
        "SELECT account_id, verdict, score, campaign_id FROM \(database).dw_verdicts WHERE \(campaignStepFilter(run: run, attempt: attempt, shard: shard)) "
            + "AND verdict != 'allow' ORDER BY account_id FORMAT JSONEachRow"
    }

    /// The signal readings behind ``campaignStepVerdictsQuery(database:run:attempt:shard:)``'s
    /// verdicts: `account_id`, `signal`, `value`, `contribution`, `detail`.
    public static func campaignStepReadingsQuery(database: String, run: String, attempt: String, shard: AccountShard) -> String {
        let filter = campaignStepFilter(run: run, attempt: attempt, shard: shard)
        return "SELECT account_id, signal, value, contribution, detail FROM \(database).dw_signal_readings WHERE \(filter) "
            + "AND account_id GLOBAL IN (SELECT account_id FROM \(database).dw_verdicts WHERE \(filter) AND verdict != 'allow') "
            + "ORDER BY account_id, contribution DESC FORMAT JSONEachRow"
    }

    static func campaignStepFilter(run: String, attempt: String, shard: AccountShard) -> String {
        "run_id = \(TrafficTableMapping.literal(run)) AND shard = 'campaigns' AND attempt = \(TrafficTableMapping.literal(attempt))"
            + (shard.count > 1 ? " AND cityHash64(account_id) % \(shard.count) = \(shard.index)" : "")
    }

    /// The campaign step's campaigns: `campaign_id`, `accounts` (members), `evidence` (kinds).
    public static func campaignStepCampaignsQuery(database: String, run: String, attempt: String) -> String {
        "SELECT campaign_id, accounts, evidence FROM \(database).dw_campaigns WHERE run_id = \(TrafficTableMapping.literal(run)) "
            + "AND shard = 'campaigns' AND attempt = \(TrafficTableMapping.literal(attempt)) ORDER BY campaign_id FORMAT JSONEachRow"
    }

    /// Every run's shards with their latest finished attempt's counts, newest run first
    /// (the console's list of runs): `latest_run`, `latest_shard`, `latest_exchanges`,
    /// `latest_accounts`, `latest_flagged`, `latest_campaigns`, `latest_finished_ms`.
    public static func runsQuery(database: String, limit: Int = 1_000) -> String {
        let fields = ["exchanges", "accounts", "flagged", "campaigns"]
        let latest = fields.map { "argMax(\($0), (finished_ms, attempt)) AS latest_\($0)" }.joined(separator: ", ")
        return "SELECT run_id AS latest_run, shard AS latest_shard, \(latest), max(finished_ms) AS latest_finished_ms "
            + "FROM \(database).dw_runs GROUP BY run_id, shard ORDER BY latest_finished_ms DESC LIMIT \(max(1, limit)) FORMAT JSONEachRow"
    }

    /// The flagged accounts of a run as one process would list them, highest score first:
    /// the campaign step's verdicts for the accounts it re-ran (it lists every candidate, allow
    /// too), the shards' for the others; `report_json` per line, at most `limit`.
    /// - Parameter campaignAttempt: the campaign step's latest attempt, `nil` when it has not run.
    public static func mergedFlaggedQuery(database: String, run: String, shards: [FinishedShard], campaignAttempt: String?,
                                          limit: Int) -> String {
        "SELECT report_json FROM \(database).dw_verdicts WHERE \(mergedFlaggedFilter(database: database, run: run, shards: shards, campaignAttempt: campaignAttempt)) "
            + "ORDER BY score DESC, account_id LIMIT \(max(1, limit)) FORMAT TabSeparatedRaw"
    }

    /// How many accounts ``mergedFlaggedQuery(database:run:shards:campaignAttempt:limit:)`` lists
    /// without a limit (one number).
    public static func mergedFlaggedCountQuery(database: String, run: String, shards: [FinishedShard], campaignAttempt: String?) -> String {
        "SELECT count() FROM \(database).dw_verdicts WHERE \(mergedFlaggedFilter(database: database, run: run, shards: shards, campaignAttempt: campaignAttempt)) "
            + "FORMAT TabSeparated"
    }

    static func mergedFlaggedFilter(database: String, run: String, shards: [FinishedShard], campaignAttempt: String?) -> String {
        let shardRows = "\(attemptFilter(shards, run: run)) AND verdict != 'allow'"
        guard let attempt = campaignAttempt else { return shardRows }
        let step = "run_id = \(TrafficTableMapping.literal(run)) AND shard = 'campaigns' AND attempt = \(TrafficTableMapping.literal(attempt))"
        return "(\(step) AND verdict != 'allow') OR (\(shardRows) "
            + "AND account_id GLOBAL NOT IN (SELECT account_id FROM \(database).dw_verdicts WHERE \(step)))"
    }

    /// A run's campaigns (`report_json` per line): the campaign step's when it ran, else the
    /// shards' (one unsharded scan's are the run's).
    public static func runCampaignsQuery(database: String, run: String, shards: [FinishedShard], campaignAttempt: String?) -> String {
        let filter = campaignAttempt.map {
            "run_id = \(TrafficTableMapping.literal(run)) AND shard = 'campaigns' AND attempt = \(TrafficTableMapping.literal($0))"
        } ?? attemptFilter(shards, run: run)
        return "SELECT report_json FROM \(database).dw_campaigns WHERE \(filter) ORDER BY score DESC, campaign_id FORMAT TabSeparatedRaw"
    }

    /// The shards' report entries (`report_json` of `dw_verdicts`), one per line.
    public static func verdictsQuery(database: String, run: String, shards: [FinishedShard]) -> String {
        "SELECT report_json FROM \(database).dw_verdicts WHERE \(attemptFilter(shards, run: run)) ORDER BY account_id FORMAT TabSeparatedRaw"
    }
}
