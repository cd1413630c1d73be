import DistillWatchClickHouse
import DistillWatchConsole
import DistillWatchCore
import Foundation

/// Reads the runs DistillWatch stored in ClickHouse for the console's Runs pages
/// (`console_clickhouse: clickhouse://HOST:PORT/DB`): the list of runs from `dw_runs`, and a
/// run's campaigns and flagged accounts from `dw_campaigns` and `dw_verdicts`, merged as one
/// process would report them (``ClickHouseResultStore/mergedFlaggedQuery(database:run:shards:campaignAttempt:limit:)``).
/// One client per page view (analysts' pages are few); every query is bounded.
struct StoredRunReader: Sendable {
    let endpoint: ClickHouseEndpoint
    /// Flagged accounts listed on a run's page at most.
    static let accountsListed = 500

    /// - Throws: ``ClickHouseError`` (unreachable, a server error such as a missing table).
    func runs() async throws(ClickHouseError) -> [StoredRun] {
        let client = ClickHouseClient(endpoint: endpoint, queryTimeout: .seconds(30), connectTimeout: .seconds(5))
        defer { Task { await client.shutdown() } }
        let rows = ClickHouseResultStore.jsonRows(try await client.query(ClickHouseResultStore.runsQuery(database: endpoint.database)))
        var byRun: [String: StoredRun] = [:]
        var order: [String] = []
        for row in rows {
            guard let id = row["latest_run"] as? String, let shard = row["latest_shard"] as? String else { continue }
            func int(_ k: String) -> Int { (row[k] as? NSNumber)?.intValue ?? (row[k] as? String).flatMap { Int($0) } ?? 0 }
            if byRun[id] == nil {
                order.append(id)
                byRun[id] = StoredRun(id: id, shards: [], campaignStep: false, exchanges: 0, accounts: 0, flaggedByShards: 0,
                                      campaigns: 0, finished: nil)
            }
            let finished = Timestamp(millisecondsSinceEpoch: Int64(int("latest_finished_ms")))
            var run = byRun[id]!
            if shard == "campaigns" {
                run.campaignStep = true
                run.campaigns = int("latest_campaigns")
            } else {
                run.shards.append(shard)
                run.exchanges += int("latest_exchanges")
                run.accounts += int("latest_accounts")
                run.flaggedByShards += int("latest_flagged")
                if !run.campaignStep { run.campaigns += int("latest_campaigns") }
            }
            run.finished = max(run.finished ?? finished, finished)
            byRun[id] = run
        }
        return order.compactMap { id in
            byRun[id].map { var r = $0; r.shards.sort(by: Self.shardOrder); return r }
        }
    }

    /// The run's page, or `nil` when no shard of it finished.
    func report(run id: String) async throws(ClickHouseError) -> StoredRunReport? {
        guard let run = try await runs().first(where: { $0.id == id }) else { return nil }
        let client = ClickHouseClient(endpoint: endpoint, queryTimeout: .seconds(60), connectTimeout: .seconds(5))
        defer { Task { await client.shutdown() } }
        let db = endpoint.database
        let shards = ClickHouseResultStore.FinishedShard.parse(
            try await client.query(ClickHouseResultStore.latestAttemptsQuery(database: db, run: id)))
        let head = ClickHouseResultStore.jsonRows(
            try await client.query(ClickHouseResultStore.campaignStepAttemptQuery(database: db, run: id))).first ?? [:]
        let attempt = (head["latest_attempt"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let campaigns = try Self.entries(try await client.query(
            ClickHouseResultStore.runCampaignsQuery(database: db, run: id, shards: shards, campaignAttempt: attempt)),
            ScanReport.Campaign.self, table: "\(db).dw_campaigns", run: id)
        // One more than listed: whether there are more.
        let accounts = try Self.entries(try await client.query(ClickHouseResultStore.mergedFlaggedQuery(
            database: db, run: id, shards: shards, campaignAttempt: attempt, limit: Self.accountsListed + 1)),
            ScanReport.Account.self, table: "\(db).dw_verdicts", run: id)
        var flaggedCount = accounts.count
        if accounts.count > Self.accountsListed {
            let counted = try await client.query(ClickHouseResultStore.mergedFlaggedCountQuery(
                database: db, run: id, shards: shards, campaignAttempt: attempt))
            guard let n = Int(counted.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw .unusableTable("\(db).dw_verdicts", "the count of run '\(id)''s flagged accounts is not a number: \(counted.prefix(80))")
            }
            flaggedCount = n
        }
        let source = shards.first.map { s in
            "\(s.source.source) (\(s.source.mapping)" + (s.source.accountColumn.isEmpty ? "" : ", account \(s.source.accountColumn)") + ")"
        } ?? "files"
        return StoredRunReport(run: run, source: source, campaigns: campaigns, accounts: Array(accounts.prefix(Self.accountsListed)),
                               flaggedCount: flaggedCount)
    }

    /// The report entries of a query's JSON lines. A row that is not one (damaged, or written
    /// by a newer scan) is an error naming the table, the row and the run, as `distillwatch
    /// campaigns` says; dropped, the run's page listed fewer campaigns and accounts than the
    /// run has, without a word.
    /// - Throws: ``ClickHouseError/unusableTable(_:_:)``.
    static func entries<T: Decodable>(_ text: String, _ type: T.Type, table: String, run: String) throws(ClickHouseError) -> [T] {
        let decoder = JSONDecoder()
        var out: [T] = []
        for (k, line) in text.split(separator: "\n").enumerated() {
            do { out.append(try decoder.decode(T.self, from: Data(line.utf8))) } catch {
                throw .unusableTable(table, "row \(k + 1) of run '\(run)' holds report_json that is not a report entry (\(error))")
            }
        }
        return out
    }

    /// `all`, then `k/N` by k.
    static func shardOrder(_ a: String, _ b: String) -> Bool {
        let x = (try? AccountShard(parsing: a))?.index ?? -1, y = (try? AccountShard(parsing: b))?.index ?? -1
        return x != y ? x < y : a < b
    }
}
