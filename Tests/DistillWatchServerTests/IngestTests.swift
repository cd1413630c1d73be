import DistillWatchCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

@Suite struct IngestTests {
    @Test(arguments: Mode.allCases)
    func acceptsGoodLinesAndReportsEachRejectedLineWithItsNumber(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let body = """
                {"time":"2026-04-01T00:00:00Z","account_id":"a1","output_tokens":100}
                {"time":"noon","account_id":"a2"}

                {"time":1775001600000,"account_id":"a1","output_tokens":"many"}
                [{"time":"2026-04-01T00:00:00Z","account_id":"a3"}]
                {"account_id":"a4"}
                {"time":"2026-04-01T00:00:01Z","account_id":"a1"}\r
                {"time":"2026-04-01T00:00:02Z","account_id":"a1"
                """
            let r = try await client.post("/v1/exchanges", Secret.ingest, body)
            #expect(r.status == .ok)
            let result = try r.decode(IngestResult.self)
            #expect(result.accepted == 2)
            #expect(result.rejected == 5)
            #expect(result.rejectedLines.map(\.line) == [2, 4, 5, 6, 8])
            #expect(result.rejectedLines[0].field == "time")
            #expect(result.rejectedLines[0].reason.contains("RFC 3339"))
            #expect(result.rejectedLines[1].field == "output_tokens")
            #expect(result.rejectedLines[1].reason.contains("integer"))
            #expect(result.rejectedLines[2].reason.contains("NDJSON"))
            #expect(result.rejectedLines[3].field == "time" && result.rejectedLines[3].reason.contains("missing"))
            #expect(result.firstSequence == 1 && result.lastSequence == 2)
            let account = try await client.get("/v1/accounts/a1", Secret.analyst)
            #expect(account.json["exchanges"] as? Int == 2)
            #expect(try await client.get("/v1/accounts/a2", Secret.analyst).status == .notFound)
        }
    }

    /// `Content-Encoding: gzip` batches are inflated (within `max_ingest_body_bytes`); an
    /// encoding the server cannot read is a 415 naming it, not a batch of lines rejected for
    /// their bytes; nothing of a refused body is stored.
    @Test func gzipBatchesAreReadAndOtherEncodingsRefused() async throws {
        var configuration = testConfiguration()
        configuration.maxIngestBodyBytes = 64 << 10
        try await withServer(.router, configuration) { client in
            let lines = """
                {"time":"2026-04-01T00:00:00Z","account_id":"a1","output_tokens":100}
                {"time":"2026-04-01T00:00:01Z","account_id":"a1","output_tokens":"many"}

                """
            func post(_ path: String, _ body: [UInt8], encoding: String) async throws -> TestResponse {
                var headers: HTTPFields = [.authorization: "Bearer \(Secret.ingest)"]
                headers[.contentEncoding] = encoding
                return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            }
            let r = try await post("/v1/exchanges", gzip(Array(lines.utf8)), encoding: "gzip")
            #expect(r.status == .ok, "\(r.text)")
            let result = try r.decode(IngestResult.self)
            #expect(result.accepted == 1 && result.rejectedLines.map(\.line) == [2])
            let accounts = try await post("/v1/accounts", gzip(Array(#"{"account_id":"a1","tier":"free"}"#.utf8)), encoding: "x-gzip")
            #expect(accounts.status == .ok && accounts.json["accepted"] as? Int == 1, "\(accounts.text)")

            let brotli = try await post("/v1/exchanges", Array(lines.utf8), encoding: "br")
            #expect(brotli.status == .unsupportedMediaType && brotli.errorMessage.contains("Content-Encoding \"br\""), "\(brotli.text)")
            let notGzip = try await post("/v1/exchanges", Array(lines.utf8), encoding: "gzip")
            #expect(notGzip.status == .badRequest && notGzip.errorMessage.contains("gzip"), "\(notGzip.text)")
            let bomb = try await post("/v1/exchanges", gzip([UInt8](repeating: 0x0A, count: 1 << 20)), encoding: "gzip")
            #expect(bomb.status == .contentTooLarge && bomb.errorMessage.contains("max_ingest_body_bytes"), "\(bomb.text)")
            let status = try await client.get("/v1/status", Secret.analyst)
            #expect((status.json["log"] as? [String: Any])?["total"] as? Int == 2, "one exchange and one account record")
        }
    }

    /// An id holding a NUL is refused everywhere: SQLite's text cut `big\u0000x` to `big` in
    /// the log, and after a restart an analyst's block of the one moved to the other. Other
    /// control characters (a tab) pass, as they survive the log.
    @Test func idsWithANULAreRefusedEverywhere() async throws {
        try await withServer(.router) { client in
            let r = try await client.post("/v1/exchanges", Secret.ingest, """
                {"time":"2026-04-01T00:00:00Z","account_id":"big"}
                {"time":"2026-04-01T00:00:01Z","account_id":"big\\u0000x"}
                {"time":"2026-04-01T00:00:02Z","account_id":"big\\tx"}
                {"time":"2026-04-01T00:00:03Z","account_id":"big","request_id":"r\\u0000"}
                """)
            let result = try r.decode(IngestResult.self)
            #expect(result.accepted == 2 && result.rejectedLines.map(\.line) == [2, 4], "\(r.text)")
            #expect(result.rejectedLines.first?.field == "account_id"
                    && result.rejectedLines.first?.reason.contains("NUL character (U+0000 at byte 3)") == true, "\(r.text)")
            #expect(result.rejectedLines.last?.field == "request_id", "\(r.text)")
            let label = try await client.post("/v1/accounts/big%00x/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            #expect(label.status == .badRequest && label.errorMessage.contains("NUL character"), "\(label.text)")
            let decide = try await client.post("/v1/decide", Secret.decide, #"{"account_id":"big\u0000x"}"#)
            #expect(decide.status == .badRequest && decide.errorMessage.contains("NUL character"), "\(decide.text)")
            let records = try await client.post("/v1/accounts", Secret.ingest, #"{"account_id":"big\u0000"}"#)
            #expect(records.status == .badRequest, "\(records.text)")
            #expect(try await client.get("/v1/accounts/big%09x", Secret.analyst).status == .ok, "a tab is kept")
        }
    }

    @Test(arguments: Mode.allCases)
    func aBatchWithNothingGoodIsA400AndAnEmptyBodyToo(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let bad = try await client.post("/v1/exchanges", Secret.ingest, "not json\n{\"time\":3}\n")
            #expect(bad.status == .badRequest)
            #expect(bad.json["accepted"] as? Int == 0)
            #expect(bad.json["rejected"] as? Int == 2)
            let empty = try await client.post("/v1/exchanges", Secret.ingest, "\n  \n")
            #expect(empty.status == .badRequest)
            #expect(empty.errorMessage.contains("empty body"))
            let status = try await client.get("/v1/status", Secret.analyst)
            #expect((status.json["log"] as? [String: Any])?["total"] as? Int == 0)
        }
    }

    @Test(arguments: Mode.allCases)
    func oversizeBodiesAre413WithTheLimitAndTheServerStaysUp(_ mode: Mode) async throws {
        var c = testConfiguration()
        c.maxIngestBodyBytes = 10_000
        c.maxRequestBodyBytes = 1_000
        try await withServer(mode, c) { client in
            let line = #"{"time":"2026-04-01T00:00:00Z","account_id":"a1"}"#
            let big = Array(repeating: line, count: 400).joined(separator: "\n")
            let r = try await client.post("/v1/exchanges", Secret.ingest, big)
            #expect(r.status == .contentTooLarge)
            #expect(r.errorMessage.contains("10000 bytes"), "\(r.text)")
            let decide = try await client.post("/v1/decide", Secret.decide,
                                               #"{"account_id":"a1","prompt":"\#(String(repeating: "x", count: 2000))"}"#)
            #expect(decide.status == .contentTooLarge)
            #expect(decide.errorMessage.contains("1000 bytes"))
            // Nothing was taken in, and the server still answers.
            let small = try await client.post("/v1/exchanges", Secret.ingest, line)
            #expect(small.status == .ok)
            #expect(small.json["first_sequence"] as? Int == 1)
            #expect(try await client.post("/v1/decide", Secret.decide, #"{"account_id":"a1"}"#).status == .ok)
        }
    }

    @Test(arguments: Mode.allCases)
    func accountRecordsAreUpserted(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let first = try await client.post("/v1/accounts", Secret.ingest, """
                {"account_id":"acct-1","tier":"free","created":"2026-03-30T00:00:00Z"}
                {"tier":"free"}
                """)
            #expect(first.status == .ok)
            #expect(first.json["accepted"] as? Int == 1)
            #expect(((first.json["rejected_lines"] as? [[String: Any]])?.first?["line"]) as? Int == 2)
            // From an ingest-only token, the exemption fields are ignored, and the answer says so.
            let plain = try await client.post("/v1/accounts", Secret.ingest,
                                              #"{"account_id":"acct-1","tier":"enterprise","verified":true,"allowlisted":true}"#)
            let ignored = (plain.json["ignored_fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
            #expect(ignored == ["allowlisted", "verified"])
            var record = try await client.get("/v1/accounts/acct-1", Secret.analyst).json["record"] as? [String: Any]
            #expect(record?["tier"] as? String == "enterprise")
            #expect(record?["verified"] == nil && record?["allowlisted"] == nil)
            // A token with the exempt role sets them.
            let exempt = try await client.post("/v1/accounts", Secret.registrar, #"{"account_id":"acct-1","verified":true}"#)
            #expect(exempt.status == .ok && exempt.json["ignored_fields"] == nil)
            let account = try await client.get("/v1/accounts/acct-1", Secret.analyst)
            #expect(account.status == .ok)
            record = account.json["record"] as? [String: Any]
            #expect(record?["tier"] as? String == "enterprise")
            #expect(record?["verified"] as? Bool == true)
            #expect(record?["created"] as? String == "2026-03-30T00:00:00.000Z")
            // `false` grants nothing: any ingest token may say it, without a warning.
            let withdrawn = try await client.post("/v1/accounts", Secret.ingest, #"{"account_id":"acct-1","verified":false,"allowlisted":false}"#)
            #expect(withdrawn.status == .ok && withdrawn.json["ignored_fields"] == nil, "\(withdrawn.text)")
            record = try await client.get("/v1/accounts/acct-1", Secret.analyst).json["record"] as? [String: Any]
            #expect(record?["verified"] as? Bool == false && record?["allowlisted"] as? Bool == false)
        }
    }
}
