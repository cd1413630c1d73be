import DequeModule
import Synchronization

/// The answers given to the last forwarded batch parts, by idempotency key: a part sent
/// again (its batch was retried, with the same `Idempotency-Key`, after another shard
/// refused its own part or this node answered too late) is answered from here instead of
/// being written twice (``ShardRouter``). A part is reserved while it is written, so a copy
/// arriving meanwhile is refused (409: retry) rather than written alongside.
///
/// Memory only: a node restarted between the first delivery and the retry writes the part
/// again (its records then count twice, bounded by one batch).
/// - Complexity: O(1) expected per call (amortised); at most `capacity` answers and
///   `byteCapacity` bytes of them (keys, and the fields and reasons of rejected lines, up
///   to 1,000 an answer), the oldest forgotten first. Bounded by bytes too: an ingest token
///   sending small keyed batches of many bad lines once pinned about 60 KB an answer, 3.6 GB
///   at the count bound.
final class ForwardedBatches: Sendable {
    private struct State {
        var answers: [String: (result: IngestResult, bytes: Int)] = [:]
        var inFlight: Set<String> = []
        var order = Deque<String>()
        var bytes = 0
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
    let byteCapacity: Int

    init(capacity: Int = 65_536, byteCapacity: Int = 64 << 20) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1, byteCapacity)
    }

    func start(_ key: String) -> Start {
        state.withLock { s in
            if let answer = s.answers[key] { return .written(answer.result) }
            guard s.inFlight.insert(key).inserted else { return .inFlight }
            return .write
        }
    }

    /// The part was written: remember its answer.
    func finish(_ key: String, with result: IngestResult) {
        let size = Self.bytes(of: result, key: key)
        state.withLock { s in
            s.inFlight.remove(key)
            if let old = s.answers.updateValue((result, size), forKey: key) {
                s.bytes += size - old.bytes
                return
            }
            s.order.append(key)
            s.bytes += size
            while s.order.count > capacity || (s.bytes > byteCapacity && s.order.count > 1) {
                let oldest = s.order.removeFirst()
                if let gone = s.answers.removeValue(forKey: oldest) { s.bytes -= gone.bytes }
            }
        }
    }

    /// How many answers are kept, and their bytes (for tests and the bound).
    var held: (answers: Int, bytes: Int) { state.withLock { ($0.answers.count, $0.bytes) } }

    /// An answer's weight: its key, a fixed part, and each rejected line's field and reason.
    static func bytes(of result: IngestResult, key: String) -> Int {
        result.rejectedLines.reduce(key.utf8.count + 128) { $0 + 32 + ($1.field?.utf8.count ?? 0) + $1.reason.utf8.count }
    }

    /// The part was not written: a retry writes it.
    func abandon(_ key: String) {
        _ = state.withLock { $0.inFlight.remove(key) }
    }
}
