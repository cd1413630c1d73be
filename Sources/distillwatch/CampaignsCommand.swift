import ArgumentParser
import DistillWatchClickHouse
import DistillWatchConsole
import DistillWatchCore
import DistillWatchIngest
import Foundation

/// The campaign step of a sharded scan: joins what each shard saw into campaigns that
/// span shards, and writes the verdicts that follow back to ClickHouse.
struct CampaignsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns",
        abstract: "Assemble campaigns across the shards of a sharded scan, from their link keys in ClickHouse.",
        discussion: """
            After every `scan --shard k/N --store URL --run ID` of a run has finished: picks the candidates (accounts \
            a shard flagged or grouped, and accounts sharing a link key with an account of another shard, the key held \
            by at most --max-key-accounts accounts), runs the engine over the candidates' traffic together (read again \
            from the source), and writes the result as shard 'campaigns' of the run: its verdicts override the shards' \
            for the candidates. --json writes the merged report of the whole run. Documentation/ClickHouse.md says \
            where the result can differ from one unsharded scan, and by how much it did.
            """)

    @Option(name: .long, help: ArgumentHelp("DistillWatch's tables: clickhouse://HOST:PORT/DATABASE.", valueName: "url"))
    var store: String

    @Option(name: .customLong("run"), help: "The run's id (as given to the shards' --run).")
    var runID: String

    @Option(name: .long, help: ArgumentHelp("The traffic table (default: the one the shards read).", valueName: "url"))
    var source: String?

    @Option(name: .long, help: ArgumentHelp("The traffic table's shape, v1, helicone or otel-traces (default: the shards').", valueName: "shape"))
    var clickhouseMapping: TrafficTableShape?

    @Option(name: .long, help: ArgumentHelp("The column naming the account (default: the shards').", valueName: "column"))
    var clickhouseAccountColumn: String?

    @Option(name: .long, help: "Account records file, as given to the shards. Repeatable.")
    var accounts: [String] = []

    @Option(name: .long, help: "YAML policy, as given to the shards.")
    var policy: String?

    @Option(name: .long, help: "A link key held by more accounts than this does not make its holders candidates.")
    var maxKeyAccounts = 1_000

    @Flag(name: .long, inversion: .prefixedNo, help: "Count accounts a shard linked to another (not only flagged ones and campaign members) as suspects: catches a small campaign split over shards, at the cost of more candidates.")
    var linkedSuspects = true

    @OptionGroup var content: ContentOptions

    @Option(name: .long, help: ArgumentHelp("Write the merged report of the whole run (JSON) to this file, or - for standard output.", valueName: "path|-"))
    var json: String?

    @Option(name: .long, help: ArgumentHelp("Write the analyst console's report of the whole run (one self-contained HTML file: overview, every campaign with its timeline and evidence graph, flagged accounts) to this file.", valueName: "path"))
    var html: String?

    @Flag(name: .long, help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        guard maxKeyAccounts >= 2 else { throw ValidationError("--max-key-accounts must be at least 2") }
        guard !runID.isEmpty else { throw ValidationError("--run must not be empty") }
        if let html, html == "-" || html.isEmpty { throw ValidationError("--html takes a file path (the report is one HTML file)") }
        try UserFile.refuseStandardInputTwice(accounts.map { ("account records file", $0) } + [("policy file", policy)])
    }

    func run() throws {
        try UserFile.refuseClashes(
            outputs: [("--json", json), ("--html", html)],
            inputs: accounts.map { ("account records file", $0) } + content.inputFiles + [("policy file", policy)])
        let policy = try loadPolicy(self.policy)
        let sketcher = try content.sketcher()
        let environment = ProcessInfo.processInfo.environment
        let storeEndpoint: ClickHouseEndpoint
        do { storeEndpoint = try ClickHouseEndpoint(parsing: store, environment: environment, forbidTable: true) } catch {
            throw ScanFailure("--store: \(error)")
        }
        let database = storeEndpoint.database
        let client = ClickHouseClient(endpoint: storeEndpoint)
        defer { runBlockingQuietly { await client.shutdown() } }
        let maximum = maxKeyAccounts
        let linked = linkedSuspects
        // 1. The shards' finished attempts, the source, the candidates and the shards' verdicts.
        let (shards, keyCandidates, verdictLines): ([ClickHouseResultStore.FinishedShard], [String], [String])
        do {
            (shards, keyCandidates, verdictLines) = try runBlocking {
                let shards = ClickHouseResultStore.FinishedShard.parse(
                    try await client.query(ClickHouseResultStore.latestAttemptsQuery(database: database, run: runID)))
                _ = try ClickHouseResultStore.requireCompleteRun(shards, run: runID)
                let candidates = ClickHouseResultStore.jsonRows(try await client.query(
                    ClickHouseResultStore.candidatesQuery(database: database, run: runID, shards: shards, maximumKeyAccounts: maximum,
                                                          linkedSuspects: linked),
                    settings: ["max_query_size": "1048576"])).compactMap { $0["account_id"] as? String }
                let verdicts = try await client.query(ClickHouseResultStore.verdictsQuery(database: database, run: runID, shards: shards))
                    .split(separator: "\n").map(String.init)
                return (shards, candidates, verdicts)
            }
        } catch {
            throw ScanFailure("\(error)")
        }
        // What the shards read: one source, shape, account column and window for all of them.
        guard Set(shards.map(\.source)).count == 1 || source != nil else {
            throw ScanFailure("run '\(runID)': the shards read different sources, shapes or windows "
                              + "(\(shards.map { "\($0.shard): \($0.source.source) \($0.source.mapping)" }.joined(separator: "; "))); give --source")
        }
        let shardsRead = shards[0].source
        let mapping = clickhouseMapping ?? TrafficTableShape(rawValue: shardsRead.mapping) ?? .v1
        let accountColumn = clickhouseAccountColumn ?? (shardsRead.accountColumn.isEmpty ? nil : shardsRead.accountColumn)
        let sourceURL = source ?? shardsRead.source
        let sourceEndpoint: ClickHouseEndpoint
        do { sourceEndpoint = try ClickHouseEndpoint(parsing: sourceURL, environment: environment, requireTable: true) } catch {
            throw ScanFailure("the shards' source is not a ClickHouse table (\(error)); the campaign step reads the traffic again: give --source")
        }
        // Replayed reasoning whose original request is on another shard: both accounts join.
        let crossReplays = try crossShardReplays(store: client, database: database, shards: shards, source: sourceEndpoint,
                                                 shape: mapping, accountColumn: accountColumn)
        let candidates = Array(Set(keyCandidates).union(crossReplays)).sorted()
        // 2. The engine over the candidates' traffic, together.
        var joined: ScanOutcome?
        if !candidates.isEmpty {
            let (stream, plan) = try ClickHouseTrafficStream.open(
                endpoint: sourceEndpoint, shape: mapping, content: sketcher != nil, window: shardsRead.window,
                shard: .whole, accountColumn: accountColumn, accounts: candidates)
            var options = IngestOptions(sketcher: sketcher, inputFormat: plan.inputFormat)
            options.integerBooleans = plan.integerBooleans
            if mapping == .otelTraces, let names = accountColumn {
                options.gateways.otlpAccountAttributes = names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            joined = try stream.read { source in
                // Every candidate is listed (allow too), so that the step's rows say which accounts it
                // re-ran: a reader of the tables takes those from the step and the rest from the shards.
                try runScan(traffic: [source], accounts: accounts.map(InputSource.init(argument:)), policy: policy,
                            options: options, includeAllAccounts: true, showProgress: false, collectActivity: html != nil,
                            onlyAccounts: Set(candidates))
            }
        }
        // 3. The merged run: candidates as the joined engine sees them, everyone else as their shard did.
        let decoder = JSONDecoder()
        let candidateSet = Set(candidates)
        var merged: [ScanReport.Account] = (joined?.report.accounts ?? []).filter { $0.verdict != .allow }
        for line in verdictLines where !line.isEmpty {
            guard let account = try? decoder.decode(ScanReport.Account.self, from: Data(line.utf8)) else {
                throw ScanFailure("\(storeEndpoint): a dw_verdicts row of run '\(runID)' holds report_json that is not a report entry")
            }
            if !candidateSet.contains(account.accountID) { merged.append(account) }
        }
        merged.sort { $0.score != $1.score ? $0.score > $1.score : $0.accountID < $1.accountID }
        let generatedAt = Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)
        var report = joined?.report ?? ScanReport(engine: DetectionEngine(policy: policy), generatedAt: generatedAt, includeAllAccounts: false)
        let joinedReport = report
        report.generatedAt = generatedAt
        report.accounts = merged
        report.input.exchanges = shards.reduce(0) { $0 + $1.exchanges }
        report.input.accounts = shards.reduce(0) { $0 + $1.accounts }
        let firsts = shards.map(\.firstTimeMilliseconds).filter { $0 > 0 }
        report.input.firstTime = firsts.min().map(Timestamp.init(millisecondsSinceEpoch:))
        report.input.lastTime = shards.map(\.lastTimeMilliseconds).max().map(Timestamp.init(millisecondsSinceEpoch:))
        // 4. Written back as shard 'campaigns': the joined engine's verdicts and campaigns.
        if let joined {
            var outcome = joined
            outcome.report = joinedReport
            _ = try writeScanResults(outcome, store: store, run: runID, shard: "campaigns",
                                     source: .init(source: sourceEndpoint.description, mapping: mapping.rawValue,
                                                   accountColumn: accountColumn ?? "", window: shardsRead.window),
                                     observations: [])
        }
        if let json { try writeReport(report, to: json) }
        if let html {
            // Campaigns, timelines and evidence from the candidates' engine (every account a
            // shard flagged is a candidate); verdict counts and the accounts from the merged run.
            var outcome = joined ?? ScanOutcome(report: report, statistics: IngestStatistics(), engine: DetectionEngine(policy: policy))
            outcome.report = report
            try writeHTMLReport(outcome, to: html, title: "DistillWatch run \(runID)", intro: """
                Sharded run \(runID) read from \(storeEndpoint): \(shards.count) shards, \(ConsoleFormat.number(report.input.exchanges)) \
                exchanges from \(ConsoleFormat.number(report.input.accounts)) accounts, \(ConsoleFormat.time(report.input.firstTime)) to \
                \(ConsoleFormat.time(report.input.lastTime)); campaigns assembled across shards from \(ConsoleFormat.number(candidates.count)) \
                candidates; DistillWatch \(DistillWatchVersion.current).
                """, verdictCounts: Self.verdictCounts(report))
        }
        if !quiet {
            let flagged = report.accounts.filter { $0.verdict.isFlagged }.count
            let spanning = report.campaigns.count
            var out = StandardError()
            Swift.print("run \(runID): \(shards.count) shards, \(report.input.exchanges) exchanges from \(report.input.accounts) accounts; "
                        + "\(candidates.count) candidates joined (\(joined?.report.input.exchanges ?? 0) exchanges read again); "
                        + "\(flagged) accounts flagged, \(spanning) campaigns", to: &out)
        }
    }

    /// Accounts by verdict in a merged run (which lists flagged accounts only): the rest allow.
    static func verdictCounts(_ report: ScanReport) -> [Verdict: Int] {
        var counts: [Verdict: Int] = [:]
        for a in report.accounts { counts[a.verdict, default: 0] += 1 }
        counts[.allow] = max(0, report.input.accounts - report.accounts.filter { $0.verdict != .allow }.count)
        return counts
    }

    /// The accounts on either side of a `reasoning_replay_of` reference that crosses shards:
    /// the shards' references, their requests' owners looked up in the source.
    func crossShardReplays(store client: ClickHouseClient, database: String, shards: [ClickHouseResultStore.FinishedShard],
                           source: ClickHouseEndpoint, shape: TrafficTableShape, accountColumn: String?) throws -> Set<String> {
        let runID = self.runID
        guard let n = try? ClickHouseResultStore.requireCompleteRun(shards, run: runID) else { return [] }
        do {
            return try runBlocking {
                let references = ClickHouseResultStore.jsonRows(try await client.query(
                    ClickHouseResultStore.replayReferencesQuery(database: database, run: runID, shards: shards)))
                    .compactMap { o -> (String, String)? in
                        guard let a = o["account_id"] as? String, let r = o["request_id"] as? String else { return nil }
                        return (a, r)
                    }
                guard !references.isEmpty else { return [] }
                let reader = ClickHouseClient(endpoint: source)
                do {
                    let owners = try await Self.owners(reader, source: source, shape: shape, accountColumn: accountColumn,
                                                       requestIDs: Array(Set(references.map(\.1))).sorted())
                    await reader.shutdown()
                    var out = Set<String>()
                    for (account, request) in references {
                        guard let o = owners[request], o != account,
                              AccountShard.index(of: o, among: n) != AccountShard.index(of: account, among: n) else { continue }
                        out.insert(account)
                        out.insert(o)
                    }
                    return out
                } catch {
                    await reader.shutdown()
                    throw error
                }
            }
        } catch {
            throw ScanFailure("\(error)")
        }
    }

    /// Who sent each request: request id to account.
    static func owners(_ reader: ClickHouseClient, source: ClickHouseEndpoint, shape: TrafficTableShape, accountColumn: String?,
                       requestIDs: [String]) async throws -> [String: String] {
                let columns = try await reader.describe(source.qualifiedTable)
                guard let sql = TrafficTableMapping.ownersQuery(
                    shape: shape, table: source.qualifiedTable, columns: columns, accountColumn: accountColumn,
                    requestIDs: requestIDs) else { return [:] }
                var owner: [String: String] = [:]
                for o in ClickHouseResultStore.jsonRows(try await reader.query(sql, settings: ["max_query_size": String(sql.utf8.count + 65_536)])) {
                    if let a = o["dw_account"] as? String, let r = o["dw_request"] as? String { owner[r] = a }
                }
                return owner
    }
}
