import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import Hummingbird
import NIOCore
import OpenTelemetryProto
import SwiftProtobuf

/// `POST /v1/traces`: an OTLP/HTTP trace receiver (ingest role), so an OpenTelemetry SDK or
/// Collector exports GenAI spans straight to DistillWatch (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
/// = `http://HOST:PORT/v1/traces`, the ingest token in `Authorization: Bearer`).
///
/// Follows the OTLP specification's "OTLP/HTTP" section:
/// - request bodies `application/x-protobuf` or `application/json` (OTLP's JSON Protobuf
///   Encoding), optionally `Content-Encoding: gzip`; any other type is 415;
/// - the answer is an `ExportTraceServiceResponse` in the request's encoding; GenAI spans
///   that cannot be used (no account attribute, a value out of range, …) are counted in
///   `partial_success.rejected_spans` and the first reasons given in `error_message`, while
///   the good spans of the request are accepted and durable before the answer;
/// - a body that is not an `ExportTraceServiceRequest` is 400 with a `google.rpc.Status`;
///   a store failure is 503, which OTLP exporters retry.
///
/// Spans without a `gen_ai.*` attribute are ignored (counted in
/// `distillwatch_otlp_spans_total{result="ignored"}`). The mapping is ``OTLPTraceReader``'s;
/// the account attributes are `otlp_account_attributes`. The limit is `max_ingest_body_bytes`,
/// for the body as sent and again once inflated.
struct OpenTelemetryRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.ingest))
        routes.post("traces") { request, _ in try await traces(request) }
        return routes
    }

    func traces(_ request: Request) async throws -> Response {
        let start = ContinuousClock.now
        defer { state.metrics.duration("otlp_traces", since: start) }
        let contentType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        let encoding: OTLPTraceReader.Encoding
        switch contentType {
        case "application/x-protobuf": encoding = .protobuf
        case "application/json": encoding = .json
        default:
            return Self.failure(.unsupportedMediaType, encoding: .json,
                                "Content-Type \"\(contentType)\" is not an OTLP/HTTP encoding: send application/x-protobuf or application/json")
        }
        let limit = state.configuration.maxIngestBodyBytes
        let sent = try await request.collectBody(limit: limit, setting: "max_ingest_body_bytes")
        let contentEncoding = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        guard ["identity", "", "gzip", "x-gzip"].contains(contentEncoding) else {
            return Self.failure(.unsupportedMediaType, encoding: encoding,
                                "Content-Encoding \"\(contentEncoding)\" is not supported: send gzip or no encoding")
        }
        let reader = OTLPTraceReader(accountAttributes: state.configuration.otlpAccountAttributes,
                                     decoder: state.decoder.exchanges)
        let provenanceKey = state.provenanceKey
        // Inflated, decoded and read span by span on the ingest lane, not the threads that
        // answer decide (``BackgroundLane``).
        let decoded = await BackgroundLane.ingest.run { () -> DecodedExport in
            var inflated: [UInt8]?
            if contentEncoding == "gzip" || contentEncoding == "x-gzip" {
                do throws(GzipBody.Failure) {
                    inflated = try sent.withUnsafeReadableBytes { raw throws(GzipBody.Failure) in try GzipBody.inflate(raw, limit: limit) }
                } catch {
                    return .refused(error.tooLarge ? .contentTooLarge : .badRequest,
                                    error.tooLarge ? "\(error.description) (the server's max_ingest_body_bytes)" : error.description)
                }
            }
            let request: Result<OTLPTraceReader.Request, RecordError>
            if let inflated {
                request = inflated.withUnsafeBytes { raw in Result { () throws(RecordError) in try OTLPTraceReader.request(from: raw, encoding: encoding) } }
            } else {
                request = sent.withUnsafeReadableBytes { raw in Result { () throws(RecordError) in try OTLPTraceReader.request(from: raw, encoding: encoding) } }
            }
            let exportRequest: OTLPTraceReader.Request
            switch request {
            case .success(let r): exportRequest = r
            case .failure(let error): return .refused(.badRequest, error.reason)
            }
            var batch = IngestRoutes.Batch(provenanceKey: provenanceKey)
            var reasons: [String] = []
            let tally = reader.forEachSpan(in: exportRequest, encoding: encoding) { position, result in
                switch result {
                case .success(let exchange):
                    batch.accept(exchange)
                case .failure(let error):
                    batch.rejectedCount += 1
                    if reasons.count < Self.reasonsListed { reasons.append("\(position): \(error)") }
                }
                BackgroundLane.yieldIfDue()
            }
            return .spans(batch, reasons: reasons, ignored: tally.spans - tally.genAISpans)
        }
        let batch: IngestRoutes.Batch, reasons: [String], ignoredSpans: Int
        switch decoded {
        case .refused(let status, let message): return Self.failure(status, encoding: encoding, message)
        case .spans(let b, let r, let ignored): (batch, reasons, ignoredSpans) = (b, r, ignored)
        }
        if !batch.events.isEmpty {
            do {
                _ = try await IngestRoutes.write(batch, state: state, request: request)
            } catch let error as HTTPError {
                // Live shards: another shard's node did not take its part (503), or a
                // forwarded batch reached the wrong node (421).
                var response = Self.failure(error.status, encoding: encoding, error.body ?? "\(error)")
                if error.status == .serviceUnavailable { response.headers[.retryAfter] = "1" }
                return response
            } catch let refusal as IngestRefusal {
                // OTLP/HTTP: 429 and 503 are retryable, after Retry-After when given.
                var response = Self.failure(refusal.status, encoding: encoding, refusal.description)
                response.headers[.retryAfter] = "\(refusal.retryAfterSeconds)"
                return response
            } catch {
                return Self.failure(.serviceUnavailable, encoding: encoding,
                                    "cannot store the spans (nothing was accepted; retry): \(error)")
            }
        }
        state.metrics.exchangesAccepted.increment(by: batch.events.count)
        state.metrics.exchangesRejected.increment(by: batch.rejectedCount)
        state.metrics.exchangesRejectedSinceStart.add(batch.rejectedCount, ordering: .relaxed)
        state.metrics.countSpans(accepted: batch.events.count, rejected: batch.rejectedCount,
                                 ignored: ignoredSpans)

        var response = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse()
        if batch.rejectedCount > 0 {
            response.partialSuccess.rejectedSpans = Int64(batch.rejectedCount)
            var message = reasons.joined(separator: "; ")
            if batch.rejectedCount > reasons.count { message += "; and \(batch.rejectedCount - reasons.count) more" }
            response.partialSuccess.errorMessage = message
        }
        return Self.answer(response, status: .ok, encoding: encoding)
    }

    /// An export request read on the ingest lane: its spans as a batch, or why it is refused.
    enum DecodedExport: Sendable {
        case spans(IngestRoutes.Batch, reasons: [String], ignored: Int)
        case refused(HTTPResponse.Status, String)
    }

    /// How many rejected spans `error_message` describes.
    static let reasonsListed = 5

    /// A `google.rpc.Status` answer (OTLP/HTTP "Failures").
    static func failure(_ status: HTTPResponse.Status, encoding: OTLPTraceReader.Encoding, _ message: String) -> Response {
        var body = Google_Rpc_Status()
        // google.rpc.Code: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE.
        switch status {
        case .contentTooLarge, .tooManyRequests: body.code = 8
        case .serviceUnavailable: body.code = 14
        default: body.code = 3
        }
        body.message = message
        return answer(body, status: status, encoding: encoding)
    }

    static func answer(_ message: some SwiftProtobuf.Message, status: HTTPResponse.Status,
                       encoding: OTLPTraceReader.Encoding) -> Response {
        let bytes: [UInt8]
        let type: String
        switch encoding {
        case .protobuf:
            bytes = (try? message.serializedBytes()) ?? []
            type = "application/x-protobuf"
        case .json:
            bytes = (try? message.jsonUTF8Bytes()) ?? Array("{}".utf8)
            type = "application/json"
        }
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        return Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: buffer))
    }
}
