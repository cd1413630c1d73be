import DistillWatchCore
import DistillWatchStore
import Logging

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
final class Ingestor: Sendable {
    let store: any EventStore
    let engine: LiveEngine
    private let gate = SerialGate()

    init(store: any EventStore, engine: LiveEngine) {
        self.store = store
        self.engine = engine
    }

    /// Appends `events` and applies `inputs` (the same records, decoded) in one step.
    /// - Returns: the sequence numbers given to the events.
    func commit(events: [NewEvent], inputs: [EngineInput], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        precondition(events.count == inputs.count)
        guard !events.isEmpty else { return nil }
        let store = self.store, engine = self.engine, gate = self.gate
        return try await Task {
            try await gate.run {
                let range = try await store.append(events, at: time)
                if let range { await engine.apply(inputs, lastSequence: range.upperBound) }
                return range
            }
        }.value
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
            } catch {
                logger.error("\(what()): not learned: \(error)")
            }
        }
    }

    /// Rebuilds the engine from the log (at start-up, before serving). An event that cannot
    /// be decoded, or holds a value the engine refuses, is quarantined and skipped: a
    /// poison event never stops the server, and every restart skips it the same way.
    /// - Returns: the number of events replayed and of events quarantined.
    func replay(decoder: EventDecoder, at time: Timestamp, pageSize: Int = 8192) async throws -> (replayed: Int, quarantined: Int) {
        var after: Int64 = 0
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
