import ArgumentParser
import DistillWatchClickHouse
import DistillWatchCore
import DistillWatchIngest
import Foundation

struct ClickHouseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clickhouse",
        abstract: "Create DistillWatch's tables in ClickHouse (verdicts, signal readings, campaigns, link keys, runs).",
        discussion: "Documentation/ClickHouse.md lists the tables and the queries analysts run on them.",
        subcommands: [ClickHouseInitCommand.self, ClickHouseLoadCommand.self])
}

struct ClickHouseInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create DistillWatch's tables (and optionally a v1 traffic table) on one or more ClickHouse servers.",
        discussion: """
            Each URL is clickhouse://HOST:PORT/DATABASE. With --cluster, every server gets MergeTree tables named \
            …_local and Distributed tables over the cluster (its remote_servers entry), sharded by cityHash64(account_id); \
            give every server of the cluster (the statements run on each, no ZooKeeper needed). Idempotent: \
            existing tables are kept.
            """)

    @Argument(help: "The servers' URLs: clickhouse://HOST:PORT/DATABASE.")
    var servers: [String]

    @Option(name: .long, help: "The cluster (remote_servers entry) to create Distributed tables over.")
    var cluster: String?

    @Option(name: .long, help: ArgumentHelp("Also create a traffic table in the v1 shape with this name (for loading traffic).", valueName: "table"))
    var trafficTable: String?

    @Flag(name: .long, help: "Print the statements instead of running them.")
    var print = false

    func validate() throws {
        guard !servers.isEmpty else { throw ValidationError("give at least one server URL") }
        if let cluster, !ClickHouseEndpoint.isIdentifier(cluster) { throw ValidationError("--cluster '\(cluster)' is not a plain identifier") }
        if let trafficTable, !ClickHouseEndpoint.isIdentifier(trafficTable) {
            throw ValidationError("--traffic-table '\(trafficTable)' is not a plain identifier")
        }
        if let trafficTable, trafficTable.hasPrefix("dw_") {
            throw ValidationError("--traffic-table '\(trafficTable)': names starting with dw_ are DistillWatch's result tables")
        }
        for s in servers { _ = try endpoint(s) }
    }

    func endpoint(_ text: String) throws -> ClickHouseEndpoint {
        do {
            let e = try ClickHouseEndpoint(parsing: text, environment: ProcessInfo.processInfo.environment)
            guard e.table == nil else { throw ValidationError("\(text): give the database only (clickhouse://HOST:PORT/DATABASE)") }
            return e
        } catch let error as ClickHouseError {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        for server in servers {
            let e = try endpoint(server)
            var statements = ClickHouseResultStore.createStatements(database: e.database, cluster: cluster)
            if let trafficTable {
                statements += ClickHouseResultStore.trafficTableStatements(database: e.database, table: trafficTable, cluster: cluster).dropFirst()
            }
            if print {
                Swift.print(statements.map { $0 + ";" }.joined(separator: "\n"))
                continue
            }
            // CREATE DATABASE runs against `default`: the database may not exist yet.
            var bootstrap = e
            bootstrap.database = "default"
            let client = ClickHouseClient(endpoint: bootstrap)
            defer { runBlockingQuietly { await client.shutdown() } }
            let all = statements
            do {
                try runBlocking { () async throws in
                    for s in all { try await client.execute(s) }
                }
            } catch {
                throw ScanFailure("\(error)")
            }
            Swift.print("\(e): \(statements.count) statements run; DistillWatch's tables are there (created now, or kept as they were)")
        }
    }
}

/// Writes a scan's results to DistillWatch's tables: the rows, then the `dw_runs` row that
/// makes them count. Returns the store's description.
func writeScanResults(_ outcome: ScanOutcome, store: String, run: String, shard: String,
                      source: ClickHouseResultStore.SourceDescription,
                      observations: [LinkKeyLedger.Observation]? = nil) throws -> String {
    let endpoint: ClickHouseEndpoint
    do { endpoint = try ClickHouseEndpoint(parsing: store, environment: ProcessInfo.processInfo.environment, forbidTable: true) } catch {
        throw ScanFailure("--store: \(error)")
    }
    let writer = ClickHouseResultStore.Writer(
        run: run, shard: shard, attempt: UUID().uuidString.lowercased(),
        writtenAt: Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970))
    let keys = observations ?? outcome.linkKeys?.observations(engine: outcome.engine) ?? []
    let rows = try ClickHouseResultStore.rows(report: outcome.report, observations: keys,
                                              replayReferences: outcome.linkKeys?.replayReferences ?? [],
                                              linkedAccounts: outcome.linkKeys == nil ? [] : outcome.engine.linkedAccounts(),
                                              writer: writer, source: source.source)
    let runRow = try ClickHouseResultStore.runRow(report: outcome.report, writer: writer, source: source)
    let client = ClickHouseClient(endpoint: endpoint)
    defer { runBlockingQuietly { await client.shutdown() } }
    let database = endpoint.database
    do {
        try runBlocking { () async throws in
            for (table, lines) in rows {
                // In chunks of about 16 MB: one request per chunk.
                var start = lines.startIndex
                while start < lines.endIndex {
                    var end = min(lines.endIndex, start + 16 << 20)
                    if end < lines.endIndex, let newline = lines[end...].firstIndex(of: 0x0A) { end = newline + 1 }
                    try await client.insert(into: "\(database).\(table)", jsonLines: lines.subdata(in: start..<end))
                    start = end
                }
            }
            try await client.insert(into: "\(database).dw_runs", jsonLines: runRow)
        }
    } catch {
        throw ScanFailure("\(error) (nothing of this attempt counts until its dw_runs row is written; run the scan again)")
    }
    return endpoint.description
}

struct ClickHouseLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load traffic files (any format scan reads) into a ClickHouse table in the v1 shape.",
        discussion: """
            Decodes each file as scan does (malformed lines are counted and skipped, or stop the load with --strict) \
            and inserts the exchanges in batches (times as epoch milliseconds). Create the table with \
            `distillwatch clickhouse init --traffic-table NAME`; with a Distributed table, rows spread over the shards by \
            cityHash64(account_id).
            """)

    @Argument(help: "The table: clickhouse://HOST:PORT/DATABASE.TABLE.")
    var table: String

    @Argument(help: "Traffic files (.jsonl or .jsonl.gz), or - for standard input.")
    var traffic: [String]

    @Option(name: .long, help: "Rows per INSERT.")
    var batch = 50_000

    @Flag(name: .long, help: "Stop at the first malformed line.")
    var strict = false

    func validate() throws {
        guard !traffic.isEmpty else { throw ValidationError("give at least one traffic file, or - for standard input") }
        guard traffic.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input (-) can be read only once") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        do { _ = try ClickHouseEndpoint(parsing: table, environment: ProcessInfo.processInfo.environment, requireTable: true) } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        try UserFile.refuseRepeats(traffic, what: "traffic file",
                                   consequence: "every exchange in it would be inserted twice, and later scans of the table would count them twice")
        let endpoint = try ClickHouseEndpoint(parsing: table, environment: ProcessInfo.processInfo.environment, requireTable: true)
        let client = ClickHouseClient(endpoint: endpoint)
        defer { runBlockingQuietly { await client.shutdown() } }
        // The table must be a traffic table: a row without its time or account is lost.
        let qualified = endpoint.qualifiedTable
        let columns: [ClickHouseColumn]
        do {
            columns = try runBlocking { try await client.describe(qualified) }
        } catch {
            throw ScanFailure("\(error)")
        }
        let names = Set(columns.map(\.name))
        guard names.contains("time"), names.contains("account_id"), !(endpoint.table ?? "").hasPrefix("dw_") else {
            throw ScanFailure("\(qualified): is not a traffic table in the v1 shape (it needs columns time and account_id; "
                              + "`distillwatch clickhouse init URL --traffic-table NAME` creates one)")
        }
        let dropped = TrafficTableMapping.v1Fields.filter { !names.contains($0) }
        if !dropped.isEmpty {
            var err = StandardError()
            Swift.print("note: \(qualified) has no column for \(dropped.joined(separator: ", ")): those fields are not loaded", to: &err)
        }
        var statistics = IngestStatistics()
        var buffer: [UInt8] = []
        var pending = 0, loaded = 0
        let target = endpoint.qualifiedTable
        func flush() throws {
            guard pending > 0 else { return }
            let rows = Data(buffer)
            do {
                try runBlocking { try await client.insert(into: target, jsonLines: rows) }
            } catch {
                throw ScanFailure("\(error) (\(loaded) exchanges were loaded before this batch)")
            }
            loaded += pending
            pending = 0
            buffer.removeAll(keepingCapacity: true)
        }
        do {
            for argument in traffic {
                let source = InputSource(argument: argument)
                var options = IngestOptions(strict: strict, captureText: true)
                options.inputFormat = try InputFormatRecognition.recognise(source).format
                var failure: (any Error)?
                try TrafficIngest.readTraffic(from: source, options: options, statistics: &statistics) { e in
                    guard failure == nil else { return }
                    JSONLineEncoder.append(e, to: &buffer, timeEncoding: .epochMilliseconds)
                    pending += 1
                    if pending >= batch {
                        do { try flush() } catch { failure = error }
                    }
                }
                if let failure { throw failure }
            }
            try flush()
        } catch let error as MalformedLine {
            throw ScanFailure("\(error) (stopped: --strict; \(loaded) exchanges were loaded)")
        } catch let error as IngestError {
            throw ScanFailure(error.description)
        }
        Swift.print("\(endpoint): loaded \(loaded) exchanges; \(statistics.malformedCount) malformed lines skipped")
        for m in statistics.malformedLines.prefix(5) { Swift.print("  \(m)") }
    }
}
