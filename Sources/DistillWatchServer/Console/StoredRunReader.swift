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
        let decoder = JSONDecoder()
        let campaigns = try await client.query(
            ClickHouseResultStore.runCampaignsQuery(database: db, run: id, shards: shards, campaignAttempt: attempt))
            .split(separator: "\n").compactMap { try? decoder.decode(ScanReport.Campaign.self, from: Data($0.utf8)) }
        // One more than listed: whether there are more.
        let accounts = try await client.query(ClickHouseResultStore.mergedFlaggedQuery(
            database: db, run: id, shards: shards, campaignAttempt: attempt, limit: Self.accountsListed + 1))
            .split(separator: "\n").compactMap { try? decoder.decode(ScanReport.Account.self, from: Data($0.utf8)) }
        var flaggedCount = accounts.count
        if accounts.count > Self.accountsListed {
            let counted = try await client.query(ClickHouseResultStore.mergedFlaggedCountQuery(
                database: db, run: id, shards: shards, campaignAttempt: attempt))
            flaggedCount = Int(counted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? accounts.count
        }
        let source = shards.first.map { s in
            "\(s.source.source) (\(s.source.mapping)" + (s.source.accountColumn.isEmpty ? "" : ", account \(s.source.accountColumn)") + ")"
        } ?? "files"
        return StoredRunReport(run: run, source: source, campaigns: campaigns, accounts: Array(accounts.prefix(Self.accountsListed)),
                               flaggedCount: flaggedCount)
    }

    /// `all`, then `k/N` by k.
    static func shardOrder(_ a: String, _ b: String) -> Bool {
        let x = (try? AccountShard(parsing: a))?.index ?? -1, y = (try? AccountShard(parsing: b))?.index ?? -1
        return x != y ? x < y : a < b
    }
}
