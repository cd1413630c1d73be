import AsyncHTTPClient
import DistillWatchClickHouse
import DistillWatchCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The campaign step's verdicts for this live shard's accounts: what `distillwatch campaigns`
/// (Documentation/ClickHouse.md, "Sharded detection") found with every shard's accounts
/// together, which this node alone could not: members of campaigns assembled across shards,
/// and accounts flagged on evidence another shard held (a `reasoning_replay` whose originals
/// were there). ``LiveEngine/decide(_:key:)`` raises an account's answer to that verdict when
/// it is stricter, with the step's readings as reasons and its campaign named
/// `RUN:campaign-N`, so a member on shard 2 of a campaign found across shards is flagged by
/// shard 2's node.
///
/// Never lowered by it: the node's own verdict stands when stricter. Not applied to an
/// allowlisted account or one an analyst labelled (the label decides).
/// - Complexity: one hash lookup per decision while the set is non-empty; none otherwise.
final class CampaignStepVerdicts: Sendable {
    struct Member: Sendable, Equatable {
        var verdict: Verdict
        var score: Double
        var campaign: CampaignMembership?
        /// The step's signal readings for the account, strongest first.
        var reasons: [SignalReading] = []
    }

    private let members = Mutex<[String: Member]>([:])
    private let populated = Atomic<Bool>(false)

    var count: Int { members.withLock { $0.count } }

    /// Replaces the whole set (the campaign step's latest run replaces the one before).
    func replace(with new: [String: Member]) {
        members.withLock { $0 = new }
        populated.store(!new.isEmpty, ordering: .releasing)
    }

    func member(_ accountID: String) -> Member? {
        guard populated.load(ordering: .acquiring) else { return nil }
        return members.withLock { $0[accountID] }
    }

    /// `live` raised to the account's campaign-step verdict, when that is stricter.
    func raise(_ live: LiveDecision, accountID: String) -> LiveDecision {
        guard let m = member(accountID), m.verdict > live.decision.verdict, !live.decision.allowlisted, live.label == nil else {
            return live
        }
        var raised = live
        raised.decision.verdict = m.verdict
        raised.decision.score = max(live.decision.score, m.score)
        raised.campaign = m.campaign ?? live.campaign
        if !m.reasons.isEmpty { raised.reasons = m.reasons }
        return raised
    }
}

/// Reads the campaign step's verdicts for this shard from ClickHouse every
/// `shard.campaigns.interval_seconds` into ``CampaignStepVerdicts``. A failed read is logged
/// and counted (`distillwatch_shard_campaign_feed_total{result="failed"}`), and the
/// verdicts read before stay in force until a read succeeds.
struct CampaignStepFeedService: Service {
    let feed: ShardSettings.CampaignFeed
    let shard: AccountShard
    let verdicts: CampaignStepVerdicts
    let metrics: ShardMetrics
    let logger: Logger
    let environment: [String: String]

    /// The wait after a failed read, at most: not the whole interval (a ClickHouse still
    /// starting up when the node does).
    static let retryAfterFailureSeconds = 15.0

    func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            var wait = feed.intervalSeconds
            do {
                let loaded = try await load()
                verdicts.replace(with: loaded)
                metrics.campaignVerdicts.record(loaded.count)
                metrics.campaignFeedLoaded.increment()
                logger.info("shard campaigns: \(loaded.count) account(s) of this shard flagged by run \(feed.run)'s campaign step")
            } catch {
                metrics.campaignFeedFailed.increment()
                let message = "shard campaigns: cannot read run \(feed.run)'s campaign step (\(error)); "
                    + "keeping the \(verdicts.count) verdict(s) read before; next try in \(min(feed.intervalSeconds, Self.retryAfterFailureSeconds)) s"
                logger.warning("\(message)")
                wait = min(wait, Self.retryAfterFailureSeconds)
            }
            let pause = wait
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(pause * 1000))) }
        }
    }

    /// The members of this shard, by account.
    /// - Throws: ``ClickHouseError`` for a bad URL, an unreachable server or a query error.
    func load() async throws(ClickHouseError) -> [String: CampaignStepVerdicts.Member] {
        let endpoint = try ClickHouseEndpoint(parsing: feed.store, environment: environment, forbidTable: true)
        let client = ClickHouseClient(endpoint: endpoint, queryTimeout: .seconds(30))
        defer { Task { await client.shutdown() } }
        let db = endpoint.database
        let head = ClickHouseResultStore.jsonRows(
            try await client.query(ClickHouseResultStore.campaignStepAttemptQuery(database: db, run: feed.run))).first ?? [:]
        guard let attempt = head["latest_attempt"] as? String, !attempt.isEmpty else { return [:] }
        var campaigns: [String: (accounts: Int, strongest: CampaignSignalKind?)] = [:]
        for row in ClickHouseResultStore.jsonRows(try await client.query(
            ClickHouseResultStore.campaignStepCampaignsQuery(database: db, run: feed.run, attempt: attempt))) {
            guard let id = row["campaign_id"] as? String else { continue }
            let accounts = (row["accounts"] as? NSNumber)?.intValue ?? (row["accounts"] as? String).flatMap { Int($0) } ?? 0
            let strongest = (row["evidence"] as? [String])?.lazy.compactMap(CampaignSignalKind.init(rawValue:)).first
            campaigns[id] = (accounts, strongest)
        }
        var readings: [String: [SignalReading]] = [:]
        for row in ClickHouseResultStore.jsonRows(try await client.query(
            ClickHouseResultStore.campaignStepReadingsQuery(database: db, run: feed.run, attempt: attempt, shard: shard))) {
            // campaign_membership is said by the campaign itself.
            guard let account = row["account_id"] as? String, let name = row["signal"] as? String,
                  let kind = SignalKind(rawValue: name) else { continue }
            let detail = (row["detail"] as? String ?? "") + " (run \(feed.run), campaign step across shards)"
            readings[account, default: []].append(SignalReading(
                kind: kind, value: (row["value"] as? NSNumber)?.doubleValue ?? 0,
                contribution: (row["contribution"] as? NSNumber)?.doubleValue ?? 0, detail: detail))
        }
        var members: [String: CampaignStepVerdicts.Member] = [:]
        for row in ClickHouseResultStore.jsonRows(try await client.query(
            ClickHouseResultStore.campaignStepVerdictsQuery(database: db, run: feed.run, attempt: attempt, shard: shard))) {
            guard let account = row["account_id"] as? String, let name = row["verdict"] as? String,
                  let verdict = Verdict(rawValue: name) else { continue }
            let score = (row["score"] as? NSNumber)?.doubleValue ?? 0
            let id = row["campaign_id"] as? String ?? ""
            let campaign = id.isEmpty ? nil : campaigns[id]
            members[account] = CampaignStepVerdicts.Member(
                verdict: verdict, score: score,
                campaign: id.isEmpty ? nil : CampaignMembership(campaignID: "\(feed.run):\(id)", verdict: verdict, score: score,
                                                                accounts: campaign?.accounts ?? 0, strongest: campaign?.strongest),
                reasons: readings[account] ?? [])
        }
        return members
    }
}
