import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Hummingbird

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
        routes.post("accounts") { request, _ in try await accounts(request) }
        return routes
    }

    func exchanges(_ request: Request) async throws -> JSONBody<IngestResult> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("exchanges", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxIngestBodyBytes, setting: "max_ingest_body_bytes")
        let decoder = state.decoder.exchanges
        var batch = Batch()
        forEachLine(in: body) { number, line in
            do throws(RecordError) {
                let e = try decoder.decode(line)
                batch.accept(NewEvent(kind: .exchange, subject: e.accountID, payload: Self.storedForm(of: e, line: line)),
                             .exchange(e))
            } catch {
                batch.reject(number, line, error)
            }
        }
        let result = try await commit(batch, noun: "exchange")
        state.metrics.exchangesAccepted.increment(by: result.accepted)
        state.metrics.exchangesRejected.increment(by: result.rejected)
        return JSONBody(result, status: result.accepted == 0 && result.rejected > 0 ? .badRequest : .ok)
    }

    func accounts(_ request: Request) async throws -> JSONBody<IngestResult> {
        let start = ContinuousClock.now
        defer { state.metrics.duration("accounts", since: start) }
        let body = try await request.collectBody(limit: state.configuration.maxIngestBodyBytes, setting: "max_ingest_body_bytes")
        let decoder = state.decoder.accounts
        var batch = Batch()
        forEachLine(in: body) { number, line in
            do throws(RecordError) {
                let a = try decoder.decode(line)
                batch.accept(NewEvent(kind: .account, subject: a.accountID, payload: Array(line)), .account(a))
            } catch {
                batch.reject(number, line, error)
            }
        }
        let result = try await commit(batch, noun: "account")
        state.metrics.accountsAccepted.increment(by: result.accepted)
        state.metrics.accountsRejected.increment(by: result.rejected)
        return JSONBody(result, status: result.accepted == 0 && result.rejected > 0 ? .badRequest : .ok)
    }

    /// What the event log keeps of an exchange: the line as received when it carries no
    /// text; otherwise the exchange re-encoded without `system`, `prompt` and `response` and
    /// with its content sketch, so that no customer text is stored and a replay rebuilds
    /// exactly the same engine state.
    static func storedForm(of e: Exchange, line: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard e.prompt != nil || e.system != nil || e.response != nil else { return Array(line) }
        var out: [UInt8] = []
        JSONLineEncoder.appendWithoutText(e, to: &out)
        out.removeLast()  // the newline
        return out
    }

    private func commit(_ batch: Batch, noun: String) async throws -> IngestResult {
        guard !batch.events.isEmpty || batch.rejectedCount > 0 else {
            throw HTTPError(.badRequest, message: "empty body: expected \(noun) records, one JSON object per line (NDJSON)")
        }
        let range: ClosedRange<Int64>?
        do {
            range = try await state.ingestor.commit(events: batch.events, inputs: batch.inputs, at: state.clock.now())
        } catch {
            throw HTTPError(.serviceUnavailable, message: "cannot store the batch (nothing was accepted; retry): \(error)")
        }
        return IngestResult(accepted: batch.events.count, rejected: batch.rejectedCount, rejectedLines: batch.rejected,
                            firstSequence: range?.lowerBound, lastSequence: range?.upperBound)
    }

    struct Batch {
        var events: [NewEvent] = []
        var inputs: [EngineInput] = []
        var rejected: [RejectedLine] = []
        var rejectedCount = 0

        mutating func accept(_ event: NewEvent, _ input: EngineInput) {
            events.append(event)
            inputs.append(input)
        }

        mutating func reject(_ number: Int, _ line: UnsafeBufferPointer<UInt8>, _ error: RecordError) {
            rejectedCount += 1
            guard rejected.count < IngestRoutes.rejectedLinesListed else { return }
            var reason = error.reason
            if error.field == nil, line.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "[") {
                reason += " (a JSON array: send one JSON object per line, NDJSON)"
            }
            rejected.append(RejectedLine(line: number, field: error.field, reason: reason))
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

    enum CodingKeys: String, CodingKey {
        case accepted, rejected
        case rejectedLines = "rejected_lines"
        case firstSequence = "first_sequence"
        case lastSequence = "last_sequence"
    }
}

struct RejectedLine: Codable, Sendable, Equatable {
    var line: Int
    var field: String?
    var reason: String
}
