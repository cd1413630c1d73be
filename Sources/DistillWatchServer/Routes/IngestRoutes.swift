import Crypto
import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import Hummingbird
import HTTPTypes

/// `POST /v1/exchanges` and `POST /v1/accounts`: NDJSON batches of traffic format v1
/// records (one JSON object per line). Good lines are accepted, bad lines are reported
/// with their number and reason; accepted lines are durable before the answer.
struct IngestRoutes {
    let state: ServerState

    /// Most rejected lines listed in one answer (all are counted).
    static let rejectedLinesListed = 1000

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.ingest))
        routes.post("exchanges") { request, _ in try await exchanges(request) }
        routes.post("accounts") { request, context in try await accounts(request, context: context) }
        return routes
    }

    func exchanges(_ request: Request) async throws -> JSONBody<IngestResult> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("exchanges", since: start) }
        let encoding = try IngestBodyEncoding(of: request)
        let limit = state.configuration.maxIngestBodyBytes
        let sent = try await request.collectBody(limit: limit, setting: "max_ingest_body_bytes")
        let decoder = state.decoder.exchanges, provenanceKey = state.provenanceKey
        // Inflated and decoded on the ingest lane, not the threads that answer decide (``BackgroundLane``).
        let batch = try await BackgroundLane.ingest.run {
            let body = try encoding.decoded(sent, limit: limit, setting: "max_ingest_body_bytes")
            var batch = Batch(provenanceKey: provenanceKey)
            forEachLine(in: body) { number, line in
                do throws(RecordError) {
                    batch.accept(try decoder.decode(line))
                } catch {
                    batch.reject(number, line, error)
                }
                BackgroundLane.yieldIfDue()
            }
            return batch
        }
        let result = try await Self.commit(batch, noun: "exchange", state: state, request: request)
        state.metrics.exchangesAccepted.increment(by: result.accepted)
        state.metrics.exchangesRejected.increment(by: result.rejected)
        state.metrics.exchangesRejectedSinceStart.add(result.rejected, ordering: .relaxed)
        return JSONBody(result, status: result.accepted == 0 && result.rejected > 0 ? .badRequest : .ok)
    }

    /// Account records. `allowlisted` and `verified` exempt an account from detection or
    /// vouch for it, so they are taken only from a token with the `exempt` role; from any
    /// other token they are ignored and listed in the answer's `ignored_fields`.
    func accounts(_ request: Request, context: DistillWatchRequestContext) async throws -> JSONBody<IngestResult> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("accounts", since: start) }
        let encoding = try IngestBodyEncoding(of: request)
        let limit = state.configuration.maxIngestBodyBytes
        let sent = try await request.collectBody(limit: limit, setting: "max_ingest_body_bytes")
        let decoder = state.decoder.accounts, provenanceKey = state.provenanceKey
        let mayExempt = context.token?.roles.contains(.exempt) == true
        // Inflated and decoded on the ingest lane, not the threads that answer decide (``BackgroundLane``).
        let (batch, ignored) = try await BackgroundLane.ingest.run {
            let body = try encoding.decoded(sent, limit: limit, setting: "max_ingest_body_bytes")
            var batch = Batch(provenanceKey: provenanceKey)
            var ignored: [IgnoredField] = []
            forEachLine(in: body) { number, line in
                do throws(RecordError) {
                    var a = try decoder.decode(line)
                    if !mayExempt {
                        for field in a.removeExemptions() where ignored.count < IngestRoutes.rejectedLinesListed {
                            ignored.append(IgnoredField(line: number, field: field,
                                                        reason: "needs a token with the exempt role; ignored"))
                        }
                    }
                    batch.accept(NewEvent(kind: .account, subject: a.accountID, payload: EventDecoder.storedForm(of: a)), .account(a))
                } catch {
                    batch.reject(number, line, error)
                }
                BackgroundLane.yieldIfDue()
            }
            return (batch, ignored)
        }
        var result = try await Self.commit(batch, noun: "account", state: state, request: request)
        result.ignoredFields = ignored.isEmpty ? nil : ignored
        state.metrics.accountsAccepted.increment(by: result.accepted)
        state.metrics.accountsRejected.increment(by: result.rejected)
        return JSONBody(result, status: result.accepted == 0 && result.rejected > 0 ? .badRequest : .ok)
    }

    /// Appends the batch's accepted records and applies them; the answer lists what was
    /// rejected. - Throws: 400 for an empty batch, 503 when the log cannot be written.
    /// With live shards (``ShardRouter``), other shards' records go to their nodes first, and
    /// a forwarded part received again (same `idempotency-key`) is answered as the first
    /// time, without writing it twice (one arriving while the first is written: 409).
    static func commit(_ batch: Batch, noun: String, state: ServerState,
                       expected: String = "one JSON object per line (NDJSON)", request: Request? = nil) async throws -> IngestResult {
        guard !batch.events.isEmpty || batch.rejectedCount > 0 else {
            throw HTTPError(.badRequest, message: "empty body: expected \(noun) records, \(expected)")
        }
        let replayKey = request.flatMap { r in Self.idempotencyKey(of: r, batch: batch) }
        if let replayKey {
            switch state.forwardedBatches.start(replayKey) {
            case .write: break
            case .written(let answer):
                state.shards?.metrics.replayedBatches.increment()
                return answer
            case .inFlight:
                throw HTTPError(.conflict, message: "the same part (idempotency-key \(replayKey.prefix(16))…) is being written now; retry shortly")
            }
        }
        let (range, forwarded): (ClosedRange<Int64>?, [String: Int]?)
        do {
            (range, forwarded) = try await write(batch, state: state, request: request)
        } catch {
            if let replayKey { state.forwardedBatches.abandon(replayKey) }
            if let refusal = error as? IngestRefusal { throw refusal.httpError }
            if let error = error as? HTTPError { throw error }
            throw HTTPError(.serviceUnavailable, message: "cannot store the batch (nothing was accepted; retry): \(error)")
        }
        var result = IngestResult(accepted: batch.events.count, rejected: batch.rejectedCount, rejectedLines: batch.rejected,
                                  firstSequence: range?.lowerBound, lastSequence: range?.upperBound)
        result.forwarded = forwarded
        if let replayKey { state.forwardedBatches.finish(replayKey, with: result) }
        return result
    }

    /// The key a batch is remembered under (``ForwardedBatches``): its `Idempotency-Key`
    /// (draft-ietf-httpapi-idempotency-key-header; the part key another node passed on)
    /// hashed with the batch's records, so a retry of the same batch or part with the same
    /// key is answered as the first time instead of being written twice, and the same key on
    /// other records is a new batch.
    /// - Complexity: O(bytes of the batch) with a key (one SHA-256); O(1) without.
    static func idempotencyKey(of request: Request, batch: Batch) -> String? {
        guard let key = request.headers[ShardRouter.idempotencyHeader], !key.isEmpty else { return nil }
        // Hashed with the records also when a peer forwarded the part: its key already names
        // the part, so a retry hashes the same, but a caller that sets the forwarding header
        // itself (any ingest token can) cannot make one key stand for other records, nor
        // keep a key of any length.
        var hash = SHA256()
        hash.update(data: Array(key.utf8) + [0])
        for event in batch.events {
            hash.update(data: [UInt8(truncatingIfNeeded: event.kind.rawValue)])
            hash.update(data: event.payload)
        }
        hash.update(data: Array(String(batch.rejectedCount).utf8))
        return "client:" + hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Appends the batch's events to the log and applies them. With live shards, first sends
    /// the other shards' records to their nodes (all must take them, else nothing is
    /// written here) and keeps this node's own.
    /// - Returns: the sequence numbers given here, and the records each other shard took.
    /// - Throws: ``IngestRefusal`` and store errors from ``Ingestor/commit(events:inputs:served:at:)``;
    ///   `HTTPError` 421 or 503 from ``ShardRouter``.
    static func write(_ batch: Batch, state: ServerState,
                      request: Request?) async throws -> (range: ClosedRange<Int64>?, forwarded: [String: Int]?) {
        var events = batch.events, inputs = batch.inputs, served = batch.served
        var forwarded: [String: Int]?
        if let shards = state.shards {
            let split = try shards.split(events: events, inputs: inputs, request: request)
            if !split.isLocalOnly {
                forwarded = try await shards.deliver(split, credentials: request.map(shards.credentials(of:)) ?? HTTPFields(),
                                                     idempotencyKey: request?.headers[ShardRouter.idempotencyHeader])
                events = split.localEvents
                inputs = split.localInputs
                // A forwarded exchange carries no text: its answer's sketch is kept here.
                if events.isEmpty { served = [] }
            }
        }
        let range = try await state.ingestor.commit(events: events, inputs: inputs, served: served, at: state.clock.now())
        return (range, forwarded)
    }

    struct Batch {
        var events: [NewEvent] = []
        var inputs: [EngineInput] = []
        var rejected: [RejectedLine] = []
        var rejectedCount = 0
        /// With provenance on, the key answers are sketched under, and the sketches of the
        /// batch's answers (written with its events; the text is never kept).
        var provenanceKey: ContentKey? = nil
        var served: [ServedResponse] = []

        init(provenanceKey: ContentKey? = nil) {
            self.provenanceKey = provenanceKey
        }

        mutating func accept(_ event: NewEvent, _ input: EngineInput) {
            events.append(event)
            inputs.append(input)
        }

        /// Accepts an exchange as the log keeps it, without its text: the engine gets what
        /// the log keeps, so a replay sees exactly the same input.
        mutating func accept(_ exchange: Exchange) {
            if let key = provenanceKey, let text = exchange.response, let sketch = ResponseSketch.of(text, key: key) {
                served.append(ServedResponse(at: exchange.time, accountID: exchange.accountID, requestID: exchange.requestID,
                                             model: exchange.model, sketch: sketch))
            }
            let e = exchange.withoutText
            accept(.exchange(e), .exchange(e))
        }

        mutating func reject(_ number: Int, _ line: UnsafeBufferPointer<UInt8>, _ error: RecordError) {
            reject(RejectedLine(line: number, field: error.field, reason: error.reason), hintAt: line)
        }

        mutating func reject(_ entry: RejectedLine, hintAt line: UnsafeBufferPointer<UInt8>? = nil) {
            rejectedCount += 1
            guard rejected.count < IngestRoutes.rejectedLinesListed else { return }
            var entry = entry
            if entry.field == nil, let line, line.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "[") {
                entry.reason += " (a JSON array: send one JSON object per line, NDJSON; LiteLLM batches go to /v1/litellm/logs)"
            }
            rejected.append(entry)
        }
    }
}

struct IngestResult: Codable, Sendable, Equatable {
    var accepted: Int
    var rejected: Int
    /// The first ``IngestRoutes/rejectedLinesListed`` rejected lines.
    var rejectedLines: [RejectedLine]
    /// Log sequence numbers of the accepted records, if any.
    var firstSequence: Int64?
    var lastSequence: Int64?
    /// Fields of accepted records that were not applied (account exemptions sent without
    /// the `exempt` role); absent when there were none.
    var ignoredFields: [IgnoredField]? = nil
    /// With live shards: the records of this batch other shards' nodes took, by shard
    /// (`"1/2": 120`); absent when all were this node's.
    var forwarded: [String: Int]? = nil

    enum CodingKeys: String, CodingKey {
        case accepted, rejected, forwarded
        case rejectedLines = "rejected_lines"
        case firstSequence = "first_sequence"
        case lastSequence = "last_sequence"
        case ignoredFields = "ignored_fields"
    }
}

struct IgnoredField: Codable, Sendable, Equatable {
    var line: Int
    var field: String
    var reason: String
}

extension AccountRecord {
    /// Clears the fields that exempt an account from detection or vouch for it (`true`),
    /// and returns the names of those cleared. `false` grants nothing and is kept: a
    /// pipeline may say an account is not (or no longer) verified or allowlisted.
    mutating func removeExemptions() -> [String] {
        var removed: [String] = []
        if allowlisted == true { allowlisted = nil; removed.append("allowlisted") }
        if verified == true { verified = nil; removed.append("verified") }
        return removed
    }
}

struct RejectedLine: Codable, Sendable, Equatable {
    var line: Int
    /// In a JSON array of records (LiteLLM's `json_array` batches), the element's index.
    var element: Int? = nil
    var field: String?
    var reason: String
}
