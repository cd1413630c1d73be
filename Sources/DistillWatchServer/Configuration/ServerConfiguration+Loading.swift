import DistillWatchCore
import DistillWatchIngest
import DistillWatchSharing
import DistillWatchTAXII
import DistillWatchStore
import Foundation
import Yams

extension ServerConfiguration {
    /// Overlays a YAML configuration file:
    ///
    /// ```yaml
    /// host: 127.0.0.1
    /// port: 8080
    /// database: /var/lib/distillwatch/state.sqlite
    /// synchronous: full            # or normal
    /// reorder_tolerance_seconds: 300
    /// policy: policy.yaml          # relative to this file
    /// max_ingest_body_bytes: 33554432
    /// max_request_body_bytes: 262144
    /// decision_audit: flagged      # flagged (default), all or none
/// decision_audit_clickhouse: clickhouse://ch1:8123/dw   # a copy in dw_decisions (or none)
    /// litellm_account_fields: [org_id, team_id, user_id, key_alias, key_hash, end_user_id]
    /// litellm_placeholder_ids: []         # besides default_user_id, litellm_proxy_master_key
    /// litellm_refuse_at: block            # or throttle, review
    /// max_guardrail_body_bytes: 67108864
    /// otlp_account_attributes: [user.id, enduser.id]
    /// envoy_path_prefix: /distillwatch    # Envoy ext_authz http_service.path_prefix
    /// envoy_account_header: x-account-id
    /// envoy_key_header: x-api-key
    /// verification_url: https://example.com/verify
    /// reasoning_summarizer: {url: http://litellm:4000/v1, model: summariser, api_key_env: DW_SUMMARISER_KEY}
    /// tokens:
    ///   - {name: gateway, roles: [decide], secret_env: DW_GATEWAY_TOKEN}
    ///   - {name: pipeline, roles: [ingest], secret: "..."}
    /// ```
    public mutating func apply(yamlFile path: String, environment: [String: String]) throws(ConfigurationError) {
        let text = try Self.readText(path, what: "configuration file")
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw ConfigurationError("\(path): not valid YAML: \(error)")
        }
        guard let map = node as? [String: Any] else {
            throw ConfigurationError("\(path): expected a mapping of settings at the top level")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        func fail(_ key: String, _ what: String) -> ConfigurationError {
            ConfigurationError("\(path): \(key): \(what)")
        }
        for (key, value) in map {
            switch key {
            case "host":
                guard let v = value as? String else { throw fail(key, "should be a string") }
                host = v
            case "port":
                guard let v = value as? Int else { throw fail(key, "should be an integer") }
                port = v
            case "database":
                guard let v = value as? String else { throw fail(key, "should be a string") }
                database = v == ":memory:" || v.hasPrefix("/") ? v : directory + "/" + v
            case "synchronous":
                guard let v = (value as? String).flatMap(SQLiteEventStore.Synchronous.init(rawValue:)) else {
                    throw fail(key, "should be full or normal")
                }
                synchronous = v
            case "reorder_tolerance_seconds":
                guard let v = (value as? Double) ?? (value as? Int).map(Double.init) else { throw fail(key, "should be a number") }
                reorderToleranceSeconds = v
            case "policy":
                guard let v = value as? String else { throw fail(key, "should be a path") }
                try loadPolicy(v.hasPrefix("/") ? v : directory + "/" + v)
            case "max_ingest_body_bytes":
                guard let v = value as? Int else { throw fail(key, "should be an integer") }
                maxIngestBodyBytes = v
            case "max_request_body_bytes":
                guard let v = value as? Int else { throw fail(key, "should be an integer") }
                maxRequestBodyBytes = v
            case "decision_audit":
                guard let v = (value as? String).flatMap(DecisionAudit.init(rawValue:)) else {
                    throw fail(key, "should be all, flagged or none")
                }
                decisionAudit = v
            case "console_clickhouse":
                guard let v = value as? String, !v.isEmpty else { throw fail(key, "should be clickhouse://HOST:PORT/DATABASE, or none") }
                consoleClickHouse = v == "none" ? nil : v
            case "decision_audit_clickhouse":
                guard let v = value as? String, !v.isEmpty else { throw fail(key, "should be clickhouse://HOST:PORT/DATABASE, or none") }
                decisionAuditClickHouse = v == "none" ? nil : v
            case "audit_queue_capacity":
                guard let v = value as? Int, v > 0 else { throw fail(key, "should be a positive integer") }
                auditQueueCapacity = v
            case "snapshot_directory":
                // `off` unquoted is YAML 1.1's false (Yams reads it so): the same setting.
                if value as? Bool == false, !(value is String) { snapshotsEnabled = false; continue }
                guard let v = value as? String, !v.isEmpty else { throw fail(key, "should be a directory path, or off") }
                if v == "off" { snapshotsEnabled = false } else { snapshotDirectory = v }
            case "snapshot_every_events", "snapshots_kept", "max_buffered_exchanges", "max_pending_batches":
                guard let v = value as? Int, v > 0 else { throw fail(key, "should be a positive integer") }
                switch key {
                case "snapshot_every_events": snapshotEveryEvents = v
                case "snapshots_kept": snapshotsKept = v
                case "max_buffered_exchanges": maxBufferedExchanges = v
                default: maxPendingBatches = v
                }
            case "snapshot_interval_seconds":
                guard let v = (value as? Double) ?? (value as? Int).map(Double.init), v > 0 else { throw fail(key, "should be a positive number") }
                snapshotIntervalSeconds = v
            case "log_retention":
                guard let v = (value as? String).flatMap(LogRetention.init(rawValue:)) else { throw fail(key, "should be compact or keep") }
                logRetention = v
            case "litellm_account_fields":
                guard let v = value as? [String] else { throw fail(key, "should be a list of field names") }
                litellmAccountFields = v
            case "litellm_refuse_at":
                guard let v = (value as? String).flatMap(Verdict.init(rawValue:)) else {
                    throw fail(key, "should be block, throttle or review")
                }
                litellmRefuseAt = v
            case "litellm_placeholder_ids":
                guard let v = value as? [String] else { throw fail(key, "should be a list of identity values") }
                litellmPlaceholderIDs = v
            case "otlp_account_attributes":
                guard let v = value as? [String] else { throw fail(key, "should be a list of attribute names") }
                otlpAccountAttributes = v
            case "envoy_path_prefix", "envoy_account_header", "envoy_key_header":
                guard let v = value as? String else { throw fail(key, "should be a string") }
                if key == "envoy_path_prefix" { envoyPathPrefix = v } else if key == "envoy_account_header" { envoyAccountHeader = v } else { envoyKeyHeader = v }
            case "max_guardrail_body_bytes":
                guard let v = value as? Int else { throw fail(key, "should be an integer") }
                maxGuardrailBodyBytes = v
            case "capture_text":
                guard let v = value as? Bool else { throw fail(key, "should be true or false") }
                captureText = v
            case "provenance_index":
                guard let v = value as? Bool else { throw fail(key, "should be true or false") }
                provenanceIndex = v
            case "log_level":
                guard let v = value as? String else { throw fail(key, "should be a string") }
                logLevel = v
            case "sharing_producer":
                guard let v = value as? String, !v.isEmpty else { throw fail(key, "should be the provider's name") }
                sharingProducer = v
            case "taxii_feeds":
                guard let list = value as? [[String: Any]] else {
                    throw fail(key, "should be a list of {name, api_root, collection, and bearer_env, token_env or user with password_env}")
                }
                for (i, entry) in list.enumerated() {
                    let at = "taxii_feeds[\(i)]"
                    let known = ["api_root", "bearer_env", "collection", "interval_seconds", "name", "password_env", "token_env", "user"]
                    if let unknown = entry.keys.sorted().first(where: { !known.contains($0) }) {
                        throw fail("\(at).\(unknown)", "unknown setting; known: \(known.joined(separator: ", "))")
                    }
                    let ways = ["bearer_env", "token_env", "user"].filter { entry[$0] != nil }
                    guard ways.count <= 1 else {
                        throw fail(at, "gives \(ways.joined(separator: " and ")): give one way to authenticate")
                    }
                    guard let name = entry["name"] as? String, SharingKey.isValidID(name) else { throw fail(at, "needs a name of A–Z a–z 0–9 . _ -") }
                    guard let root = entry["api_root"] as? String, root.hasPrefix("http://") || root.hasPrefix("https://") else {
                        throw fail(at, "needs api_root, an http(s) URL")
                    }
                    guard let collection = entry["collection"] as? String, !collection.isEmpty else { throw fail(at, "needs collection (its id)") }
                    func secret(_ key: String) throws(ConfigurationError) -> String {
                        guard let env = entry[key] as? String, let s = environment[env], !s.isEmpty else {
                            throw fail(at, "\(key) must name a set environment variable")
                        }
                        return s
                    }
                    var auth = TAXIIClient.Authentication.none
                    if entry["bearer_env"] != nil { auth = .bearer(try secret("bearer_env")) }
                    else if entry["token_env"] != nil { auth = .token(try secret("token_env")) }
                    else if let user = entry["user"] as? String { auth = .basic(user: user, password: try secret("password_env")) }
                    let interval = try Self.seconds(entry["interval_seconds"], default: 300) { fail(at, "interval_seconds should be a number of seconds") }
                    guard interval >= 1, interval <= 604_800 else { throw fail(at, "interval_seconds must be from 1 to 604800 (a week)") }
                    guard !taxiiFeeds.contains(where: { $0.name == name }) else { throw fail(at, "feed \(name) appears twice") }
                    taxiiFeeds.append(TAXIIFeed(name: name, apiRoot: root, collection: collection, authentication: auth, intervalSeconds: interval))
                }
            case "history_retention_days":
                guard let v = value as? Int, v >= 0, v <= 36_500 else { throw fail(key, "should be a number of days from 0 (keep everything) to 36500") }
                historyRetentionDays = v
            case "console_session_hours":
                guard let v = (value as? Double) ?? (value as? Int).map(Double.init), v > 0, v <= 720 else {
                    throw fail(key, "should be a number of hours above 0 and at most 720")
                }
                consoleSessionHours = v
            case "verification_url":
                guard let v = value as? String, !v.isEmpty else { throw fail(key, "should be an http(s) URL, or none") }
                verificationURL = v == "none" ? nil : v
            case "reasoning_summarizer":
                if let v = value as? String, v == "none" {
                    reasoningSummarizer = nil
                    continue
                }
                guard let m = value as? [String: Any] else {
                    throw fail(key, "should be a mapping {url, model, api_key_env, timeout_ms, max_words}, or none")
                }
                for k in m.keys where !["url", "model", "api_key_env", "timeout_ms", "max_words"].contains(k) {
                    throw fail("\(key).\(k)", "unknown setting; known: url, model, api_key_env, timeout_ms, max_words")
                }
                guard let url = m["url"] as? String else { throw fail("\(key).url", "should be the summariser's API base URL") }
                guard let model = m["model"] as? String else { throw fail("\(key).model", "should be the summariser model's name") }
                var settings = ReasoningSummarizerSettings(url: url, model: model)
                if let env = m["api_key_env"] {
                    guard let env = env as? String, let secret = environment[env], !secret.isEmpty else {
                        throw fail("\(key).api_key_env", "must name a set environment variable")
                    }
                    settings.apiKey = secret
                }
                if let t = m["timeout_ms"] {
                    guard let t = t as? Int else { throw fail("\(key).timeout_ms", "should be a whole number of milliseconds") }
                    settings.timeoutMilliseconds = t
                }
                if let w = m["max_words"] {
                    guard let w = w as? Int else { throw fail("\(key).max_words", "should be a whole number of words") }
                    settings.maxWords = w
                }
                reasoningSummarizer = settings
            case "shard":
                if let v = value as? String, v == "none" { shard = nil; continue }
                guard let entry = value as? [String: Any] else {
                    throw fail(key, "should be a mapping {index, nodes, owner_down, forward_timeout_ms, campaigns}")
                }
                shard = try Self.shardSettings(entry, fail: { fail("shard." + $0, $1) })
            case "sharing_tlp":
                guard let v = value as? String, let tlp = TrafficLightProtocol(name: v) else {
                    throw fail(key, "should be clear, green, amber, amber+strict or red")
                }
                sharingTLP = tlp
            case "tokens":
                guard let list = value as? [[String: Any]] else { throw fail(key, "should be a list of {name, roles, secret or secret_env}") }
                for (i, entry) in list.enumerated() {
                    guard let name = entry["name"] as? String else { throw fail("tokens[\(i)]", "needs a name") }
                    let roleNames = (entry["roles"] as? [String]) ?? (entry["roles"] as? String).map { [$0] } ?? []
                    var roles: Set<Role> = []
                    for r in roleNames {
                        guard let role = Role(rawValue: r) else { throw fail("tokens[\(i)]", "unknown role \"\(r)\"") }
                        roles.insert(role)
                    }
                    guard !roles.isEmpty else { throw fail("tokens[\(i)]", "needs roles (ingest, decide, analyst, exempt, share_read, share_write)") }
                    let secret: String
                    if entry["secret"] != nil, entry["secret_env"] != nil {
                        throw fail("tokens[\(i)]", "gives both secret and secret_env: give one, so that which secret holds is never a guess")
                    }
                    if let s = entry["secret"] as? String {
                        secret = s
                    } else if let env = entry["secret_env"] as? String {
                        guard let s = environment[env], !s.isEmpty else {
                            throw fail("tokens[\(i)]", "environment variable \(env) is not set")
                        }
                        secret = s
                    } else {
                        throw fail("tokens[\(i)]", "needs secret or secret_env")
                    }
                    tokens.append(try AccessToken(name: name, secret: secret, roles: roles, checked: ()))
                }
            default:
                throw fail(key, "unknown setting; known: \(Self.fileKeys.joined(separator: ", "))")
            }
        }
    }

    /// A number of seconds a configuration file gives (`interval_seconds`): `fallback` when
    /// absent. Anything else that is not a YAML number, a quoted `"60"` among them, is an
    /// error: it used to fall back to the default without a word.
    /// - Throws: what `failure` makes.
    static func seconds(_ value: Any?, default fallback: Double,
                        failure: () -> ConfigurationError) throws(ConfigurationError) -> Double {
        guard let value else { return fallback }
        if let v = value as? Int { return Double(v) }
        if let v = value as? Double { return v }
        throw failure()
    }

    /// Reads `shard:` (``ShardSettings``); checked in full by ``ShardSettings/validate()``.
    static func shardSettings(_ entry: [String: Any],
                              fail: (String, String) -> ConfigurationError) throws(ConfigurationError) -> ShardSettings {
        let known: Set<String> = ["index", "nodes", "owner_down", "forward_timeout_ms", "campaigns"]
        if let unknown = entry.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail(unknown, "unknown setting; known: \(known.sorted().joined(separator: ", "))")
        }
        guard let nodes = entry["nodes"] as? [String], !nodes.isEmpty else {
            throw fail("nodes", "should be the list of every shard's node URL, in shard order")
        }
        guard let index = entry["index"] as? Int, index >= 0, index < nodes.count else {
            throw fail("index", "should be this node's shard, from 0 to \(max(0, entry["nodes"].flatMap { ($0 as? [Any])?.count } ?? 1) - 1)")
        }
        let shard: AccountShard
        do { shard = try AccountShard(parsing: "\(index)/\(nodes.count)") } catch { throw fail("index", error.description) }
        var settings = ShardSettings(shard: shard, nodes: nodes)
        if let v = entry["owner_down"] {
            guard let name = v as? String, let mode = ShardSettings.OwnerDown(rawValue: name) else {
                throw fail("owner_down", "should be allow or refuse")
            }
            settings.ownerDown = mode
        }
        if let v = entry["forward_timeout_ms"] {
            guard let ms = v as? Int else { throw fail("forward_timeout_ms", "should be a number of milliseconds") }
            settings.forwardTimeoutMilliseconds = ms
        }
        if let v = entry["campaigns"] {
            guard let feed = v as? [String: Any], let store = feed["store"] as? String, let run = feed["run"] as? String else {
                throw fail("campaigns", "should be {store: clickhouse://HOST:PORT/DATABASE, run: ID, interval_seconds: 300}")
            }
            if let unknown = feed.keys.sorted().first(where: { !["store", "run", "interval_seconds"].contains($0) }) {
                throw fail("campaigns." + unknown, "unknown setting; known: interval_seconds, run, store")
            }
            let interval = try seconds(feed["interval_seconds"], default: 300) { fail("campaigns.interval_seconds", "should be a number of seconds") }
            settings.campaigns = ShardSettings.CampaignFeed(store: store, run: run, intervalSeconds: interval)
        }
        return settings
    }

    /// Overlays `DISTILLWATCH_*` environment variables: `HOST`, `PORT`, `DATABASE`,
    /// `SYNCHRONOUS`, `REORDER_TOLERANCE_SECONDS`, `POLICY`, `TOKENS` (entries
    /// `NAME:ROLE[+ROLE]:SECRET` separated by commas or white space), `MAX_INGEST_BODY_BYTES`,
    /// `MAX_REQUEST_BODY_BYTES`, `MAX_GUARDRAIL_BODY_BYTES`, `DECISION_AUDIT`, `DECISION_AUDIT_CLICKHOUSE`, `CONSOLE_CLICKHOUSE`, `LITELLM_ACCOUNT_FIELDS`,
    /// `LITELLM_PLACEHOLDER_IDS`, `LITELLM_REFUSE_AT`, `OTLP_ACCOUNT_ATTRIBUTES`, `ENVOY_PATH_PREFIX`, `ENVOY_ACCOUNT_HEADER`,
    /// `ENVOY_KEY_HEADER`, `SNAPSHOT_DIRECTORY`, `SNAPSHOT_EVERY_EVENTS`, `SNAPSHOT_INTERVAL_SECONDS`, `SNAPSHOTS_KEPT`,
    /// `LOG_RETENTION`, `MAX_BUFFERED_EXCHANGES`, `MAX_PENDING_BATCHES`, `LOG_LEVEL`, `VERIFICATION_URL`.
    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            environment["DISTILLWATCH_" + name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func int(_ name: String) throws(ConfigurationError) -> Int? {
            guard let v = value(name) else { return nil }
            guard let i = Int(v) else { throw ConfigurationError("DISTILLWATCH_\(name)=\(v): not an integer") }
            return i
        }
        if let v = value("HOST") { host = v }
        if let v = try int("PORT") { port = v }
        if let v = value("DATABASE") { database = v }
        if let v = value("SYNCHRONOUS") {
            guard let s = SQLiteEventStore.Synchronous(rawValue: v) else {
                throw ConfigurationError("DISTILLWATCH_SYNCHRONOUS=\(v): should be full or normal")
            }
            synchronous = s
        }
        if let v = value("REORDER_TOLERANCE_SECONDS") {
            guard let d = Double(v) else { throw ConfigurationError("DISTILLWATCH_REORDER_TOLERANCE_SECONDS=\(v): not a number") }
            reorderToleranceSeconds = d
        }
        if let v = value("POLICY") { try loadPolicy(v) }
        if let v = value("TOKENS") {
            for entry in v.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
                tokens.append(try AccessToken(parsing: entry))
            }
        }
        if let v = value("SNAPSHOT_DIRECTORY") {
            if v == "off" { snapshotsEnabled = false } else { snapshotDirectory = v }
        }
        if let v = try int("SNAPSHOT_EVERY_EVENTS") { snapshotEveryEvents = v }
        if let v = value("SNAPSHOT_INTERVAL_SECONDS") {
            guard let d = Double(v) else { throw ConfigurationError("DISTILLWATCH_SNAPSHOT_INTERVAL_SECONDS=\(v): not a number") }
            snapshotIntervalSeconds = d
        }
        if let v = try int("SNAPSHOTS_KEPT") { snapshotsKept = v }
        if let v = value("LOG_RETENTION") {
            guard let r = LogRetention(rawValue: v) else { throw ConfigurationError("DISTILLWATCH_LOG_RETENTION=\(v): should be compact or keep") }
            logRetention = r
        }
        if let v = try int("MAX_BUFFERED_EXCHANGES") { maxBufferedExchanges = v }
        if let v = try int("MAX_PENDING_BATCHES") { maxPendingBatches = v }
        if let v = try int("HISTORY_RETENTION_DAYS") { historyRetentionDays = v }
        if let v = value("CONSOLE_SESSION_HOURS") {
            guard let hours = Double(v) else { throw ConfigurationError("DISTILLWATCH_CONSOLE_SESSION_HOURS=\(v): should be a number of hours") }
            consoleSessionHours = hours
        }
        if let v = try int("MAX_INGEST_BODY_BYTES") { maxIngestBodyBytes = v }
        if let v = try int("MAX_REQUEST_BODY_BYTES") { maxRequestBodyBytes = v }
        if let v = value("DECISION_AUDIT") {
            guard let a = DecisionAudit(rawValue: v) else {
                throw ConfigurationError("DISTILLWATCH_DECISION_AUDIT=\(v): should be all, flagged or none")
            }
            decisionAudit = a
        }
        if let v = value("DECISION_AUDIT_CLICKHOUSE") { decisionAuditClickHouse = v == "none" ? nil : v }
        if let v = value("CONSOLE_CLICKHOUSE") { consoleClickHouse = v == "none" ? nil : v }
        if let v = value("LITELLM_ACCOUNT_FIELDS") {
            litellmAccountFields = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let v = value("LITELLM_PLACEHOLDER_IDS") {
            litellmPlaceholderIDs = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let v = try int("MAX_GUARDRAIL_BODY_BYTES") { maxGuardrailBodyBytes = v }
        if let v = value("LITELLM_REFUSE_AT") {
            guard let verdict = Verdict(rawValue: v) else {
                throw ConfigurationError("DISTILLWATCH_LITELLM_REFUSE_AT=\(v): should be block, throttle or review")
            }
            litellmRefuseAt = verdict
        }
        if let v = value("OTLP_ACCOUNT_ATTRIBUTES") {
            otlpAccountAttributes = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let v = value("ENVOY_PATH_PREFIX") { envoyPathPrefix = v }
        if let v = value("ENVOY_ACCOUNT_HEADER") { envoyAccountHeader = v }
        if let v = value("ENVOY_KEY_HEADER") { envoyKeyHeader = v }
        if let v = value("LOG_LEVEL") { logLevel = v }
        if let v = value("VERIFICATION_URL") { verificationURL = v }
        if let v = value("PROVENANCE_INDEX") {
            guard let b = Bool(v) else { throw ConfigurationError("DISTILLWATCH_PROVENANCE_INDEX=\(v): should be true or false") }
            provenanceIndex = b
        }
        if let v = value("SHARING_PRODUCER") { sharingProducer = v }
        if let v = value("SHARING_TLP") {
            guard let tlp = TrafficLightProtocol(name: v) else {
                throw ConfigurationError("DISTILLWATCH_SHARING_TLP=\(v): should be clear, green, amber, amber+strict or red")
            }
            sharingTLP = tlp
        }
    }

    /// The text of a file the server is configured from (a configuration or policy file),
    /// up to 16 MiB.
    /// - Throws: ``ConfigurationError`` naming the file and why it cannot be read: missing,
    ///   a directory, the system's reason (`strerror(3)`), too large or not UTF-8.
    static func readText(_ path: String, what: String) throws(ConfigurationError) -> String {
        let bytes: Data
        do {
            bytes = try WholeFileReader.read(path, maximumBytes: 16 << 20)
        } catch {
            switch error {
            case .missing: throw ConfigurationError("\(path): no such file (the \(what))")
            case .directory: throw ConfigurationError("\(path): is a directory, not a \(what)")
            case .tooLarge(let limit, _): throw ConfigurationError("\(path): larger than \(limit) bytes; not a \(what)")
            case .unreadable(let reason): throw ConfigurationError("\(path): cannot read the \(what): \(reason)")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError("\(path): not UTF-8 text, so not a \(what)")
        }
        return text
    }

    /// Loads a YAML policy file (the same format as `scan --policy`).
    public mutating func loadPolicy(_ path: String) throws(ConfigurationError) {
        let text = try Self.readText(path, what: "policy file")
        do {
            policy = try PolicyFile.load(yaml: text, source: path)
        } catch let error as PolicyFileError {
            throw ConfigurationError(error.description)
        } catch {
            throw ConfigurationError("\(path): \(error)")
        }
        policyPath = path
    }
}

extension ServerConfiguration {
    /// The settings a configuration file may name (Examples/serve.yaml names each).
    public static let fileKeys = [
        "host", "port", "database", "synchronous", "reorder_tolerance_seconds", "policy", "max_ingest_body_bytes",
        "max_request_body_bytes", "max_guardrail_body_bytes", "decision_audit", "decision_audit_clickhouse", "audit_queue_capacity",
        "snapshot_directory", "snapshot_every_events", "snapshot_interval_seconds", "snapshots_kept", "log_retention",
        "max_buffered_exchanges", "max_pending_batches",
        "litellm_account_fields", "litellm_placeholder_ids", "litellm_refuse_at", "otlp_account_attributes", "envoy_path_prefix", "envoy_account_header", "envoy_key_header", "capture_text",
        "log_level", "tokens", "sharing_producer", "sharing_tlp", "taxii_feeds", "history_retention_days", "console_session_hours",
        "verification_url", "reasoning_summarizer", "provenance_index", "shard", "console_clickhouse",
    ]
}
