import Hummingbird
import NIOCore

/// `GET /healthz` (no token) and `GET /metrics` (any token, Prometheus text format).
struct OperationsRoutes {
    let state: ServerState

    func addHealth(to router: Router<DistillWatchRequestContext>) {
        router.get("healthz") { _, _ in
            // 200 either way: decide answers from memory while the log cannot be written,
            // so a load balancer should keep sending decide calls; the body says what is wrong.
            let status = state.engine.status()
            let storage = StorageStatus(state.health.fault)
            return JSONBody(Health(status: storage.writable ? "ok" : "degraded", lastSequence: status.lastSequence, storage: storage))
        }
    }

    func addMetrics(to router: Router<DistillWatchRequestContext>) {
        router.get("metrics") { _, _ in
            let counts = state.engine.verdictCounts()
            let status = state.engine.status()
            let report = state.engine.report(generatedAt: state.clock.now(), includeAllAccounts: false)
            let m = state.metrics
            m.setAccounts(counts)
            m.campaigns.record(report.campaigns.count)
            m.countAudit(written: state.audit.written, dropped: state.audit.dropped)
            m.buffered.record(status.buffered)
            m.mergedExchanges.record(status.mergedExchanges)
            m.duplicateExchanges.record(status.duplicateExchanges)
            m.sequence.record(Double(status.lastSequence))
            m.reorderOverflow.record(status.overflowExchanges)
            m.reorderLimit.record(status.bufferLimit)
            m.pendingBatches.record(state.ingestor.pendingBatches)
            m.countLaneStarvations(BackgroundLane.ingest.starvations)
            var buffer = ByteBuffer()
            buffer.writeBytes(m.registry.emitToBuffer())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: buffer))
        }
    }

    struct Health: Encodable, Sendable {
        /// `ok`, or `degraded` while the log cannot be written (ingest and labels answer 503).
        var status: String
        var lastSequence: Int64
        var storage: StorageStatus
        enum CodingKeys: String, CodingKey {
            case status
            case lastSequence = "last_sequence"
            case storage
        }
    }
}
