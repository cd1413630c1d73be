import Synchronization

/// The answers given to the last forwarded batch parts, by idempotency key: a part sent
/// again (its batch was retried after another shard refused its own part) is answered
/// from here instead of being written twice (``ShardRouter``).
///
/// Memory only: a node restarted between the first delivery and the retry writes the part
/// again (its exchanges then count twice, bounded by one batch).
/// - Complexity: O(1) expected per lookup and insert; at most `capacity` keys (64 bytes
///   each plus the answer), the oldest forgotten first.
final class ForwardedBatches: Sendable {
    private struct State {
        var answers: [String: IngestResult] = [:]
        var order: [String] = []
        var next = 0
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 65_536) {
        self.capacity = max(1, capacity)
    }

    func answer(for key: String) -> IngestResult? {
        state.withLock { $0.answers[key] }
    }

    func remember(_ result: IngestResult, for key: String) {
        state.withLock { s in
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
}
