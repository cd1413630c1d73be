import ArgumentParser
import DistillWatchCore
import DistillWatchServer
import DistillWatchSharing
import DistillWatchStore
import Foundation

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the live decision server: ingest traffic, answer gateways, keep state across restarts.",
        discussion: """
            Settings come from defaults, then --config FILE (YAML), then DISTILLWATCH_* environment \
            variables, then these flags, each overriding the one before. At least one access token is \
            required (NAME:ROLE[+ROLE...]:SECRET, roles ingest, decide, analyst, exempt, share_read, share_write); prefer \
            DISTILLWATCH_TOKENS or the config file to flags, which other users can see in ps. \
            State is an append-only event log in SQLite (WAL); on start it is replayed, so the server \
            resumes where it stopped, even after kill -9. See Documentation/Server.md.
            """
    )

    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Port to listen on (default 8080; 0 picks a free port).")
    var port: Int?

    @Option(name: .long, help: "SQLite database file (default distillwatch.sqlite), or :memory: for no persistence.")
    var database: String?

    @Option(name: .long, help: "SQLite synchronous mode: full (durable across power loss, default) or normal (durable across process crashes).")
    var synchronous: String?

    @Option(name: .long, help: "How far out of order exchanges may arrive, in seconds (default 300; 0 = apply each at once).")
    var reorderToleranceSeconds: Double?

    @Option(name: .long, help: "YAML policy overriding the built-in weights, thresholds and allowlists.")
    var policy: String?

    @Option(name: .long, help: "Access token NAME:ROLE[+ROLE...]:SECRET. Repeatable.")
    var token: [String] = []

    @Option(name: .long, help: "Largest body of POST /v1/exchanges, /v1/accounts, /v1/litellm/logs and /v1/traces (sent, and once inflated), in bytes (default 32 MiB).")
    var maxIngestBodyBytes: Int?

    @Option(name: .long, help: "Largest body of other requests, in bytes (default 256 KiB).")
    var maxRequestBodyBytes: Int?

    @Option(name: .long, help: "Decisions written to the audit log: flagged (default: every verdict other than allow), all or none.")
    var decisionAudit: String?

    @Option(name: .long, help: "Largest body of LiteLLM's guardrail calls and Envoy's ext_authz checks, in bytes (default 64 MiB: LiteLLM sends the prompt twice).")
    var maxGuardrailBodyBytes: Int?

    @Option(name: .long, help: "LiteLLM identity naming the account, first real value wins (default org_id,team_id,user_id,key_alias,key_hash,end_user_id).")
    var litellmAccountFields: String?

    @Option(name: .long, help: "Least severe verdict LiteLLM's guardrail refuses: block (default), throttle or review.")
    var litellmRefuseAt: String?

    @Option(name: .long, help: "LiteLLM identity values that name no account, comma-separated, besides default_user_id and litellm_proxy_master_key (e.g. the master key's hash).")
    var litellmPlaceholderIds: String?

    @Option(name: .long, help: "OTLP span or resource attributes naming the account, comma-separated, tried in order (default user.id,enduser.id).")
    var otlpAccountAttributes: String?

    @Option(name: .long, help: "Where Envoy's ext_authz http_service.path_prefix points (default /distillwatch; checks are also answered under /v1/decide/).")
    var envoyPathPrefix: String?

    @Option(name: .long, help: "Header naming the account in Envoy's checks (default x-account-id; without it, each client API key is an account).")
    var envoyAccountHeader: String?

    @Option(name: .long, help: "Header Envoy's headers_to_add puts DistillWatch's decide token in (default x-api-key; use another, such as x-distillwatch-key, for Anthropic-style clients, whose own key is in x-api-key).")
    var envoyKeyHeader: String?

    @Option(name: .long, help: "Directory for engine snapshots (default DATABASE.snapshots), or off: restart then replays the whole log.")
    var snapshotDirectory: String?

    @Option(name: .long, help: "Take a snapshot every N events applied (default 250000: the most a restart replays after loading one).")
    var snapshotEveryEvents: Int?

    @Option(name: .long, help: "Take a snapshot at least this often, in seconds, when there are new events (default 600).")
    var snapshotIntervalSeconds: Double?

    @Option(name: .long, help: "Snapshots kept, newest first (default 2; at least 2).")
    var snapshotsKept: Int?

    @Option(name: .long, help: "What becomes of log events a kept snapshot covers: compact (deleted, default) or keep.")
    var logRetention: String?

    @Option(name: .long, help: "Exchanges waiting in the reorder buffer at most; the oldest are applied early past it (default 500000).")
    var maxBufferedExchanges: Int?

    @Option(name: .long, help: "Batches waiting to be written at most; more are refused with 429 (default 64).")
    var maxPendingBatches: Int?

    @Option(name: .long, help: "Log level: trace, debug, info (default), notice, warning, error, critical.")
    var logLevel: String?

    @Option(name: .long, help: "Days of hourly history and address, key and user-agent sightings kept for the console and screening (default 400; 0 keeps everything).")
    var historyRetentionDays: Int?

    @Option(name: .long, help: "Hours a console session lasts after an analyst signs in (default 12).")
    var consoleSessionHours: Double?

    @Option(name: .long, help: "The provider's name in what it publishes over TAXII (the STIX identity); publishing needs it.")
    var sharingProducer: String?

    @Option(name: .long, help: "TLP 2.0 marking of what it publishes: clear, green, amber (default), amber+strict or red.")
    var sharingTlp: String?

    @Option(name: .long, help: "ClickHouse database (clickhouse://HOST:PORT/DATABASE) whose stored runs (scan --store, distillwatch campaigns) the console's Runs pages show.")
    var consoleClickhouse: String?

    @Option(name: .long, help: "Copy the decision audit to this ClickHouse database (clickhouse://HOST:PORT/DATABASE), table dw_decisions (distillwatch clickhouse init creates it).")
    var decisionAuditClickhouse: String?

    @Option(name: .long, help: "Run as live shard k of N (e.g. 0/2): answer for the accounts whose cityHash64(account_id) % N = k, pass the others to their shard's node (needs --shard-nodes).")
    var shard: String?

    @Option(name: .long, help: "Every shard's node base URL, comma-separated, in shard order (this node's own at position k), e.g. http://dw-0:8080,http://dw-1:8080.")
    var shardNodes: String?

    @Option(name: .long, help: "Answer for another shard's account while its node is down: allow (default; marked owner_unavailable) or refuse (503: the gateway's failure policy decides).")
    var shardOwnerDown: String?

    @Option(name: .long, help: "ClickHouse store (clickhouse://HOST:PORT/DATABASE) to read the campaign step's verdicts from, for this shard's accounts (needs --shard-campaigns-run).")
    var shardCampaigns: String?

    @Option(name: .long, help: "Run id of the sharded scans whose campaign step --shard-campaigns reads.")
    var shardCampaignsRun: String?

    @OptionGroup var content: ContentOptions

    func makeConfiguration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServerConfiguration {
        var c = ServerConfiguration()
        if let config { try c.apply(yamlFile: config, environment: environment) }
        try c.apply(environment: environment)
        if let host { c.host = host }
        if let port { c.port = port }
        if let database { c.database = database }
        if let synchronous {
            guard let s = SQLiteEventStore.Synchronous(rawValue: synchronous) else {
                throw ValidationError("--synchronous must be full or normal")
            }
            c.synchronous = s
        }
        if let reorderToleranceSeconds { c.reorderToleranceSeconds = reorderToleranceSeconds }
        if let policy { try c.loadPolicy(policy) }
        for t in token { c.tokens.append(try AccessToken(parsing: t)) }
        if let maxIngestBodyBytes { c.maxIngestBodyBytes = maxIngestBodyBytes }
        if let maxRequestBodyBytes { c.maxRequestBodyBytes = maxRequestBodyBytes }
        if let decisionAudit {
            guard let a = ServerConfiguration.DecisionAudit(rawValue: decisionAudit) else {
                throw ValidationError("--decision-audit must be all, flagged or none")
            }
            c.decisionAudit = a
        }
        if let maxGuardrailBodyBytes { c.maxGuardrailBodyBytes = maxGuardrailBodyBytes }
        if let otlpAccountAttributes {
            c.otlpAccountAttributes = otlpAccountAttributes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let envoyPathPrefix { c.envoyPathPrefix = envoyPathPrefix }
        if let envoyAccountHeader { c.envoyAccountHeader = envoyAccountHeader }
        if let envoyKeyHeader { c.envoyKeyHeader = envoyKeyHeader }
        if let litellmAccountFields {
            c.litellmAccountFields = litellmAccountFields.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let litellmRefuseAt {
            guard let v = Verdict(rawValue: litellmRefuseAt), v != .allow else {
                throw ValidationError("--litellm-refuse-at must be block, throttle or review")
            }
            c.litellmRefuseAt = v
        }
        if let litellmPlaceholderIds {
            c.litellmPlaceholderIDs = litellmPlaceholderIds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let snapshotDirectory {
            if snapshotDirectory == "off" { c.snapshotsEnabled = false } else { c.snapshotDirectory = snapshotDirectory }
        }
        if let snapshotEveryEvents { c.snapshotEveryEvents = snapshotEveryEvents }
        if let snapshotIntervalSeconds { c.snapshotIntervalSeconds = snapshotIntervalSeconds }
        if let snapshotsKept { c.snapshotsKept = snapshotsKept }
        if let logRetention {
            guard let r = ServerConfiguration.LogRetention(rawValue: logRetention) else {
                throw ValidationError("--log-retention must be compact or keep")
            }
            c.logRetention = r
        }
        if let maxBufferedExchanges { c.maxBufferedExchanges = maxBufferedExchanges }
        if let maxPendingBatches { c.maxPendingBatches = maxPendingBatches }
        if let logLevel { c.logLevel = logLevel }
        if let historyRetentionDays { c.historyRetentionDays = historyRetentionDays }
        if let consoleSessionHours { c.consoleSessionHours = consoleSessionHours }
        if let sharingProducer { c.sharingProducer = sharingProducer }
        if let sharingTlp {
            guard let tlp = TrafficLightProtocol(name: sharingTlp) else {
                throw ValidationError("--sharing-tlp must be clear, green, amber, amber+strict or red")
            }
            c.sharingTLP = tlp
        }
        if let consoleClickhouse { c.consoleClickHouse = consoleClickhouse == "none" ? nil : consoleClickhouse }
        if let decisionAuditClickhouse { c.decisionAuditClickHouse = decisionAuditClickhouse == "none" ? nil : decisionAuditClickhouse }
        try applyShardOptions(to: &c)
        try c.validate(sketcherFollows: !content.noContent)
        // The same content key as `scan` (flag, key file or the stored default), so that the
        // same traffic gives the same verdicts in both. Only once the rest is valid, so that
        // a bad configuration creates no key file.
        c.sketcher = try content.sketcher()
        try c.validate()
        return c
    }

    /// `--shard` and its companions, over the file's `shard:`.
    private func applyShardOptions(to c: inout ServerConfiguration) throws {
        if let shard {
            let parsed: AccountShard
            do { parsed = try AccountShard(parsing: shard) } catch { throw ValidationError("--shard \(error.description)") }
            let nodes = shardNodes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? c.shard?.nodes
            guard let nodes else {
                throw ValidationError("--shard needs --shard-nodes: every shard's node URL, in shard order")
            }
            var settings = c.shard ?? ShardSettings(shard: parsed, nodes: nodes)
            settings.shard = parsed
            settings.nodes = nodes
            c.shard = settings
        } else if shardNodes != nil || shardOwnerDown != nil || shardCampaigns != nil || shardCampaignsRun != nil, c.shard == nil {
            throw ValidationError("--shard-nodes, --shard-owner-down and --shard-campaigns need --shard k/N (or shard: in the configuration file)")
        } else if let shardNodes {
            c.shard?.nodes = shardNodes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let shardOwnerDown {
            guard let mode = ShardSettings.OwnerDown(rawValue: shardOwnerDown) else {
                throw ValidationError("--shard-owner-down must be allow or refuse")
            }
            c.shard?.ownerDown = mode
        }
        if shardCampaigns != nil || shardCampaignsRun != nil {
            guard let store = shardCampaigns ?? c.shard?.campaigns?.store, let run = shardCampaignsRun ?? c.shard?.campaigns?.run else {
                throw ValidationError("--shard-campaigns and --shard-campaigns-run go together (the store and the run id)")
            }
            let interval = c.shard?.campaigns?.intervalSeconds ?? 300
            c.shard?.campaigns = ShardSettings.CampaignFeed(store: store, run: run, intervalSeconds: interval)
        }
    }

    func run() throws {
        let configuration: ServerConfiguration
        do {
            configuration = try makeConfiguration()
        } catch let error as ConfigurationError {
            throw ScanFailure(error.description)
        }
        // The root command is synchronous; the server runs on Swift concurrency's threads
        // while this one waits.
        let outcome = BlockingOutcome()
        Task {
            do { try await runServer(configuration) } catch { outcome.error = error }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let error = outcome.error {
            throw ScanFailure("\(error)")
        }
    }
}

private final class BlockingOutcome: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var error: (any Error)?
}
