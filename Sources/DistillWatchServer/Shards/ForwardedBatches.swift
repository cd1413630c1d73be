import Synchronization

/// The answers given to the last forwarded batch parts, by idempotency key: a part sent
/// again (its batch was retried, with the same `Idempotency-Key`, after another shard
/// refused its own part or this node answered too late) is answered from here instead of
/// being written twice (``ShardRouter``). A part is reserved while it is written, so a copy
/// arriving meanwhile is refused (409: retry) rather than written alongside.
///
/// Memory only: a node restarted between the first delivery and the retry writes the part
/// again (its records then count twice, bounded by one batch).
/// - Complexity: O(1) expected per call; at most `capacity` answers (64-byte keys plus the
///   answer), the oldest forgotten first.
final class ForwardedBatches: Sendable {
    private struct State {
        var answers: [String: IngestResult] = [:]
        var inFlight: Set<String> = []
        var order: [String] = []
        var next = 0
    }

    enum Start: Equatable {
        /// Write it (then ``finish(_:with:)`` or ``abandon(_:)``).
        case write
        /// Written before: answer this.
        case written(IngestResult)
        /// Being written now by another request.
        case inFlight
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
    }

    func start(_ key: String) -> Start {
        state.withLock { s in
            if let answer = s.answers[key] { return .written(answer) }
            guard s.inFlight.insert(key).inserted else { return .inFlight }
            return .write
        }
    }

    /// The part was written: remember its answer.
    func finish(_ key: String, with result: IngestResult) {
        state.withLock { s in
            s.inFlight.remove(key)
            guard s.answers.updateValue(result, forKey: key) == nil else { return }
            if s.order.count < capacity {
                s.order.append(key)
            } else {
                s.answers[s.order[s.next]] = nil
                s.order[s.next] = key
                s.next = (s.next + 1) % capacity
            }
        }
    }

    /// The part was not written: a retry writes it.
    func abandon(_ key: String) {
        _ = state.withLock { $0.inFlight.remove(key) }
    }
}
