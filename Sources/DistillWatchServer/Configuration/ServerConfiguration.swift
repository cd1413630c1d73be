import DistillWatchClickHouse
import DistillWatchCore
import DistillWatchIngest
import DistillWatchSharing
import DistillWatchTAXII
import DistillWatchStore
import HTTPTypes
import Logging

/// Everything `distillwatch serve` is configured with. Built from defaults, then an
/// optional YAML file, then `DISTILLWATCH_*` environment variables, then flags (each
/// overriding the one before): see ``ServerConfiguration/Source``.
public struct ServerConfiguration: Sendable {
    /// Where decisions about gateway calls are audited.
    public enum DecisionAudit: String, Sendable, CaseIterable {
        /// Every decide and guardrail call.
        case all
        /// Only calls answered with a verdict other than `allow`.
        case flagged
        /// None.
        case none
    }

    public var host = "127.0.0.1"
    public var port = 8080
    /// SQLite database file; `:memory:` keeps state in memory only (nothing survives).
    public var database = "distillwatch.sqlite"
    public var synchronous: SQLiteEventStore.Synchronous = .full
    /// How far out of order exchanges may arrive; the engine sees them this late. 0 processes
    /// each exchange at once.
    public var reorderToleranceSeconds: Double = 300
    public var policy: Policy = .default
    /// The policy file, if any (for logs).
    public var policyPath: String?
    public var tokens: [AccessToken] = []
    /// Largest body accepted by the ingest endpoints.
    public var maxIngestBodyBytes = 32 << 20
    /// Largest body accepted by every other endpoint.
    public var maxRequestBodyBytes = 256 << 10
    /// `flagged` by default: every decision that throttles, blocks or queues a request for
    /// review is kept; auditing every `allow` too (`all`) is a row per request (about 430
    /// million a day at 5,000 requests/s) and, measured on a 2-core machine, moved the p99
    /// of `/v1/decide` at 5,000 requests/s from 1.3-1.4 ms to 2.0-2.9 ms.
    public var decisionAudit: DecisionAudit = .flagged
    /// A ClickHouse database (`clickhouse://HOST:PORT/DB`) whose stored runs (`scan --store`,
    /// `distillwatch campaigns`) the console's Runs pages read; `nil`: no Runs pages.
    public var consoleClickHouse: String?
    /// A ClickHouse database (`clickhouse://HOST:PORT/DB`) the decision audit is copied to,
    /// table `dw_decisions` (``ClickHouseAuditSink``); `nil`: the node's SQLite audit only.
    public var decisionAuditClickHouse: String?
    /// Audit entries waiting to be written; beyond it entries are dropped and counted.
    public var auditQueueCapacity = 100_000

    /// Where engine snapshots are written: by default `DATABASE.snapshots` beside the
    /// database (none with `:memory:`); `off` turns snapshots off (every start replays
    /// the whole log).
    public var snapshotDirectory: String?
    public var snapshotsEnabled = true
    /// A snapshot is taken once this many events were applied since the last one: the
    /// most a restart replays after loading it (replay ran at about 125,000 events/s on
    /// the restart benchmark's traffic, so about 2 s)...
    public var snapshotEveryEvents = 250_000
    /// ...or once this many seconds passed with at least one new event.
    public var snapshotIntervalSeconds: Double = 600
    /// Snapshots kept (at least 2: a damaged newest one falls back to the one before).
    public var snapshotsKept = 2
    /// What happens to events a snapshot covers: ``LogRetention``.
    public var logRetention: LogRetention = .compact
    /// Exchanges waiting in the reorder buffer at most; past it the oldest are applied
    /// early (counted in `distillwatch_reorder_overflow_exchanges`). 0.5-1.2 KB each
    /// (measured), so the default holds the buffer under about 250-600 MB; it must exceed
    /// the exchanges that arrive within one reorder tolerance (e.g. 1,600 exchanges/s for
    /// 300 s).
    public var maxBufferedExchanges = 500_000
    /// Ingest batches (any route that writes) waiting for the log at most; past it new
    /// ones are refused with 429 and `Retry-After` (counted), so a client flood cannot
    /// queue memory without bound.
    public var maxPendingBatches = 64

    /// What happens to the exchange and account events that a kept snapshot covers.
    public enum LogRetention: String, Sendable, CaseIterable {
        /// Deleted from the database (labels, flushes and quarantined events stay): the
        /// database holds only the log since the older kept snapshot. A restart under a
        /// changed policy then cannot rebuild the history before it (see Server.md).
        case compact
        /// Kept: the log grows with the traffic, and any snapshot can be rebuilt.
        case keep
    }
    /// Largest body accepted by LiteLLM's guardrail route. LiteLLM sends the prompt twice
    /// (`texts` and `structured_messages`), and refusing a body turns into an error for the
    /// user or, with `fail_on_error: false`, a bypass, so the limit is far above any
    /// context window: 64 MiB.
    public var maxGuardrailBodyBytes = 64 << 20
    /// Which LiteLLM identity names the account, first real value wins (see
    /// ``LiteLLMIdentity``): names of ``LiteLLMIdentity/Field``.
    public var litellmAccountFields: [String] = LiteLLMIdentity.defaultOrder.map(\.rawValue)
    /// The least severe verdict LiteLLM's guardrail refuses (`BLOCKED`): `block` by default.
    /// LiteLLM's guardrail API has no "slow down" answer, so a deployment without a rate
    /// limiter of its own that wants `throttle` enforced sets `throttle` here.
    public var litellmRefuseAt: Verdict = .block
    /// Identity values that never name an account, besides LiteLLM's own placeholders
    /// (`default_user_id`, `litellm_proxy_master_key`): e.g. the master key's hash.
    public var litellmPlaceholderIDs: [String] = []
    /// Span or resource attributes naming the account of an OTLP GenAI span, tried in order
    /// (``OTLPTraceReader``): `user.id`, then `enduser.id`.
    public var otlpAccountAttributes: [String] = OTLPTraceReader.defaultAccountAttributes
    /// Where Envoy's ext_authz `http_service.path_prefix` points: checks arrive at this
    /// prefix + the client's path (``EnvoyExtAuthzRoutes``).
    public var envoyPathPrefix = "/distillwatch"
    /// The header naming the account in Envoy's check requests (set by the gateway's
    /// authentication and let through by `allowed_headers`); without it, each client API key
    /// is an account.
    public var envoyAccountHeader = "x-account-id"
    /// The header Envoy adds DistillWatch's `decide` token in (`headers_to_add`).
    public var envoyKeyHeader = "x-api-key"
    /// Materialise prompt and response text while decoding; off by default. Text is never
    /// stored either way: the event log keeps exchanges without text, with their sketches.
    public var captureText = false
    /// Keep a keyed sketch of each answer served (exchanges with `response` text) for
    /// `distillwatch provenance check --index <database>` (Documentation/Provenance.md). The
    /// text itself is never stored. Needs content sketches (a content key).
    public var provenanceIndex = false
    /// Reduces prompts to content sketches at ingest (content signals); `nil` turns
    /// content signals off. `distillwatch serve` sets it from the same key as `scan`.
    public var sketcher: ContentSketcher?
    public var logLevel = "info"
    /// The provider's name in what it publishes (the STIX `identity`); publishing needs it.
    public var sharingProducer: String?
    /// The TLP 2.0 marking of what it publishes.
    public var sharingTLP: TrafficLightProtocol = .amber
    /// Partners' TAXII collections the server polls; their indicators are matched.
    public var taxiiFeeds: [TAXIIFeed] = []
    /// Days of hourly history (per account and for all traffic) and address and API-key
    /// sightings kept for the console and screening; older hours are deleted hourly.
    /// 0 keeps everything.
    public var historyRetentionDays = 400
    /// How long a console session lasts after sign-in, in hours (then the analyst signs
    /// in again). Sessions live in memory: a restart signs everyone out.
    public var consoleSessionHours = 12.0
    /// Where an account that must verify its identity goes to do it, quoted in the refusal
    /// for `require_verification` (Documentation/Countermeasures.md).
    public var verificationURL: String?
    /// The provider's own model that writes `summarize_reasoning` summaries, reachable
    /// through an OpenAI-compatible `chat/completions` endpoint (for instance a LiteLLM
    /// model). Without one, the reasoning is replaced by a fixed notice that says so.
    public var reasoningSummarizer: ReasoningSummarizerSettings?
    /// This node as one live shard of several (``ShardSettings``); `nil`: it answers for
    /// every account.
    public var shard: ShardSettings?

    /// `reasoning_summarizer: {url, model, api_key_env, timeout_ms, max_words}`.
    public struct ReasoningSummarizerSettings: Sendable, Equatable {
        /// The API base, e.g. `http://litellm:4000/v1` (`/chat/completions` is appended).
        public var url: String
        public var model: String
        /// The bearer key, from the environment variable `api_key_env` (optional).
        public var apiKey: String?
        /// How long to wait for a summary before serving the notice instead, in ms.
        public var timeoutMilliseconds: Int = 5_000
        /// The summary's length the summariser is asked for, in words.
        public var maxWords: Int = 80

        public init(url: String, model: String, apiKey: String? = nil, timeoutMilliseconds: Int = 5_000, maxWords: Int = 80) {
            self.url = url
            self.model = model
            self.apiKey = apiKey
            self.timeoutMilliseconds = timeoutMilliseconds
            self.maxWords = maxWords
        }
    }

    /// A partner's TAXII 2.1 collection to poll (`taxii_feeds` in the configuration file).
    public struct TAXIIFeed: Sendable, Equatable {
        /// Names the feed's collection here (`feed:NAME`) and in logs; `A–Z a–z 0–9 . _ -`.
        public var name: String
        public var apiRoot: String
        public var collection: String
        public var authentication: TAXIIClient.Authentication
        public var intervalSeconds: Double = 300

        public init(name: String, apiRoot: String, collection: String, authentication: TAXIIClient.Authentication, intervalSeconds: Double = 300) {
            self.name = name
            self.apiRoot = apiRoot
            self.collection = collection
            self.authentication = authentication
            self.intervalSeconds = intervalSeconds
        }
    }

    public init() {}

    /// Checks values that cannot be checked while parsing.
    /// The paths the server's own routes live under (`buildRouter`): Envoy's path prefix
    /// must be outside them, or its catch-all route would meet one of theirs (Hummingbird
    /// stops the process on a second handler for a path) or the console's sign-in.
    static let reservedPathPrefixes = ["/v1", "/beta", "/metrics", "/healthz", "/taxii2", "/console"]

    /// Checks every setting and the settings against each other.
    /// - Parameter sketcherFollows: the content sketcher is set after this check (the CLI
    ///   makes the content key only once the rest is valid): settings that need it pass.
    /// - Throws: ``ConfigurationError`` naming the first setting that is wrong.
    public func validate(sketcherFollows: Bool = false) throws(ConfigurationError) {
        guard (0...65_535).contains(port) else { throw ConfigurationError("port \(port) is not in 0...65535") }
        guard reorderToleranceSeconds >= 0, reorderToleranceSeconds.isFinite else {
            throw ConfigurationError("reorder_tolerance_seconds: \(reorderToleranceSeconds); give 0 or more seconds")
        }
        guard !tokens.isEmpty else {
            throw ConfigurationError(
                "no access token configured: give --token NAME:ROLE[+ROLE]:SECRET, DISTILLWATCH_TOKENS, or tokens: in the config file")
        }
        var seen: Set<String> = []
        var rolesByName: [String: Set<Role>] = [:]
        for t in tokens {
            guard seen.insert(t.secret).inserted else {
                throw ConfigurationError("token \"\(t.name)\": the same secret is configured twice")
            }
            // One name, two secrets with the same roles is a rotation; with other roles the
            // audit trail could not tell which of the two acted under the name.
            if let roles = rolesByName[t.name], roles != t.roles {
                throw ConfigurationError("token \"\(t.name)\": the name is configured twice with different roles "
                    + "(\(roles.map(\.rawValue).sorted().joined(separator: "+")) and \(t.roles.map(\.rawValue).sorted().joined(separator: "+"))); "
                    + "the audit trail names the token that acted, so give each its own name")
            }
            rolesByName[t.name] = t.roles
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ConfigurationError("log level \"\(logLevel)\": give one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for (name, bytes) in [("max_ingest_body_bytes", maxIngestBodyBytes), ("max_request_body_bytes", maxRequestBodyBytes),
                              ("max_guardrail_body_bytes", maxGuardrailBodyBytes)] where bytes <= 0 {
            throw ConfigurationError("\(name): \(bytes); give a positive number of bytes")
        }
        guard litellmRefuseAt != .allow else {
            throw ConfigurationError("litellm_refuse_at: allow would refuse every request; use block, throttle or review")
        }
        if provenanceIndex, sketcher == nil, !sketcherFollows {
            throw ConfigurationError("provenance_index needs content sketches: drop --no-content (the sketches are keyed by the content key)")
        }
        if let url = verificationURL {
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.utf8.count <= 2_048,
                  !url.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
                throw ConfigurationError("verification_url \"\(url)\": should be an http(s) URL without spaces, at most 2048 bytes")
            }
        }
        if let s = reasoningSummarizer {
            guard s.url.hasPrefix("https://") || s.url.hasPrefix("http://") else {
                throw ConfigurationError("reasoning_summarizer.url \"\(s.url)\": should be an http(s) URL such as http://litellm:4000/v1")
            }
            guard !s.model.isEmpty else { throw ConfigurationError("reasoning_summarizer.model: give the summariser model's name") }
            guard (100...120_000).contains(s.timeoutMilliseconds) else {
                throw ConfigurationError("reasoning_summarizer.timeout_ms: \(s.timeoutMilliseconds); give 100 to 120000")
            }
            guard (10...2_000).contains(s.maxWords) else {
                throw ConfigurationError("reasoning_summarizer.max_words: \(s.maxWords); give 10 to 2000")
            }
        }
        guard snapshotEveryEvents > 0 else {
            throw ConfigurationError("snapshot_every_events: \(snapshotEveryEvents); give a positive number of events")
        }
        // Past a year a snapshot by time is never taken; far past it, Duration.seconds traps.
        guard snapshotIntervalSeconds > 0, snapshotIntervalSeconds <= 31_536_000 else {
            throw ConfigurationError("snapshot_interval_seconds: \(snapshotIntervalSeconds); give a positive number of seconds up to 31536000 (a year)")
        }
        guard (0...36_500).contains(historyRetentionDays) else {
            throw ConfigurationError("history_retention_days: \(historyRetentionDays); give 0 (keep everything) to 36500 days")
        }
        guard consoleSessionHours > 0, consoleSessionHours <= 720, consoleSessionHours.isFinite else {
            throw ConfigurationError("console_session_hours: \(consoleSessionHours); give more than 0 and at most 720 hours")
        }
        guard snapshotsKept >= 2 else {
            throw ConfigurationError("snapshots_kept: \(snapshotsKept); keep at least 2, so that a damaged snapshot falls back to the one before")
        }
        guard maxBufferedExchanges > 0, maxPendingBatches > 0 else {
            throw ConfigurationError("max_buffered_exchanges and max_pending_batches must be positive")
        }
        guard envoyPathPrefix.hasPrefix("/"), envoyPathPrefix.count > 1, !envoyPathPrefix.hasSuffix("/"),
              !envoyPathPrefix.contains("*"), !envoyPathPrefix.contains(":"),
              !Self.reservedPathPrefixes.contains(where: { envoyPathPrefix == $0 || envoyPathPrefix.hasPrefix($0 + "/") }) else {
            throw ConfigurationError("envoy_path_prefix \"\(envoyPathPrefix)\": should be a path such as /distillwatch, "
                                     + "outside \(Self.reservedPathPrefixes.joined(separator: ", ")), without a trailing slash")
        }
        for (name, value) in [("envoy_account_header", envoyAccountHeader), ("envoy_key_header", envoyKeyHeader)] {
            guard HTTPField.Name(value) != nil else { throw ConfigurationError("\(name) \"\(value)\": not a header name") }
        }
        guard envoyKeyHeader.lowercased() != "authorization" else {
            throw ConfigurationError("envoy_key_header: authorization carries the client's own key; use a header of DistillWatch's own, such as x-api-key")
        }
        guard !otlpAccountAttributes.isEmpty, !otlpAccountAttributes.contains(where: { $0.isEmpty }) else {
            throw ConfigurationError("otlp_account_attributes: give one or more attribute names (default: user.id, enduser.id)")
        }
        try shard?.validate()
        // Databases DistillWatch reads or writes (a URL naming a table is refused).
        for (setting, url) in [("console_clickhouse", consoleClickHouse), ("decision_audit_clickhouse", decisionAuditClickHouse)] {
            guard let url else { continue }
            do {
                _ = try ClickHouseEndpoint(parsing: url, forbidTable: true)
            } catch {
                throw ConfigurationError("\(setting): \(error)")
            }
        }
        if decisionAuditClickHouse != nil {
            guard decisionAudit != .none else {
                throw ConfigurationError("decision_audit_clickhouse copies the decision audit, but decision_audit is none: set flagged or all")
            }
        }
        do {
            _ = try LiteLLMIdentity.parseOrder(litellmAccountFields)
        } catch {
            throw ConfigurationError(error.description)
        }
    }

    /// How LiteLLM calls and logs name accounts (valid once ``validate()`` passed).
    public var litellmIdentity: LiteLLMIdentity {
        LiteLLMIdentity(order: (try? LiteLLMIdentity.parseOrder(litellmAccountFields)) ?? LiteLLMIdentity.defaultOrder,
                        extraPlaceholders: Set(litellmPlaceholderIDs))
    }

    var reorderToleranceMilliseconds: Int64 { Int64(clamping: (reorderToleranceSeconds * 1000).rounded()) }

    /// Where snapshots go, or `nil` when there are none (`:memory:`, or turned off).
    var resolvedSnapshotDirectory: String? {
        guard snapshotsEnabled, database != ":memory:" else { return nil }
        return snapshotDirectory ?? database + ".snapshots"
    }
}

/// A configuration problem, with what to change.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
