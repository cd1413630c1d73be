import DistillWatchCore
import DistillWatchStore
import Logging
import Synchronization

extension NewEvent {
    /// The log's event for an exchange (its stored form, keyed by its account).
    static func exchange(_ e: Exchange) -> NewEvent {
        NewEvent(kind: .exchange, subject: e.accountID, payload: EventDecoder.storedForm(of: e))
    }
}

/// The one path by which state changes: append the events to the durable log, then apply
/// them to the engine, one batch at a time, so the engine sees inputs in exactly the log's
/// order and a replay of the log rebuilds the same state.
///
/// A batch is applied only after its append returned (durable); a failed append applies
/// nothing and the caller answers 5xx. The work runs in an unstructured task, so a client
/// that hangs up mid-request cannot cancel it between the commit and the apply.
///
/// Bounds: at most ``maxPending`` batches wait for the log at once; more are refused with
/// ``IngestRefusal`` (429) before their records are queued. While ``health`` holds a
/// fault, batches are refused at once (503) without touching the store.
final class Ingestor: Sendable {
    let store: any EventStore
    let engine: LiveEngine
    let health: StorageHealth
    let metrics: ServerMetrics
    let maxPending: Int
    /// Hours of history kept (`history_retention_days`); `nil` keeps everything.
    let historyRetentionHours: Int64?
    /// Where a failed pruning of history is told (retention that never runs lets the
    /// database grow without a word otherwise).
    let logger: Logger
    private let gate = SerialGate()
    private let pending = Atomic<Int>(0)
    /// The hour history was last pruned at (hours since the epoch).
    private let prunedHour = Atomic<Int64>(0)

    init(store: any EventStore, engine: LiveEngine, health: StorageHealth, metrics: ServerMetrics, maxPending: Int = 64,
         historyRetentionDays: Int = 400, logger: Logger = Logger(label: "distillwatch.history")) {
        self.logger = logger
        self.store = store
        self.engine = engine
        self.health = health
        self.metrics = metrics
        self.maxPending = maxPending
        historyRetentionHours = historyRetentionDays > 0 ? Int64(historyRetentionDays) * 24 : nil
    }

    /// Batches waiting for the log or being written now.
    var pendingBatches: Int { pending.load(ordering: .relaxed) }

    /// Appends `events` and applies `inputs` (the same records, decoded) in one step.
    /// - Returns: the sequence numbers given to the events.
    /// - Throws: ``IngestRefusal`` when the store is faulty or too many batches wait
    ///   (nothing written); the store's error when the append fails (nothing written, and
    ///   the fault is recorded).
    func commit(events: [NewEvent], inputs: [EngineInput], served: [ServedResponse] = [], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        precondition(events.count == inputs.count)
        guard !events.isEmpty else { return nil }
        if let problem = store.fileProblem() { health.record(problem, at: time) }
        if let fault = health.fault {
            metrics.ingestRefusedStorage.increment()
            throw IngestRefusal(reason: .storage, description: "the event log cannot be written: \(fault.reason) (since \(fault.since)); nothing was accepted; retry")
        }
        guard pending.add(1, ordering: .relaxed).newValue <= maxPending else {
            pending.subtract(1, ordering: .relaxed)
            metrics.ingestRefusedBusy.increment()
            throw IngestRefusal(reason: .busy, description: "\(maxPending) batches are already waiting to be written (max_pending_batches); nothing was accepted; retry")
        }
        // Awaiting a task's value is not cut short by the caller's cancellation, so the
        // count goes down only once the batch is written (or failed).
        defer { pending.subtract(1, ordering: .relaxed) }
        let store = self.store, engine = self.engine, gate = self.gate, health = self.health
        // The exchanges' hourly totals and sightings, written in the append's transaction
        // (summed on the ingest lane, not the threads that answer decide).
        let ledger = await BackgroundLane.ingest.run {
            var activity = HourlyActivityLedger()
            for input in inputs { if case .exchange(let e) = input { activity.record(e) } }
            return activity
        }
        pruneHistoryIfDue(at: time)
        return try await Task {
            try await gate.run {
                let range: ClosedRange<Int64>?
                do {
                    range = try await store.append(events, activity: ledger, served: served, at: time)
                } catch let error as StoreBatchError {
                    throw error  // this batch's own problem: storage is fine for the others
                } catch {
                    health.record("\(error)", at: time)
                    throw error
                }
                if let range { await engine.apply(inputs, lastSequence: range.upperBound) }
                return range
            }
        }.value
    }

    /// Once per wall-clock hour, deletes history older than the retention (in the
    /// background; a failure is logged, and left for the next hour).
    private func pruneHistoryIfDue(at time: Timestamp) {
        guard let keep = historyRetentionHours, let history = (store as? any HistoryProviding)?.historyStore else { return }
        let hour = time.hourIndex
        let last = prunedHour.load(ordering: .relaxed)
        guard hour > last, prunedHour.compareExchange(expected: last, desired: hour, ordering: .relaxed).exchanged else { return }
        let logger = logger
        Task {
            do {
                _ = try await history.pruneHistory(beforeHour: hour - keep)
            } catch {
                logger.error("history: could not delete hours before the retention (tried again next hour): \(error)")
            }
        }
    }

    /// Runs `body` between two batches (no batch half applied), e.g. to capture the
    /// engine's state for a snapshot at an exact log sequence.
    func betweenBatches<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await gate.run(body)
    }

    /// Appends and applies one exchange a gateway check stands for (a LiteLLM guardrail
    /// call, an Envoy check) without holding up the check's answer: the verdict was taken
    /// before it, as for any decide call. A failed append is logged as `what`; the check
    /// was answered either way.
    func learnInBackground(_ exchange: Exchange, at time: Timestamp, logger: Logger, what: @autoclosure @escaping @Sendable () -> String) {
        Task {
            do {
                _ = try await commit(
                    events: [.exchange(exchange)],
                    inputs: [.exchange(exchange)], at: time)
            } catch let refusal as IngestRefusal {
                // The fault or the full queue was logged once where it began; not per call.
                logger.debug("\(what()): not learned: \(refusal)")
            } catch {
                logger.error("\(what()): not learned: \(error)")
            }
        }
    }

    /// Rebuilds the engine from the log (at start-up, before serving). An event that cannot
    /// be decoded, or holds a value the engine refuses, is quarantined and skipped: a
    /// poison event never stops the server, and every restart skips it the same way.
    /// - Returns: the number of events replayed and of events quarantined.
    func replay(after start: Int64 = 0, decoder: EventDecoder, at time: Timestamp, pageSize: Int = 8192) async throws -> (replayed: Int, quarantined: Int) {
        var after = start
        var count = 0
        var quarantined = 0
        while true {
            let page = try await store.events(after: after, limit: pageSize)
            guard let last = page.last else { break }
            var inputs: [EngineInput] = []
            inputs.reserveCapacity(page.count)
            var refused: [QuarantineEntry] = []
            for event in page {
                do {
                    inputs.append(try decoder.input(for: event))
                } catch {
                    refused.append(QuarantineEntry(sequence: event.sequence, reason: "\(error)", at: time))
                }
            }
            if !refused.isEmpty {
                try await store.quarantine(refused)
                quarantined += refused.count
            }
            await engine.apply(inputs, lastSequence: last.sequence)
            after = last.sequence
            count += page.count
        }
        return (count, quarantined)
    }
}
