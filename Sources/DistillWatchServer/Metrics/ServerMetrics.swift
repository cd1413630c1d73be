import Synchronization
import CoreMetrics
import DistillWatchCore
import Metrics
import Prometheus

/// The server's metrics, through swift-metrics handlers backed by a Prometheus registry
/// of the application's own (no global bootstrap, so tests can build many applications).
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `distillwatch_exchanges_total` | counter | `result` = accepted, rejected |
/// | `distillwatch_account_records_total` | counter | `result` |
/// | `distillwatch_decisions_total` | counter | `verdict`, `endpoint` |
/// | `distillwatch_request_duration_seconds` | histogram | `endpoint` |
/// | `distillwatch_accounts` | gauge | `verdict` (accounts with traffic) |
/// | `distillwatch_campaigns` | gauge | |
/// | `distillwatch_labels_total` | counter | `label` |
/// | `distillwatch_audit_dropped_total`, `distillwatch_audit_written_total` | counter | |
/// | `distillwatch_reorder_buffered_exchanges`, `distillwatch_log_sequence` | gauge | |
/// | `distillwatch_ingest_lane_starvations_total` | counter | (``BackgroundLane``'s watchdog raises) |
// swift-prometheus has its own Counter and Gauge; these are swift-metrics'.
typealias MCounter = CoreMetrics.Counter
typealias MGauge = CoreMetrics.Gauge
typealias MTimer = CoreMetrics.Timer

final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory

    let exchangesAccepted: MCounter
    let exchangesRejected: MCounter
    /// The same count, readable (the console's ingest health).
    let exchangesRejectedSinceStart = Atomic<Int>(0)
    let accountsAccepted: MCounter
    let accountsRejected: MCounter
    private let decisions: [String: [Verdict: MCounter]]
    private let durations: [String: MTimer]
    private let labels: [AnalystLabel: MCounter]
    private let accountGauges: [Verdict: MGauge]
    let campaigns: MGauge
    private let auditDropped: MCounter
    private let auditWritten: MCounter
    /// The audit totals already counted, so each scrape adds only what is new.
    private let auditCounted = Mutex((written: 0, dropped: 0))
    let buffered: MGauge
    let sequence: MGauge
    /// LiteLLM guardrail calls by outcome: `identified` (judged), `unidentified` (no
    /// account: answered NONE and audited), `learned` (the request fed to the engine).
    let guardrailIdentified: MCounter
    let guardrailUnidentified: MCounter
    let guardrailLearned: MCounter
    /// OTLP spans received: GenAI spans accepted or rejected, other spans ignored.
    private let otlpSpans: [String: MCounter]
    /// Exchanges merged into one with the same request id (a guardrail call and its log),
    /// and duplicates dropped: gauges of the engine's counts.
    let mergedExchanges: MGauge
    let duplicateExchanges: MGauge
    // Durability (Documentation/Server.md, "Snapshots", "Storage faults", "Bounds").
    /// 1 while the store takes writes, 0 while ingest and labels are refused (503).
    let storageAvailable: MGauge
    let storageFaults: MCounter
    /// Batches refused without being written: `storage` (503) or `busy` (429, the pending
    /// queue at its bound).
    let ingestRefusedStorage: MCounter
    let ingestRefusedBusy: MCounter
    let snapshotsWritten: MCounter
    let snapshotsFailed: MCounter
    let snapshotSequence: MGauge
    let snapshotBytes: MGauge
    let snapshotSeconds: MGauge
    let compactedEvents: MCounter
    let reorderOverflow: MGauge
    let reorderLimit: MGauge
    let pendingBatches: MGauge
    /// Times the ingest lane's watchdog found it starved (``BackgroundLane/starvations``),
    /// and how many of them are already counted.
    private let laneStarvations: MCounter
    private let laneStarvationsCounted = Mutex(0)

    static let endpoints = ["decide", "litellm", "exchanges", "accounts", "litellm_logs", "otlp_traces", "envoy"]

    /// What an Envoy check was: it named an account or not, and its request was learned.
    enum EnvoyCheck: String, CaseIterable { case identified, unidentified, learned }
    private let envoyCheckCounters: [EnvoyCheck: MCounter]

    func envoyChecks(_ kind: EnvoyCheck) { envoyCheckCounters[kind]?.increment() }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        self.factory = factory
        exchangesAccepted = MCounter(label: "distillwatch_exchanges_total", dimensions: [("result", "accepted")], factory: factory)
        exchangesRejected = MCounter(label: "distillwatch_exchanges_total", dimensions: [("result", "rejected")], factory: factory)
        accountsAccepted = MCounter(label: "distillwatch_account_records_total", dimensions: [("result", "accepted")], factory: factory)
        accountsRejected = MCounter(label: "distillwatch_account_records_total", dimensions: [("result", "rejected")], factory: factory)
        var decisions: [String: [Verdict: MCounter]] = [:]
        for endpoint in ["decide", "litellm", "envoy"] {
            for v in Verdict.allCases {
                decisions[endpoint, default: [:]][v] = MCounter(
                    label: "distillwatch_decisions_total", dimensions: [("endpoint", endpoint), ("verdict", v.rawValue)], factory: factory)
            }
        }
        self.decisions = decisions
        var durations: [String: MTimer] = [:]
        for endpoint in Self.endpoints {
            durations[endpoint] = MTimer(label: "distillwatch_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
        }
        self.durations = durations
        labels = [
            .confirmedAttack: MCounter(label: "distillwatch_labels_total", dimensions: [("label", AnalystLabel.confirmedAttack.rawValue)], factory: factory),
            .legitimate: MCounter(label: "distillwatch_labels_total", dimensions: [("label", AnalystLabel.legitimate.rawValue)], factory: factory),
        ]
        var accountGauges: [Verdict: MGauge] = [:]
        for v in Verdict.allCases {
            accountGauges[v] = MGauge(label: "distillwatch_accounts", dimensions: [("verdict", v.rawValue)], factory: factory)
        }
        self.accountGauges = accountGauges
        campaigns = MGauge(label: "distillwatch_campaigns", factory: factory)
        auditDropped = MCounter(label: "distillwatch_audit_dropped_total", factory: factory)
        auditWritten = MCounter(label: "distillwatch_audit_written_total", factory: factory)
        buffered = MGauge(label: "distillwatch_reorder_buffered_exchanges", factory: factory)
        sequence = MGauge(label: "distillwatch_log_sequence", factory: factory)
        guardrailIdentified = MCounter(label: "distillwatch_litellm_guardrail_calls_total", dimensions: [("result", "identified")], factory: factory)
        guardrailUnidentified = MCounter(label: "distillwatch_litellm_guardrail_calls_total", dimensions: [("result", "unidentified")], factory: factory)
        guardrailLearned = MCounter(label: "distillwatch_litellm_guardrail_calls_total", dimensions: [("result", "learned")], factory: factory)
        envoyCheckCounters = Dictionary(uniqueKeysWithValues: EnvoyCheck.allCases.map {
            ($0, MCounter(label: "distillwatch_envoy_checks_total", dimensions: [("result", $0.rawValue)], factory: factory))
        })
        otlpSpans = Dictionary(uniqueKeysWithValues: ["accepted", "rejected", "ignored"].map {
            ($0, MCounter(label: "distillwatch_otlp_spans_total", dimensions: [("result", $0)], factory: factory))
        })
        mergedExchanges = MGauge(label: "distillwatch_merged_exchanges", factory: factory)
        duplicateExchanges = MGauge(label: "distillwatch_duplicate_exchanges", factory: factory)
        storageAvailable = MGauge(label: "distillwatch_storage_available", factory: factory)
        storageFaults = MCounter(label: "distillwatch_storage_faults_total", factory: factory)
        ingestRefusedStorage = MCounter(label: "distillwatch_ingest_refused_total", dimensions: [("reason", "storage")], factory: factory)
        ingestRefusedBusy = MCounter(label: "distillwatch_ingest_refused_total", dimensions: [("reason", "busy")], factory: factory)
        snapshotsWritten = MCounter(label: "distillwatch_snapshots_total", dimensions: [("result", "written")], factory: factory)
        snapshotsFailed = MCounter(label: "distillwatch_snapshots_total", dimensions: [("result", "failed")], factory: factory)
        snapshotSequence = MGauge(label: "distillwatch_snapshot_last_sequence", factory: factory)
        snapshotBytes = MGauge(label: "distillwatch_snapshot_bytes", factory: factory)
        snapshotSeconds = MGauge(label: "distillwatch_snapshot_duration_seconds", factory: factory)
        compactedEvents = MCounter(label: "distillwatch_log_compacted_events_total", factory: factory)
        reorderOverflow = MGauge(label: "distillwatch_reorder_overflow_exchanges", factory: factory)
        reorderLimit = MGauge(label: "distillwatch_reorder_buffer_limit", factory: factory)
        pendingBatches = MGauge(label: "distillwatch_ingest_pending_batches", factory: factory)
        laneStarvations = MCounter(label: "distillwatch_ingest_lane_starvations_total", factory: factory)
        storageAvailable.record(1)
    }

    func decided(_ verdict: Verdict, endpoint: String) {
        decisions[endpoint]?[verdict]?.increment()
    }

    func countSpans(accepted: Int, rejected: Int, ignored: Int) {
        otlpSpans["accepted"]?.increment(by: accepted)
        otlpSpans["rejected"]?.increment(by: rejected)
        otlpSpans["ignored"]?.increment(by: ignored)
    }

    func duration(_ endpoint: String, since start: ContinuousClock.Instant) {
        durations[endpoint]?.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }

    func labelled(_ label: AnalystLabel) {
        labels[label]?.increment()
    }

    /// Brings the audit counters up to the audit log's totals (which only grow).
    func countAudit(written: Int, dropped: Int) {
        let (newlyWritten, newlyDropped) = auditCounted.withLock { counted in
            defer { counted = (max(counted.written, written), max(counted.dropped, dropped)) }
            return (max(0, written - counted.written), max(0, dropped - counted.dropped))
        }
        if newlyWritten > 0 { auditWritten.increment(by: newlyWritten) }
        if newlyDropped > 0 { auditDropped.increment(by: newlyDropped) }
    }

    /// Adds the lane's starvations since the last scrape (`total`: the lane's count).
    func countLaneStarvations(_ total: Int) {
        let new = laneStarvationsCounted.withLock { counted in
            defer { counted = max(counted, total) }
            return max(0, total - counted)
        }
        if new > 0 { laneStarvations.increment(by: new) }
    }

    func setAccounts(_ counts: [Verdict: Int]) {
        for (v, gauge) in accountGauges { gauge.record(counts[v] ?? 0) }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
