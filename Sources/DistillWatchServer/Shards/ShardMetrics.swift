import CoreMetrics
import Metrics
import Prometheus

/// The live shard's metrics (only with `shard:` configured):
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `distillwatch_shard_forwards_total` | counter | `endpoint` = decide, litellm, envoy, ingest, analyst; `result` = forwarded, owner_unavailable, misdirected |
/// | `distillwatch_shard_forward_seconds` | histogram (timer) | `endpoint`: round trip of a forwarded decision |
/// | `distillwatch_shard_forwarded_records_total` | counter | records other shards accepted from this node |
/// | `distillwatch_shard_replayed_batches_total` | counter | forwarded parts received again and answered from memory |
/// | `distillwatch_shard_campaign_verdicts` | gauge | accounts of this shard flagged by the campaign step |
/// | `distillwatch_shard_campaign_feed_total` | counter | `result` = loaded, failed |
final class ShardMetrics: Sendable {
    enum Result: String, CaseIterable, Sendable {
        case forwarded
        case ownerUnavailable = "owner_unavailable"
        case misdirected
    }

    static let endpoints = ["decide", "litellm", "envoy", "ingest", "analyst"]
    private let forwards: [String: [Result: MCounter]]
    private let timers: [String: MTimer]
    private let forwardedRecords: MCounter
    let replayedBatches: MCounter
    let campaignVerdicts: MGauge
    let campaignFeedLoaded: MCounter
    let campaignFeedFailed: MCounter

    init(factory: PrometheusMetricsFactory) {
        var forwards: [String: [Result: MCounter]] = [:]
        var timers: [String: MTimer] = [:]
        for endpoint in Self.endpoints {
            for result in Result.allCases {
                forwards[endpoint, default: [:]][result] = MCounter(
                    label: "distillwatch_shard_forwards_total", dimensions: [("endpoint", endpoint), ("result", result.rawValue)],
                    factory: factory)
            }
            timers[endpoint] = MTimer(label: "distillwatch_shard_forward_seconds", dimensions: [("endpoint", endpoint)],
                                      preferredDisplayUnit: .seconds, factory: factory)
        }
        self.forwards = forwards
        self.timers = timers
        forwardedRecords = MCounter(label: "distillwatch_shard_forwarded_records_total", factory: factory)
        replayedBatches = MCounter(label: "distillwatch_shard_replayed_batches_total", factory: factory)
        campaignVerdicts = MGauge(label: "distillwatch_shard_campaign_verdicts", factory: factory)
        campaignFeedLoaded = MCounter(label: "distillwatch_shard_campaign_feed_total", dimensions: [("result", "loaded")], factory: factory)
        campaignFeedFailed = MCounter(label: "distillwatch_shard_campaign_feed_total", dimensions: [("result", "failed")], factory: factory)
    }

    func count(_ endpoint: String, _ result: Result, seconds: Double? = nil) {
        forwards[endpoint]?[result]?.increment()
        if let seconds { timers[endpoint]?.recordNanoseconds(Int64(seconds * 1e9)) }
    }

    func countDelivery(_ result: Result, records: Int = 0) {
        count("ingest", result)
        if records > 0 { forwardedRecords.increment(by: records) }
    }
}
