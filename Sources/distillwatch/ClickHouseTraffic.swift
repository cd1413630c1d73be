import ArgumentParser
import DistillWatchClickHouse
import DistillWatchCore
import DistillWatchIngest
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension TrafficTableShape: ExpressibleByArgument {}

/// Where a scan reads traffic from ClickHouse, and which part of it.
struct ClickHouseSourceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Read traffic from a ClickHouse table instead of files: clickhouse://[USER@]HOST[:PORT]/DATABASE.TABLE (HTTP interface; clickhouses:// for HTTPS; password from $DISTILLWATCH_CLICKHOUSE_PASSWORD).",
        valueName: "url"))
    var source: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --source: the table's shape: v1 (columns named as traffic format v1's fields), helicone (Helicone's request_response_rmt) or otel-traces (the OpenTelemetry Collector's ClickHouse exporter table otel_traces: GenAI spans).",
        valueName: "shape"))
    var clickhouseMapping: TrafficTableShape = .v1

    @Option(name: .long, help: ArgumentHelp(
        "With --source: the column naming the account (default account_id for v1, user_id for helicone); for otel-traces, the attributes naming it, comma-separated (default user.id,enduser.id; or --otlp-account-attribute).", valueName: "column"))
    var clickhouseAccountColumn: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --source: read exchanges at or after this time (RFC 3339, or epoch seconds, ms, µs or ns told by magnitude).", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --source: the window is read in slices of whole hours holding about this many rows, each sorted by the server alone (bounds its memory).",
        valueName: "rows"))
    var clickhouseSliceRows = ClickHouseTrafficStream.defaultSliceRows

    @Option(name: .long, help: ArgumentHelp(
        "With --source: read exchanges before this time (RFC 3339, or epoch seconds, ms, µs or ns told by magnitude).", valueName: "time"))
    var until: String?

    func validate() throws {
        guard clickhouseSliceRows >= 1 else { throw ValidationError("--clickhouse-slice-rows must be at least 1") }
        if source == nil, since != nil || until != nil || clickhouseAccountColumn != nil {
            throw ValidationError("--since, --until and --clickhouse-account-column apply to a ClickHouse --source")
        }
        if let source { _ = try endpoint(source) }
        _ = try window()
    }

    func endpoint(_ text: String) throws -> ClickHouseEndpoint {
        do {
            return try ClickHouseEndpoint(parsing: text, environment: ProcessInfo.processInfo.environment, requireTable: true)
        } catch {
            throw ValidationError("--source: \(error)")
        }
    }

    func window() throws -> TrafficWindow {
        func time(_ text: String?, _ option: String) throws -> Timestamp? {
            guard let text else { return nil }
            if let number = Int64(text) {
                guard let t = Timestamp(epochNumber: number) else {
                    throw ValidationError("""
                        \(option) '\(text)': an epoch number is read as a record's time is, seconds, milliseconds, \
                        microseconds or nanoseconds by its magnitude, and this one is a time between 2000 and 2100 in none
                        """)
                }
                return t
            }
            guard let t = Timestamp(rfc3339: text) else {
                throw ValidationError("\(option) '\(text)' is not an RFC 3339 time with an offset or an epoch number")
            }
            return t
        }
        let w = TrafficWindow(since: try time(since, "--since"), until: try time(until, "--until"))
        if let s = w.since, let u = w.until, u <= s { throw ValidationError("--until must be after --since") }
        return w
    }
}

/// A ClickHouse query's result flowing into a pipe that the scan reads like a file: the
/// query runs on a task and writes gzip bytes into the pipe; ``source`` is the read end.
final class ClickHouseTrafficStream: @unchecked Sendable {
    let source: InputSource
    private let readEnd: Int32
    private let box = BlockingBox<Int>()

    /// Asks the table for its columns, plans the query and starts it.
    /// - Throws: ``ScanFailure`` naming the table, column or server problem.
    static func open(endpoint: ClickHouseEndpoint, shape: TrafficTableShape, content: Bool, window: TrafficWindow,
                     shard: AccountShard, accountColumn: String?, accounts: [String]? = nil,
                     sliceRows: Int = defaultSliceRows) throws -> (ClickHouseTrafficStream, TrafficQueryPlan) {
        // A reader that stops early (--strict) closes its end: the writer must get EPIPE, not die.
        signal(SIGPIPE, SIG_IGN)
        let client = ClickHouseClient(endpoint: endpoint)
        let table = endpoint.qualifiedTable
        let plan: TrafficQueryPlan
        let slices: [TrafficWindow]
        var settings = TrafficTableMapping.querySettings
        do {
            let columns = try runBlocking { try await client.describe(table) }
            let planned = Result { () throws(ClickHouseError) -> TrafficQueryPlan in
                try TrafficTableMapping.plan(
                    shape: shape, table: table, columns: columns, content: content,
                    window: window, shard: shard, accountColumn: accountColumn, accounts: accounts)
            }
            switch planned {
            case .success(let p): plan = p
            case .failure(let error):
                let helicone = shape == .v1 && columns.contains { $0.name == "request_created_at" } && columns.contains { $0.name == "user_id" }
                throw ScanFailure("\(error)" + (helicone ? " (this looks like Helicone's request_response_rmt: --clickhouse-mapping helicone)" : ""))
            }
            // A long account list is part of the query text.
            settings["max_query_size"] = String(max(262_144, plan.sql.utf8.count + 65_536))
            let countsSQL = plan.hourCountsSQL
            let querySettings = settings
            let counts = try runBlocking { () async throws -> String in try await client.query(countsSQL, settings: querySettings) }
            slices = TrafficTableMapping.slices(hourCounts: TrafficTableMapping.parseHourCounts(counts), maximumRows: sliceRows)
        } catch let failure as ScanFailure {
            runBlockingQuietly { await client.shutdown() }
            throw failure
        } catch {
            runBlockingQuietly { await client.shutdown() }
            throw ScanFailure("\(error)")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            runBlockingQuietly { await client.shutdown() }
            throw ScanFailure("cannot create a pipe for the ClickHouse stream: \(String(cString: strerror(errno)))")
        }
        let stream = ClickHouseTrafficStream(readEnd: fds[0], name: endpoint.description)
        let writeEnd = fds[1]
        let box = stream.box
        let queries = slices.map { plan.sql(slice: $0) }
        let querySettings = settings
        Task.detached {
            do {
                // One query per slice, one after another: each answer is a gzip member, and
                // the reader takes concatenated members as one stream.
                var written = 0
                for sql in queries { written += try await client.stream(sql, settings: querySettings, to: writeEnd) }
                box.result = .success(written)
            } catch {
                box.result = .failure(error)
            }
            close(writeEnd)
            await client.shutdown()
            box.done.signal()
        }
        return (stream, plan)
    }

    /// Rows per slice of the window: the server sorts at most about this many rows at once.
    static let defaultSliceRows = 1_000_000

    private init(readEnd: Int32, name: String) {
        self.readEnd = readEnd
        source = .descriptor(readEnd, name: name)
    }

    /// Runs `body` on the stream's source, then ends the stream; when both fail, the
    /// query's own failure (a server exception, a dropped connection) is the one thrown: it
    /// explains an empty or cut stream better than the reader.
    func read<T>(_ body: (InputSource) throws -> T) throws -> T {
        let result: T
        do {
            result = try body(source)
        } catch {
            try finish()
            throw error
        }
        try finish()
        return result
    }

    /// Closes the read end and waits for the query to end.
    /// - Throws: the query's error (a server exception, a dropped connection), if any; not
    ///   the writer's failure to write after the reader stopped (the reader's own error,
    ///   `--strict`'s malformed line, is the one to report).
    func finish() throws {
        close(readEnd)
        box.done.wait()
        if case .failure(let error) = box.result! {
            if case .readerClosed = error as? ClickHouseError { return }
            throw ScanFailure("\(error)")
        }
    }
}

/// Runs async work that cannot fail and waits for it.
func runBlockingQuietly(_ body: @escaping @Sendable () async -> Void) {
    _ = try? runBlocking { await body() }
}
