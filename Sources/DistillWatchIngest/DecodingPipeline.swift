import DistillWatchCore
import Foundation

/// Decodes (and sketches) exchange lines on worker threads while the caller's thread runs
/// the engine.
///
/// A reader thread cuts the input into raw batches of lines; ``workerCount`` workers
/// decode them (JSON decoding and prompt sketching are most of a scan's cost); the caller
/// receives decoded batches strictly in input order. Each batch keeps its malformed lines
/// at their positions, so the engine sees exactly the sequence the single-threaded path
/// would, and `--strict` stops at exactly the same line. At most ``batchesInFlight``
/// batches exist at once, whatever the relative speeds.
///
/// - Complexity: O(n) in the input; memory is bounded by ``batchesInFlight`` batches of
///   ``batchSize`` lines.
struct DecodingPipeline {
    static let batchSize = 2048
    static let batchesInFlight = 12
    /// Workers for a decoder (``TrafficIngest/decodingWorkers(sketchingPrompts:cores:)``).
    static func workerCount(for decoder: TrafficLineDecoder) -> Int {
        TrafficIngest.decodingWorkers(sketchingPrompts: decoder.sketches)
    }

    /// A run of consecutive lines, as raw bytes.
    struct RawBatch: Sendable {
        var sequence = 0
        var bytes: [UInt8] = []
        /// For each line: its end offset in `bytes` and its line number; a negative end
        /// marks a line too long to keep (reported as malformed).
        var lines: [(end: Int, number: Int)] = []
        var bytesRead = 0

        /// Appends line `number` (its `bytes`, or a too-long marker when `nil`); whether
        /// the batch is now full (``batchSize`` lines). One call per line, so that the
        /// reader's batch (a variable its closures share) takes one run-time exclusivity
        /// check per line instead of three (callgrind: about 240 instructions per line).
        @inline(__always)
        mutating func append(line number: Int, _ bytes: UnsafeBufferPointer<UInt8>?) -> Bool {
            if let bytes {
                self.bytes.append(contentsOf: bytes)
                lines.append((self.bytes.count, number))
            } else {
                lines.append((-1, number))
            }
            return lines.count >= batchSize
        }
    }

    /// A run of consecutive lines, decoded.
    struct Batch: Sendable {
        /// Optional so that the consumer can move each exchange out (`take()`) rather than
        /// copy it: an exchange is one reference to a copy-on-write buffer, and a copy left
        /// in the batch would keep that buffer shared, so the engine's first write to the
        /// record (its content sketch, a merge) would copy all of it.
        var exchanges: [Exchange?] = []
        /// Malformed lines, each with the number of exchanges of this batch that precede it.
        var malformed: [(precedingExchanges: Int, line: MalformedLine)] = []
        /// Raw bytes read from the source when the batch closed.
        var bytesRead = 0
        var lines = 0
        /// Records the consumer is done with, set by `consume`: the pipeline frees them on a
        /// decoding thread (``RetiredRecords``), not on the consumer's.
        var retired: [[Exchange]] = []
    }

    enum Result: Sendable {
        case batch(Batch)
        case finished(bytesRead: Int, error: (any Error)?)
    }

    static func decode(_ raw: RawBatch, decoder: TrafficLineDecoder, source: String) -> Batch {
        var batch = Batch()
        batch.exchanges.reserveCapacity(raw.lines.count)
        batch.bytesRead = raw.bytesRead
        batch.lines = raw.lines.count
        raw.bytes.withUnsafeBufferPointer { all in
            /// Calls `body` with each line that fits and its number; notes the others.
            func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) {
                var start = 0
                for (end, number) in raw.lines {
                    guard end >= 0 else {
                        batch.malformed.append((batch.exchanges.count, .tooLong(source: source, line: number)))
                        continue
                    }
                    body(UnsafeBufferPointer(rebasing: all[start..<end]), number)
                    start = end
                }
            }
            // The v1 decoder taken out of the enum once a batch: matching the enum on every
            // line copied the decoder (its sketcher's references retained and released),
            // about 130 instructions a line (callgrind, 1 December 2026).
            if case .v1(let v1) = decoder {
                forEachLine { line, number in
                    do throws(RecordError) {
                        batch.exchanges.append(try v1.decode(line))
                    } catch {
                        batch.malformed.append((batch.exchanges.count, MalformedLine(source: source, line: number, error: error)))
                    }
                }
                return
            }
            forEachLine { line, number in
                decoder.decode(line) { exchange in
                    batch.exchanges.append(consume exchange)
                } malformed: { error in
                    batch.malformed.append((batch.exchanges.count, MalformedLine(source: source, line: number, error: error)))
                }
            }
        }
        return batch
    }

    /// Runs the pipeline and calls `consume` on the calling thread with each batch, in
    /// order; `consume` may move exchanges out of the batch. If `consume` throws, reading
    /// stops and the error is rethrown; errors from reading (I/O, gzip) are rethrown after
    /// the batches before them.
    /// - Returns: the raw bytes read from the source.
    static func run(
        source: InputSource, decoder: TrafficLineDecoder, workers: Int? = nil,
        consume: (inout Batch) throws -> Void
    ) throws -> Int {
        let name = source.description
        let workers = workers ?? workerCount(for: decoder)
        let work = BoundedChannel<RawBatch?>(capacity: batchesInFlight)
        let results = OrderedResults<Result>()
        let inFlight = DispatchSemaphore(value: batchesInFlight)
        let cancelled = Flag()
        let threads = DispatchGroup()

        let buffers = RawBatchPool()
        let retired = RetiredRecords()
        let reader = Thread {
            defer { threads.leave() }
            var reader = LineReader(source)
            let progress = reader.progress
            var batch = buffers.take()
            var sequence = 0
            struct Cancelled: Error {}
            func ship() throws {
                inFlight.wait()
                // Cancelled: give the slot back. Every wait must be matched by a signal, or
                // libdispatch traps when the semaphore is freed below its initial value (a
                // crash CI met once, when --strict stopped a scan while the reader waited).
                if cancelled.isSet { inFlight.signal(); throw Cancelled() }
                batch.sequence = sequence
                batch.bytesRead = progress.bytes
                sequence += 1
                work.send(batch)
                batch = buffers.take()
            }
            var failure: (any Error)?
            do {
                try reader.forEachLine(oversized: { number in
                    if batch.append(line: number, nil) { try ship() }
                }) { number, bytes in
                    if batch.append(line: number, bytes) { try ship() }
                }
                if !batch.lines.isEmpty { try ship() }
            } catch is Cancelled {
            } catch {
                if !batch.lines.isEmpty, !cancelled.isSet { try? ship() }
                failure = error
            }
            for _ in 0..<workers { work.send(nil) }
            results.put(.finished(bytesRead: reader.bytesRead, error: failure), at: sequence)
        }
        threads.enter()
        reader.stackSize = 1 << 20
        reader.start()
        for _ in 0..<workers {
            let worker = Thread {
                defer { threads.leave() }
                while true {
                    guard let raw = work.receive() ?? nil else { break }
                    // Records the consumer retired, freed here, where they were allocated.
                    retired.free()
                    results.put(.batch(decode(raw, decoder: decoder, source: name)), at: raw.sequence)
                    // Moved, so that the pool gets the only reference to the buffers.
                    buffers.give(consume raw)
                }
            }
            threads.enter()
            worker.stackSize = 1 << 20
            worker.start()
        }

        var sequence = 0
        while true {
            switch results.take(sequence) {
            case .batch(var batch):
                sequence += 1
                do {
                    try consume(&batch)
                    if !batch.retired.isEmpty {
                        var records: [[Exchange]] = []
                        swap(&records, &batch.retired)
                        retired.keep(consume records)
                    }
                    inFlight.signal()
                } catch {
                    cancelled.set()
                    inFlight.signal()
                    // Let the reader and workers finish so that no thread outlives the call.
                    while true {
                        if case .finished = results.take(sequence) { break }
                        sequence += 1
                        inFlight.signal()
                    }
                    threads.wait()
                    retired.free()
                    throw error
                }
            case .finished(let bytesRead, let error):
                threads.wait()
                // What no worker took is freed now, not whenever the last thread object
                // that captured the pool happens to go.
                retired.free()
                if let error { throw error }
                return bytesRead
            }
        }
    }
}

/// Raw batches whose buffers have been decoded, kept for the reader to fill again: a
/// batch's megabyte of bytes is then allocated (and faulted in by the kernel) once per
/// buffer in flight instead of once per batch, and never regrown line by line.
final class RawBatchPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [DecodingPipeline.RawBatch] = []

    /// An empty batch, with the capacity of one given back when there is one.
    func take() -> DecodingPipeline.RawBatch {
        lock.withLock { free.popLast() } ?? DecodingPipeline.RawBatch()
    }

    /// Gives a decoded batch's buffers back (its contents are dropped, its capacity kept).
    func give(_ decoded: consuming DecodingPipeline.RawBatch) {
        var batch = decoded
        batch.bytes.removeAll(keepingCapacity: true)
        batch.lines.removeAll(keepingCapacity: true)
        batch.sequence = 0
        batch.bytesRead = 0
        lock.withLock { free.append(batch) }
    }
}

/// Records a consumer is done with, kept until a decoding worker frees them: dropping the
/// last reference to a record destroys its fields and frees its buffer (about 700
/// instructions), work the worker has time for and the consumer's thread, which sets a
/// scan's pace, does not; and `malloc` reuses the memory best in the thread that allocated
/// it. What no worker takes before the pipeline ends is freed with it.
final class RetiredRecords: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [[[Exchange]]] = []

    /// Keeps `records` (moved in: the caller holds no other reference).
    func keep(_ records: consuming [[Exchange]]) {
        // Not `withLock`: a closure cannot consume the parameter, and a copy would leave
        // this thread a reference to free.
        lock.lock()
        kept.append(records)
        lock.unlock()
    }

    /// Frees what is kept, on the calling thread.
    func free() {
        let taken: [[[Exchange]]] = lock.withLock {
            var taken: [[[Exchange]]] = []
            swap(&taken, &kept)
            return taken
        }
        _ = consume taken
    }
}

/// A set-once flag shared between threads.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Results that arrive out of order and are taken in order.
final class OrderedResults<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Int: Element] = [:]

    func put(_ item: Element, at sequence: Int) {
        condition.lock()
        items[sequence] = item
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until the item with `sequence` is there, and removes it.
    func take(_ sequence: Int) -> Element {
        condition.lock()
        defer { condition.unlock() }
        while items[sequence] == nil { condition.wait() }
        return items.removeValue(forKey: sequence)!
    }
}

/// A blocking FIFO of bounded capacity between threads.
final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Received items are taken out (left `nil`), so that the channel holds no reference
    /// to what it has handed over.
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Blocks while the channel is full.
    func send(_ item: Element) {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
    }

    /// Blocks until an item is available.
    func receive() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count { condition.wait() }
        let item = items[head].take()!
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return item
    }
}

extension TrafficIngest {
    /// The worker threads that decode a file (``IngestOptions/decodeInParallel``):
    /// sketching prompts is most of the work, so one per core (at least two) then; plain
    /// decoding keeps up with the engine on one, and more threads would only compete with
    /// the engine's for the cores. What is left of the cores is the engine's
    /// (`scan --engine-threads auto`).
    public static func decodingWorkers(sketchingPrompts: Bool,
                                       cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        sketchingPrompts ? max(2, cores) : 1
    }
}
