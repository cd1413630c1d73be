import CZlib
import DistillWatchCore
import DistillWatchIngest
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import OpenTelemetryProto
import SwiftProtobuf
import Testing
@testable import DistillWatchServer

/// `POST /v1/traces`, the OTLP/HTTP receiver, fed what the real OpenTelemetry Python SDK
/// sent (Tests/Fixtures/gateway/otlp) and bodies built to break it.
@Suite struct OpenTelemetryRouteTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/otlp")
    static let sdk = fixtures.appendingPathComponent("python-sdk-1.45.2")

    typealias ExportResponse = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse

    static func post(_ client: some TestClientProtocol, _ body: [UInt8], type: String, encoding: String? = nil,
                     token: String = Secret.ingest) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: type]
        if let encoding { headers[.contentEncoding] = encoding }
        return try await client.execute(uri: "/v1/traces", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    static func protobufBodies() throws -> [[UInt8]] {
        let folder = sdk.appendingPathComponent("proto-http-exporter-1.45.2")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".bin") }.sorted()
            .map { [UInt8](try Data(contentsOf: folder.appendingPathComponent($0))) }
    }

    /// The SDK's 26 gzip protobuf exports give, once flushed, the report the v1 traffic they
    /// were made from gives: same accounts, verdicts, scores and campaigns.
    @Test(arguments: Mode.allCases)
    func theSDKsExportsGiveTheV1Report(_ mode: Mode) async throws {
        let v1 = try gunzippedLines(Self.sdk.appendingPathComponent("source-v1.jsonl.gz"))
        let reference = referenceReport(exchangeLines: v1, toleranceSeconds: 300)
        #expect(reference.accounts.contains { $0.verdict.isFlagged }, "the capture must flag someone")
        let report = try await withServer(mode, testConfiguration(toleranceSeconds: 300)) { client in
            for body in try Self.protobufBodies() {
                let r = try await Self.post(client, body, type: "application/x-protobuf", encoding: "gzip")
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/x-protobuf")
                let answer = try ExportResponse(serializedBytes: Array(r.body.readableBytesView))
                #expect(!answer.hasPartialSuccess, "\(answer)")
            }
            let metrics = try await client.get("/metrics", Secret.all).text
            #expect(metrics.contains(#"distillwatch_otlp_spans_total{result="accepted"} 6509"#))
            #expect(metrics.contains(#"distillwatch_otlp_spans_total{result="ignored"} 6509"#), "the SERVER parent spans")
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            return try await client.get("/v1/report?all=true", Secret.analyst).decode(ScanReport.self)
        }
        #expect(report.accounts == reference.accounts)
        #expect(report.campaigns == reference.campaigns)
        #expect(report.input.exchanges == 6509)
    }

    /// Case 09 as OTLP/JSON: 200 with an empty ExportTraceServiceResponse in JSON; sent
    /// again (an exporter's retry), the span merges by its id instead of counting twice.
    @Test func aJSONExportIsAnsweredInJSONAndARetryMerges() async throws {
        let body = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("09-otlp-genai-span.json")))
        var configuration = testConfiguration(toleranceSeconds: 300)
        configuration.maxIngestBodyBytes = 1 << 20
        try await withServer(.router, configuration) { client in
            for _ in 0..<2 {
                let r = try await Self.post(client, body, type: "application/json; charset=utf-8")
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/json")
                #expect(r.text == "{}")
            }
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            let account = try await client.get("/v1/accounts/acct-placeholder-otel", Secret.analyst)
            #expect(account.json["exchanges"] as? Int == 1, "\(account.text)")
        }
    }

    /// A GenAI span that cannot be used is counted in partial_success with its reason; the
    /// good span of the same request is accepted.
    @Test func unusableSpansArePartialSuccess() async throws {
        let json = #"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"spanId":"aaaaaaaaaaaaaaaa","name":"chat","startTimeUnixNano":"1795000000000000000","attributes":[
                {"key":"gen_ai.request.model","value":{"stringValue":"m"}},{"key":"user.id","value":{"stringValue":"acct-good"}}]},
              {"spanId":"bbbbbbbbbbbbbbbb","name":"chat","startTimeUnixNano":"1795000001000000000","attributes":[
                {"key":"gen_ai.request.model","value":{"stringValue":"m"}}]},
              {"spanId":"cccccccccccccccc","name":"SELECT","startTimeUnixNano":"1795000001000000000","attributes":[
                {"key":"db.system","value":{"stringValue":"postgresql"}}]}
            ]}]}]}
            """#
        try await withServer(.router) { client in
            let r = try await Self.post(client, Array(json.utf8), type: "application/json")
            #expect(r.status == .ok)
            let answer = try ExportResponse(jsonUTF8Bytes: Array(r.body.readableBytesView))
            #expect(answer.partialSuccess.rejectedSpans == 1)
            #expect(answer.partialSuccess.errorMessage.contains("spans[1] (spanId bbbbbbbbbbbbbbbb"))
            #expect(answer.partialSuccess.errorMessage.contains("user.id, enduser.id"))
            let metrics = try await client.get("/metrics", Secret.all).text
            #expect(metrics.contains(#"distillwatch_otlp_spans_total{result="accepted"} 1"#))
            #expect(metrics.contains(#"distillwatch_otlp_spans_total{result="rejected"} 1"#))
            #expect(metrics.contains(#"distillwatch_otlp_spans_total{result="ignored"} 1"#))
        }
    }

    /// Bodies that are not OTLP get a google.rpc.Status in the request's encoding and the
    /// status OTLP/HTTP names: 400 (not a request, bad gzip), 413 (inflates past the
    /// limit), 415 (another content type or encoding). Nothing is stored.
    @Test func badBodiesAreRefusedWithAStatus() async throws {
        var configuration = testConfiguration()
        configuration.maxIngestBodyBytes = 64 << 10
        let bomb = gzip([UInt8](repeating: 0x0A, count: 1 << 20))
        #expect(bomb.count < 64 << 10)
        try await withServer(.router, configuration) { client in
            let cases: [(body: [UInt8], type: String, encoding: String?, status: HTTPResponse.Status, says: String)] = [
                (Array("not json".utf8), "application/json", nil, .badRequest, "not an OTLP/JSON ExportTraceServiceRequest"),
                ([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], "application/x-protobuf", nil, .badRequest, "not an OTLP/protobuf"),
                (Array("{}".utf8), "application/json", "gzip", .badRequest, "not valid gzip"),
                (Array(gzip(Array("{}".utf8)).dropLast(6)), "application/json", "gzip", .badRequest, "cut short"),
                (bomb, "application/x-protobuf", "gzip", .contentTooLarge, "max_ingest_body_bytes"),
                (Array("{}".utf8), "text/plain", nil, .unsupportedMediaType, "application/x-protobuf or application/json"),
                (Array("{}".utf8), "application/json", "br", .unsupportedMediaType, "Content-Encoding \"br\""),
            ]
            for c in cases {
                let r = try await Self.post(client, c.body, type: c.type, encoding: c.encoding)
                #expect(r.status == c.status, "\(c.type) \(c.encoding ?? "-"): \(r.text)")
                let status: Google_Rpc_Status
                if r.headers[.contentType] == "application/x-protobuf" {
                    status = try Google_Rpc_Status(serializedBytes: Array(r.body.readableBytesView))
                } else {
                    status = try Google_Rpc_Status(jsonUTF8Bytes: Array(r.body.readableBytesView))
                }
                #expect(status.message.contains(c.says), "\(status.message)")
            }
            let engine = try await client.get("/v1/status", Secret.analyst).json["engine"] as? [String: Any]
            #expect(engine?["accepted_exchanges"] as? Int == 0)
        }
    }
}

/// The lines of a gzip file.
func gunzippedLines(_ url: URL) throws -> [String] {
    let data = try Data(contentsOf: url)
    let bytes = try data.withUnsafeBytes { raw in try GzipBody.inflate(raw, limit: 256 << 20) }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// `bytes` gzip-compressed (zlib's deflate with a gzip header).
func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    deflateInit2_(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { deflateEnd(&stream) }
    var input = bytes
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
    input.withUnsafeMutableBufferPointer { i in
        out.withUnsafeMutableBufferPointer { o in
            stream.next_in = i.baseAddress
            stream.avail_in = UInt32(i.count)
            stream.next_out = o.baseAddress
            stream.avail_out = UInt32(o.count)
            _ = deflate(&stream, Z_FINISH)
        }
    }
    return Array(out.prefix(Int(stream.total_out)))
}
