import DistillWatchCore
import Foundation

/// Decodes exchange lines on a second thread while the caller's thread runs the engine.
///
/// JSON decoding is about half the cost of a scan; on two cores, overlapping it with the
/// engine's work raises throughput without changing results: batches travel through a
/// bounded FIFO channel in input order, and each batch keeps its malformed lines at their
/// positions, so the engine sees exactly the sequence the single-threaded path would, and
/// `--strict` stops at exactly the same line.
///
/// - Complexity: O(n) in the input; memory is bounded by ``capacity`` batches of
///   ``batchSize`` records each.
struct DecodingPipeline {
    static let batchSize = 2048
    static let capacity = 8

    /// A run of consecutive lines, decoded.
    struct Batch: Sendable {
        var exchanges: [Exchange] = []
        /// Malformed lines, each with the number of exchanges of this batch that precede it.
        var malformed: [(precedingExchanges: Int, line: MalformedLine)] = []
        /// Raw bytes read from the source when the batch closed.
        var bytesRead = 0
        var lines = 0
    }

    enum Message: Sendable {
        case batch(Batch)
        case finished(bytesRead: Int, error: (any Error)?)
    }

    /// Runs the decoder on a background thread and calls `consume` on the calling thread
    /// with each batch, in order. If `consume` throws, decoding stops and the error is
    /// rethrown; errors from reading (I/O, gzip) are rethrown after the batches before them.
    /// - Returns: the raw bytes read from the source.
    static func run(
        source: InputSource, decoder: ExchangeLineDecoder,
        consume: (Batch) throws -> Void
    ) throws -> Int {
        let channel = BoundedChannel<Message>(capacity: capacity)
        let thread = Thread {
            var reader = LineReader(source)
            let progress = reader.progress
            var batch = Batch()
            batch.exchanges.reserveCapacity(batchSize)
            func ship() -> Bool {
                batch.bytesRead = progress.bytes
                let ok = channel.send(.batch(batch))
                batch = Batch()
                batch.exchanges.reserveCapacity(batchSize)
                return ok
            }
            struct Cancelled: Error {}
            var failure: (any Error)?
            do {
                try reader.forEachLine(oversized: { line in
                    batch.lines += 1
                    batch.malformed.append((batch.exchanges.count, MalformedLine(
                        source: source.description, line: line,
                        error: RecordError("line longer than \(LineReader.maximumLineBytes) bytes"))))
                }) { number, bytes in
                    batch.lines += 1
                    do throws(RecordError) {
                        batch.exchanges.append(try decoder.decode(bytes))
                    } catch {
                        batch.malformed.append((batch.exchanges.count,
                                                MalformedLine(source: source.description, line: number, error: error)))
                    }
                    if batch.exchanges.count + batch.malformed.count >= batchSize, !ship() { throw Cancelled() }
                }
                if batch.lines > 0 { _ = ship() }
            } catch is Cancelled {
                // The consumer stopped; it is no longer listening.
            } catch {
                if batch.lines > 0 { _ = ship() }
                failure = error
            }
            _ = channel.send(.finished(bytesRead: reader.bytesRead, error: failure))
        }
        thread.stackSize = 1 << 20
        thread.start()

        while true {
            guard let message = channel.receive() else { continue }
            switch message {
            case .batch(let batch):
                do {
                    try consume(batch)
                } catch {
                    channel.cancel()
                    // Wait for the producer to notice and finish, so no thread outlives us.
                    while let m = channel.receive() { if case .finished = m { break } }
                    throw error
                }
            case .finished(let bytesRead, let error):
                if let error { throw error }
                return bytesRead
            }
        }
    }
}

/// A blocking FIFO of bounded capacity between one producer and one consumer thread.
final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int
    private var cancelled = false

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Blocks while the channel is full. Returns `false` (dropping `item`) once the
    /// consumer has cancelled.
    func send(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled {
            // Still deliver the end-of-stream message so the consumer can stop waiting.
            items.append(item)
            condition.broadcast()
            return false
        }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Blocks until an item is available.
    func receive() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count { condition.wait() }
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return item
    }

    /// Tells the producer to stop: pending and future sends return `false`.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
