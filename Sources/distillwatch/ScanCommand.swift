import DistillWatchConsole
import DistillWatchClickHouse
import ArgumentParser
import DistillWatchCore
import DistillWatchIngest
import DistillWatchSharing
import Foundation

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan traffic logs (JSON Lines, optionally gzip) and report suspected extraction accounts.",
        discussion: """
            Reads exchange records in time order, up to 5 minutes out of order, through the same engine \
            as the live server: traffic format v1, or a gateway's or provider's own log (LiteLLM, OTLP, \
            OpenAI Batch, Helicone, Langfuse), recognised from each file's first lines. Use - to read standard input. \
            Malformed lines are counted and reported with file and line number; the scan goes on \
            unless --strict is given.
            """
    )

    @Argument(help: "Traffic files (.jsonl or .jsonl.gz), or - for standard input.")
    var traffic: [String] = []

    @Option(name: .long, help: "Account records file (JSON Lines, optionally gzip). Repeatable.")
    var accounts: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "Shape of the traffic files: auto (recognised per file from its first lines; standard input is v1), v1 (traffic format v1), litellm (LiteLLM StandardLoggingPayload lines or arrays, as its s3/gcs loggers write them), otlp (OTLP/JSON trace requests, one per line, as OpenTelemetry's file exporters write them; GenAI spans become exchanges), openai-batch (OpenAI Batch API output files), helicone (Helicone request exports), langfuse (Langfuse observation exports, JSONL: each generation), otel-traces (rows of the OpenTelemetry Collector's ClickHouse exporter table otel_traces in JSONEachRow: each GenAI span).",
        valueName: "format"))
    var inputFormat: InputFormat = .auto

    @Option(name: .long, help: ArgumentHelp(
        "With --input-format litellm: which LiteLLM identity names the account, first real value wins (default: org_id,team_id,user_id,key_alias,key_hash,end_user_id).",
        valueName: "fields"))
    var litellmAccountFields: String?

    @Option(name: .long, help: ArgumentHelp(
        "With OTLP input: a span or resource attribute naming the account, tried in order. Repeatable (default: user.id, then enduser.id).",
        valueName: "attribute"))
    var otlpAccountAttribute: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "With OpenAI Batch output: the account the batch belongs to (batch files name none).", valueName: "account"))
    var openaiBatchAccount: String?

    @Option(name: .long, help: ArgumentHelp(
        "With OpenAI Batch output: the batch's id, written as each exchange's batch_id (default: the file's name).", valueName: "id"))
    var openaiBatchID: String?

    @Option(name: .long, help: ArgumentHelp(
        "With OpenAI Batch output: the batch's input file, joined by custom_id for each request's model parameters and messages.",
        valueName: "path"))
    var openaiBatchInput: String?

    @Option(name: .long, help: ArgumentHelp(
        "Write a self-contained HTML report (inline CSS and SVG, no script, nothing fetched) with the console's campaign and account views to this file.",
        valueName: "path"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Write the v1 report (JSON) to this file, or to standard output with -.", valueName: "path|-"))
    var json: String?

    @Option(name: .long, help: "How many malformed lines the summary shows in full (all are counted; the report keeps 1,000).")
    var malformed = 5

    @Option(name: .long, help: "YAML policy overriding the built-in weights, thresholds and allowlists.")
    var policy: String?

    @Flag(name: .long, help: "Stop at the first malformed line.")
    var strict = false

    @Flag(name: .long, help: "List every account in the report, not only flagged ones.")
    var all = false

    @Flag(name: .long, help: ArgumentHelp(
        "Join lines of one account that repeat a request_id, as the server does: the second view of a request (a guardrail call, then its log) adds to the first, and a repeat of one already counted is a duplicate, dropped. Off, each line is an exchange. The report's input gives merged_exchanges and duplicate_exchanges."))
    var mergeRequestIds = false

    @Option(name: .long, help: "How many of the riskiest accounts the summary shows.")
    var top = 10

    @Flag(name: .long, help: "Print nothing but errors (the report file is still written).")
    var quiet = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Show a progress bar on a terminal for large inputs.")
    var progress = true

    @OptionGroup var content: ContentOptions

    @Option(name: .long, help: "A STIX 2.1 bundle of indicators shared by another provider, matched as the shared_indicator signal. Repeatable, read in order.")
    var indicators: [String] = []

    @Option(name: .long, help: "With --indicators: write STIX sightings of the indicators that matched (counts and time windows, no account id) to this file, to share back.")
    var sightings: String?

    @Option(name: .long, help: "With --sightings: this provider's name (the sightings' identity).")
    var sightingsProducer: String?

    @OptionGroup(title: "ClickHouse and shards") var clickhouse: ClickHouseSourceOptions

    @Option(name: .long, help: ArgumentHelp(
        "Scan only shard k of N: the accounts whose cityHash64(account_id) % N = k (pushed into ClickHouse with --source; a file is read whole and filtered).",
        valueName: "k/N"))
    var shard: String?

    @Option(name: .long, help: ArgumentHelp(
        "Write verdicts, signal readings, campaigns and link keys to DistillWatch's tables in this ClickHouse database (clickhouse://HOST:PORT/DATABASE; `distillwatch clickhouse init` creates them).",
        valueName: "url"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp(
        "Threads for the engine: with N > 1, campaign linkage runs on one while the accounts are updated on N - 1 (partitioned by cityHash64(account_id)); the same verdicts and report for any N. auto: the cores decoding leaves free when there are at least 2 (linkage takes one, the accounts the rest), otherwise 1: prompt sketching takes one worker per core, so 1 with content signals; otherwise the cores less one, and 1 on a 2-core machine.",
        valueName: "N|auto"), transform: EngineThreadCount.parse)
    var engineThreads: EngineThreadCount = .auto

    @Option(name: .customLong("run"), help: ArgumentHelp(
        "With --store: the run's id, shared by the shards of one scan and given to `distillwatch campaigns` (default: scan-<time>).",
        valueName: "id"))
    var runID: String?

    func validate() throws {
        if clickhouse.source != nil {
            guard traffic.isEmpty else { throw ValidationError("give traffic files or --source, not both") }
            if inputFormat != .auto { throw ValidationError("--input-format applies to files; --clickhouse-mapping gives a table's shape") }
        } else {
            guard !traffic.isEmpty else {
                throw ValidationError("give at least one traffic file, or - for standard input, or a ClickHouse --source")
            }
        }
        _ = try accountShard()
        if let store {
            do { _ = try ClickHouseEndpoint(parsing: store, environment: ProcessInfo.processInfo.environment, forbidTable: true) } catch {
                throw ValidationError("--store: \(error)")
            }
        }
        if runID != nil, store == nil { throw ValidationError("--run names the run written to --store") }
        if let runID, runID.isEmpty || runID.count > 200 { throw ValidationError("--run must be 1 to 200 characters") }
        if sightings != nil {
            guard !indicators.isEmpty else { throw ValidationError("--sightings needs --indicators (the indicators whose matches it reports)") }
            guard let name = sightingsProducer, !name.isEmpty else { throw ValidationError("--sightings needs --sightings-producer NAME") }
        }
        guard traffic.filter({ $0 == "-" }).count <= 1 else {
            throw ValidationError("standard input (-) can be read only once")
        }
        try UserFile.refuseStandardInputTwice(
            [("traffic file", traffic.first { $0 == "-" || $0 == "/dev/stdin" || $0 == "/proc/self/fd/0" })] + accounts.map { ("account records file", $0) }
                + indicators.map { ("indicators bundle", $0) }
                + [("policy file", policy), ("OpenAI batch input file", openaiBatchInput), ("sharing keys file", content.sharingKeys),
                   ("content key file", content.contentKeyFile)])
        try UserFile.refuseStandardOutputTwice([("--json", json), ("--sightings", sightings)])
        guard top >= 0 else { throw ValidationError("--top must not be negative") }
        guard malformed >= 0 else { throw ValidationError("--malformed must not be negative") }
        if litellmAccountFields != nil, inputFormat == .v1 {
            throw ValidationError("--litellm-account-fields applies only to LiteLLM input (--input-format litellm or auto)")
        }
        _ = try litellmIdentity()
        if !otlpAccountAttribute.isEmpty, inputFormat != .otlp, inputFormat != .otelTraces, inputFormat != .auto,
           clickhouse.clickhouseMapping != .otelTraces {
            throw ValidationError("--otlp-account-attribute applies only to OTLP input (--input-format otlp, otel-traces or auto; --clickhouse-mapping otel-traces)")
        }
        if openaiBatchAccount != nil || openaiBatchID != nil || openaiBatchInput != nil, inputFormat != .openaiBatch, inputFormat != .auto {
            throw ValidationError("--openai-batch-account, --openai-batch-id and --openai-batch-input apply only to OpenAI Batch output (--input-format openai-batch or auto)")
        }
        if let empty = otlpAccountAttribute.first(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--otlp-account-attribute: '\(empty)' is not an attribute name")
        }
        if let html, html == "-" || html.isEmpty { throw ValidationError("--html takes a file path (the report is one HTML file)") }
        if json == "-", traffic.contains("-") {
            throw ValidationError("--json - writes to standard output; it cannot be combined with reading standard input (-)")
        }
    }

    /// The requests of `--openai-batch-input`, by custom_id.
    func openaiBatchRequests() throws -> [String: OpenAIBatchRequest] {
        guard let openaiBatchInput else { return [:] }
        var requests: [String: OpenAIBatchRequest] = [:]
        var reader = LineReader(InputSource(argument: openaiBatchInput))
        do {
            try reader.forEachLine(oversized: { line in
                throw ScanFailure("\(openaiBatchInput):\(line): line longer than \(LineReader.maximumLineBytes) bytes")
            }) { number, bytes in
                do throws(RecordError) {
                    let (id, request) = try OpenAIBatchReader.request(bytes)
                    guard requests.updateValue(request, forKey: id) == nil else {
                        throw RecordError(field: "custom_id", "\"\(id)\" is used twice: the output cannot be joined to one request")
                    }
                } catch {
                    throw ScanFailure("\(openaiBatchInput):\(number): \(error) (--openai-batch-input takes the batch's input file)")
                }
            }
        } catch let error as IngestError {
            throw ScanFailure(error.description)
        }
        return requests
    }

    /// The account column of a ClickHouse source; for the otel-traces shape, the attributes
    /// naming the account (`--clickhouse-account-column`, else `--otlp-account-attribute`).
    var clickhouseAccountColumn: String? {
        guard clickhouse.clickhouseMapping == .otelTraces else { return clickhouse.clickhouseAccountColumn }
        return clickhouse.clickhouseAccountColumn ?? (otlpAccountAttribute.isEmpty ? nil : otlpAccountAttribute.joined(separator: ","))
    }

    func accountShard() throws -> AccountShard {
        guard let shard else { return .whole }
        do { return try AccountShard(parsing: shard) } catch { throw ValidationError("--shard: \(error)") }
    }

    func litellmIdentity() throws -> LiteLLMIdentity {
        guard let litellmAccountFields else { return LiteLLMIdentity() }
        do {
            return LiteLLMIdentity(order: try LiteLLMIdentity.parseOrder(litellmAccountFields.split(separator: ",").map(String.init)))
        } catch {
            throw ValidationError("--litellm-account-fields: \(error)")
        }
    }

    func run() throws {
        try UserFile.refuseClashes(
            outputs: [("--json", json), ("--html", html), ("--sightings", sightings)],
            inputs: traffic.map { ("traffic file", $0) } + accounts.map { ("account records file", $0) }
                + indicators.map { ("indicators bundle", $0) } + content.inputFiles
                + [("policy file", policy), ("OpenAI batch input file", openaiBatchInput)])
        try UserFile.refuseRepeats(traffic, what: "traffic file",
                                   consequence: "its exchanges would count twice (serve, which merges a repeated request_id, would count them once)")
        let policy = try loadPolicy(self.policy)
        let sources = traffic.map(InputSource.init(argument:))
        let sketcher = try content.sketcher()
        let shared = indicators.isEmpty ? SharedIndicatorSet()
            : try loadIndicatorBundles(indicators, quiet: quiet).indicatorSet(sharingKeys: sketcher?.sharingKeys ?? [])
        let shard = try accountShard()
        var stream: ClickHouseTrafficStream?
        var ingest = IngestOptions(strict: strict, malformedLinesKept: max(1000, malformed), sketcher: sketcher,
                                   inputFormat: inputFormat,
                                   gateways: GatewayOptions(
                                       litellmIdentity: try litellmIdentity(),
                                       otlpAccountAttributes: otlpAccountAttribute.isEmpty
                                           ? OTLPTraceReader.defaultAccountAttributes : otlpAccountAttribute,
                                       openaiBatchAccount: openaiBatchAccount, openaiBatchID: openaiBatchID,
                                       openaiBatchRequests: try openaiBatchRequests()))
        if let url = clickhouse.source {
            let (opened, plan) = try ClickHouseTrafficStream.open(
                endpoint: try clickhouse.endpoint(url), shape: clickhouse.clickhouseMapping, content: sketcher != nil,
                window: try clickhouse.window(), shard: shard, accountColumn: clickhouseAccountColumn,
                sliceRows: clickhouse.clickhouseSliceRows)
            if clickhouse.clickhouseMapping == .otelTraces, let names = clickhouseAccountColumn {
                ingest.gateways.otlpAccountAttributes = names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            stream = opened
            ingest.inputFormat = plan.inputFormat
            ingest.integerBooleans = plan.integerBooleans
            if !quiet {
                var err = StandardError()
                Swift.print("note: reading \(url) (\(plan.columnsRead.count) columns: \(plan.columnsRead.joined(separator: ", ")))", to: &err)
            }
        }
        let scan = { (traffic: [InputSource]) throws -> ScanOutcome in
            try runScan(
                traffic: traffic, accounts: accounts.map(InputSource.init(argument:)), policy: policy, options: ingest,
                includeAllAccounts: all, showProgress: progress && !quiet, announceFormats: !quiet, sharedIndicators: shared,
                collectActivity: html != nil, shard: shard, collectLinkKeys: store != nil, engineThreads: engineThreads,
                mergesRequestIDs: mergeRequestIds)
        }
        let outcome = try stream.map { s in try s.read { try scan([$0]) } } ?? scan(sources)
        if let store {
            let runID = self.runID ?? "scan-" + Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970).rfc3339
            let described: ClickHouseResultStore.SourceDescription
            if let url = clickhouse.source {
                described = .init(source: try clickhouse.endpoint(url).description, mapping: clickhouse.clickhouseMapping.rawValue,
                                  accountColumn: clickhouseAccountColumn ?? "", window: try clickhouse.window())
            } else {
                described = .init(source: traffic.joined(separator: ","))
            }
            let written = try writeScanResults(outcome, store: store, run: runID,
                                               shard: shard.count == 1 ? "all" : shard.description, source: described)
            if !quiet {
                var err = StandardError()
                Swift.print("note: wrote run \(runID), shard \(shard.count == 1 ? "all" : shard.description), to \(written)", to: &err)
            }
        }
        if let json {
            try writeReport(outcome.report, to: json)
        }
        if let html {
            let inputs = traffic.map { $0 == "-" ? "standard input" : $0 }.joined(separator: ", ")
            try writeHTMLReport(outcome, to: html, title: "DistillWatch scan",
                                intro: "Scan of \(inputs): \(ConsoleFormat.number(outcome.report.input.exchanges)) exchanges from \(ConsoleFormat.number(outcome.report.input.accounts)) accounts, \(ConsoleFormat.time(outcome.report.input.firstTime)) to \(ConsoleFormat.time(outcome.report.input.lastTime)); DistillWatch \(DistillWatchVersion.current).")
        }
        if let sightings {
            let time = Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)
            let bundle = STIXBundleBuilder(profile: SharingProfile(producer: sightingsProducer!), now: time).sightings(outcome.sightings)
            try writeJSONObject(bundle, to: sightings)
        }
        if !quiet {
            // With the report on standard output, the summary goes to standard error.
            let summary = ReportSummary(report: outcome.report, statistics: outcome.statistics, top: all ? Int.max : top,
                                        malformedShown: malformed)
            if json == "-" || sightings == "-" {
                var err = StandardError()
                summary.print(to: &err, reportPath: json == "-" ? nil : json)
            } else {
                var out = StandardOutput()
                summary.print(to: &out, reportPath: json)
            }
        }
    }
}

/// What one scan produced.
struct ScanOutcome {
    var report: ScanReport
    var statistics: IngestStatistics
    /// The shared indicators that matched (empty without --indicators).
    var sightings: [SharedIndicatorSighting] = []
    /// The engine at the end (campaign members, profiles for `--html`).
    var engine: DetectionEngine
    /// Hourly totals and sightings, when the scan collected them (`--html`, `screen`).
    var activity: HourlyActivityLedger?
    /// The link keys the accounts showed, when the scan collected them (a sharded scan
    /// writing to ClickHouse, for the campaign step).
    var linkKeys: LinkKeyLedger?
}

/// Reads accounts and traffic into a scanner and builds the report. Errors that stop the
/// scan (unreadable input, strict mode) surface as `CleanExit`-free thrown errors with
/// messages that name the file and line.
func runScan(
    traffic: [InputSource], accounts: [InputSource], policy: Policy, options: IngestOptions,
    includeAllAccounts: Bool, showProgress: Bool, announceFormats: Bool = false,
    sharedIndicators: SharedIndicatorSet = SharedIndicatorSet(), collectActivity: Bool = false,
    shard: AccountShard = .whole, collectLinkKeys: Bool = false, onlyAccounts: Set<String>? = nil,
    engineThreads: EngineThreadCount = .count(1), mergesRequestIDs: Bool = false
) throws -> ScanOutcome {
    var options = options
    // A database's window or shard may hold nothing: the scan reports zero exchanges.
    options.allowsEmptyInput = traffic.allSatisfy { if case .descriptor = $0 { return true } else { return false } }
    var scanner = TrafficScanner(policy: policy, mergesRequestIDs: mergesRequestIDs)
    scanner.engineThreads = engineThreads.resolved(sketchingPrompts: options.sketcher != nil)
    var ledger: LinkKeyLedger? = collectLinkKeys ? LinkKeyLedger() : nil
    if collectActivity { scanner.activity = HourlyActivityLedger() }
    if !sharedIndicators.isEmpty { scanner.replaceSharedIndicators(sharedIndicators) }
    var statistics = IngestStatistics()
    do {
        for source in accounts {
            try TrafficIngest.readAccounts(from: source, options: options, statistics: &statistics) { record in
                if shard.owns(record.accountID), onlyAccounts?.contains(record.accountID) ?? true { scanner.register(record) }
            }
        }
        let totalBytes = traffic.compactMap(\.fileSize).reduce(0, +)
        var bar = ProgressBar(totalBytes: traffic.allSatisfy { $0.fileSize != nil } ? totalBytes : nil,
                              enabled: showProgress && ProgressBar.standardErrorIsTerminal
                                  && (totalBytes >= ProgressBar.minimumBytes || traffic.contains(.standardInput)))
        var bytesBefore = 0
        for source in traffic {
            var options = options
            if options.inputFormat == .auto {
                let choice = try InputFormatRecognition.recognise(source)
                options.inputFormat = choice.format
                if announceFormats, choice.line > 0 {
                    var err = StandardError()
                    Swift.print("note: \(source): read as \(choice.format) (recognised from line \(choice.line); --input-format chooses)",
                                to: &err)
                }
            }
            if options.inputFormat == .openaiBatch {
                if options.gateways.openaiBatchID == nil, case .file(let path) = source {
                    // A batch's files are named after it (batch_abc123_output.jsonl): the name stands for its id.
                    let name = URL(fileURLWithPath: path).lastPathComponent
                    options.gateways.openaiBatchID = String(name.split(separator: ".").first ?? Substring(name))
                }
                if options.gateways.openaiBatchAccount == nil {
                    // One account submitted the batch: without its name, the batch stands for it.
                    let account = "batch:" + (options.gateways.openaiBatchID ?? "standard-input")
                    options.gateways.openaiBatchAccount = account
                    if announceFormats {
                        var err = StandardError()
                        Swift.print("note: \(source): OpenAI Batch files name no account; its requests are account \(account) "
                                    + "(--openai-batch-account names it)", to: &err)
                    }
                }
            }
            let progress = { (bytes: Int, records: Int) in bar.update(bytes: bytesBefore + bytes, records: records) }
            if shard.count == 1, ledger == nil {
                try TrafficIngest.scanTraffic(from: source, into: &scanner, options: options, statistics: &statistics,
                                              progress: progress)
            } else {
                // A shard of a file keeps its own accounts' exchanges (a ClickHouse source
                // filters inside the server, and every exchange passes here).
                try TrafficIngest.readTraffic(from: source, options: options, statistics: &statistics, progress: progress) { e in
                    guard shard.owns(e.accountID) else { return }
                    ledger?.note(e)
                    scanner.observe(e)
                }
            }
            bytesBefore = statistics.bytesRead
        }
        bar.finish()
    } catch let error as MalformedLine {
        throw ScanFailure("\(error) (stopped: --strict)")
    } catch let error as IngestError {
        throw ScanFailure(error.description)
    }
    let generatedAt = Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)
    var report = scanner.finish(generatedAt: generatedAt, includeAllAccounts: includeAllAccounts)
    report.input.malformedLines = statistics.malformedCount
    return ScanOutcome(report: report, statistics: statistics, sightings: scanner.engine.sharedIndicatorSightings,
                       engine: scanner.engine, activity: scanner.activity, linkKeys: ledger)
}

/// An error that ends the command with its message and exit code 1.
struct ScanFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func loadPolicy(_ path: String?) throws -> Policy {
    guard let path else { return .default }
    // A policy is a few KB of YAML: 16 MiB is far past any real one.
    let data = try UserFile.read(path, what: "policy file", maximumBytes: 16 << 20)
    guard let text = String(data: data, encoding: .utf8) else {
        throw ScanFailure("\(path): is not UTF-8 text (a policy is a YAML file)")
    }
    do {
        return try PolicyFile.load(yaml: text, source: path)
    } catch let error as PolicyFileError {
        throw ScanFailure(error.description)
    }
}

/// Writes a JSON document to `path`, or to standard output for `-` (the convention of
/// every command that takes a path). Keys are sorted, so two runs on the same input give
/// the same bytes apart from `generated_at`.
func writeJSON(_ value: some Encodable, to path: String, what: String = "report") throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes, .sortedKeys]
    let data = try encoder.encode(value) + Data("\n".utf8)
    if path == "-" {
        FileHandle.standardOutput.write(data)
        return
    }
    try UserFile.write(data, to: path, what: what)
}

/// Writes a JSON object (a STIX bundle, a MISP event, a status) to `path`, or to standard
/// output for `-`, pretty-printed with sorted keys like ``writeJSON(_:to:what:)``.
func writeJSONObject(_ object: Any, to path: String) throws {
    let bytes = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    if path == "-" {
        FileHandle.standardOutput.write(bytes)
        return
    }
    try UserFile.write(bytes, to: path, what: "output")
}

func writeReport(_ report: ScanReport, to path: String) throws {
    try writeJSON(report, to: path)
}

/// `print(to:)` target for standard output.
struct StandardOutput: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardOutput.write(Data(string.utf8))
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// How prompts become content sketches: the key, excerpts, or no content signals at all.
struct ContentOptions: ParsableArguments {
    @Option(name: .long, help: "Content key (32 hex digits) seeding the prompt sketches. Default: the stored key, made on first use.")
    var contentKey: String?

    @Option(name: .long, help: "File holding the content key (made if missing). Default: $DISTILLWATCH_HOME/content.key or ~/.distillwatch/content.key.")
    var contentKeyFile: String?

    @Flag(name: .long, help: "Turn content signals off: prompts are skipped, not sketched.")
    var noContent = false

    @Flag(name: .long, help: "Keep short prompt excerpts as evidence in reports (off by default: no prompt text reaches any output).")
    var evidenceExcerpts = false

    @Option(name: .long, help: "Sharing-keys file (NAME SECRET per line): prompts are also fingerprinted under each key, to match other providers' keyed indicators (Documentation/Sharing.md).")
    var sharingKeys: String?

    func validate() throws {
        if let contentKey, ContentKey(hex: contentKey) == nil {
            throw ValidationError("--content-key must be 32 hexadecimal digits")
        }
        if noContent && (contentKey != nil || contentKeyFile != nil || evidenceExcerpts || sharingKeys != nil) {
            throw ValidationError("--no-content cannot be combined with --content-key, --content-key-file, --evidence-excerpts or --sharing-keys")
        }
    }

    /// The sketcher for this run, or `nil` with `--no-content`. Says so on standard error
    /// when a key file is created.
    /// The sketcher these options ask for (`nil` with `--no-content`). A key file made now
    /// is told on standard error even under `--quiet` (Content.md): a new key means sketches
    /// that no longer compare with earlier runs', and a misspelt path would hide it.
    func sketcher() throws -> ContentSketcher? {
        guard !noContent else { return nil }
        let key: ContentKey
        if let contentKey, let parsed = ContentKey(hex: contentKey) {
            key = parsed
        } else {
            let path = contentKeyFile ?? ContentKeyStore.defaultPath()
            do {
                let loaded = try ContentKeyStore.loadOrCreate(path: path)
                if loaded.created {
                    var err = StandardError()
                    Swift.print("note: created a new content key at \(path); keep it to compare sketches across runs", to: &err)
                }
                key = loaded.key
            } catch let error as IngestError {
                throw ScanFailure(error.description)
            }
        }
        return ContentSketcher(key: key, keepsExcerpts: evidenceExcerpts, sharingKeys: try loadSharingKeys(sharingKeys))
    }

    /// The files these options read (the content key file, the sharing keys), for
    /// ``UserFile/refuseClashes(outputs:inputs:)``.
    var inputFiles: [(what: String, path: String?)] {
        [("content key file", contentKeyFile ?? (contentKey == nil && !noContent ? ContentKeyStore.defaultPath() : nil)),
         ("sharing keys file", sharingKeys)]
    }
}

/// `--engine-threads N|auto`.
enum EngineThreadCount: Equatable, CustomStringConvertible {
    case auto
    case count(Int)

    /// - Throws: `ValidationError` naming the option and the accepted values.
    static func parse(_ argument: String) throws -> EngineThreadCount {
        if argument == "auto" { return .auto }
        guard let n = Int(argument), (1...64).contains(n) else {
            throw ValidationError("--engine-threads takes auto or a number of threads from 1 to 64, not '\(argument)'")
        }
        return .count(n)
    }

    var description: String {
        switch self {
        case .auto: "auto"
        case .count(let n): "\(n)"
        }
    }

    /// The threads for a scan on this machine. `auto` gives the engine the cores that
    /// decoding does not take (``TrafficIngest/decodingWorkers(sketchingPrompts:cores:)``)
    /// when there are at least two of them, one for linkage and the rest for the accounts,
    /// and otherwise runs it on one thread. Sketching prompts takes a worker per core, so
    /// then 1; plain decoding takes one worker, so the cores less one: 1 on 2 cores, 3 on 4.
    ///
    /// Several engine threads pay for their hand-offs (batches of 2,048, link and window
    /// views) with about 1 µs of CPU an exchange; they gain only where the linkage thread
    /// and the account threads each have a core. On 2 cores, behaviour only, two engine
    /// threads took 1.51× and 1.11× the time of one (2 December 2026, a quiet and a busy
    /// hour; the first measurement, 30 November, 0.89×, was of an engine twice as costly
    /// per exchange); with content signals 1.10× (Documentation/Performance.md, "The engine
    /// on several threads"). Machines with more cores were not measured.
    func resolved(sketchingPrompts: Bool, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        switch self {
        case .count(let n): return n
        case .auto:
            let free = cores - TrafficIngest.decodingWorkers(sketchingPrompts: sketchingPrompts, cores: cores)
            return free < 2 ? 1 : min(64, free)
        }
    }
}

extension InputFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
