import Foundation
import Testing

/// `scan --input-format litellm` on the LiteLLM fixtures (Tests/Fixtures/gateway/litellm),
/// by the built binary.
@Suite struct GatewayInputTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gateway/litellm")

    /// Cases 03 and 04: every line used to be rejected and `scan` exited 0 on nothing.
    @Test(arguments: ["03-litellm-standard-logging-payload.ndjson", "04-litellm-generic-api-json-array.json"])
    func liteLLMLogsAreScanned(_ name: String) throws {
        let scratch = Scratch()
        let path = Self.fixtures.appendingPathComponent(name).path
        let report = scratch.path + "/report.json"
        let r = try run(["scan", "--input-format", "litellm", path, "--all", "--json", report, "--no-progress"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Scanned 3 exchanges from 1 account from 2026-11-18T11:06:40.123Z to 2026-11-18T11:07:20.123Z."), "\(r.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        let accounts = (json?["accounts"] as? [[String: Any]] ?? []).compactMap { $0["account_id"] as? String }
        #expect(accounts == ["team-placeholder-9"])
        // With the default, --input-format auto, the format is recognised and said.
        let auto = try run(["scan", path, "--no-progress"])
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stderr.contains("read as litellm (recognised from line 1"), "\(auto.stderr)")
        #expect(auto.stdout.contains("Scanned 3 exchanges from 1 account"))
        // Read as v1, the same file is an error that says what to do.
        let asV1 = try run(["scan", "--input-format", "v1", path, "--no-progress"])
        #expect(asV1.status == 1)
        #expect(asV1.stderr.contains("--input-format litellm"), "\(asV1.stderr)")
    }

    /// A LiteLLM array pretty-printed over many lines (as `jq .` writes it): the server reads
    /// such a body whole, a file is JSON Lines. The first line said "element 0: should be an
    /// object"; it now says what the file is and what to do.
    @Test func aPrettyPrintedArrayIsNamedAsSuch() throws {
        let scratch = Scratch()
        let compact = try Data(contentsOf: Self.fixtures.appendingPathComponent("04-litellm-generic-api-json-array.json"))
        let value = try JSONSerialization.jsonObject(with: compact)
        let pretty = scratch.write("pretty.json", try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted]))
        let r = try run(["scan", "--input-format", "litellm", pretty, "--no-progress"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 1: the line holds only \"[\": a JSON value written over several lines"), "\(r.stderr)")
        #expect(r.stderr.contains("jq -c"))
    }

    @Test func theAccountFieldOrderIsAnOption() throws {
        let path = Self.fixtures.appendingPathComponent("21-litellm-1.106.2-real-standard-logging-payload-array.json").path
        let byUser = try run(["scan", "--input-format", "litellm", "--litellm-account-fields", "user_id,key_hash", path, "--no-progress"])
        #expect(byUser.status == 1, "only placeholders: no payload names an account")
        #expect(byUser.stderr.contains("placeholder \"default_user_id\""), "\(byUser.stderr)")
        let bad = try run(["scan", "--input-format", "litellm", "--litellm-account-fields", "email", path])
        #expect(bad.status == 64 && bad.stderr.contains("unknown LiteLLM account field \"email\""), "\(bad.stderr)")
        let misplaced = try run(["scan", "--input-format", "v1", "--litellm-account-fields", "team_id", path])
        #expect(misplaced.status == 64 && misplaced.stderr.contains("applies only to LiteLLM input"), "\(misplaced.stderr)")
        // A file in no known format is an error naming the formats tried.
        let scratch = Scratch()
        let other = scratch.write("metrics.json", Data(#"{"resourceMetrics":[{"scopeMetrics":[]}]}"#.utf8))
        let unknown = try run(["scan", other, "--no-progress"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("metrics.json: its one line is in none of the formats tried: v1 (an object with time and account_id), litellm"),
                "\(unknown.stderr)")
        #expect(unknown.stderr.contains("otlp (an OTLP/JSON ExportTraceServiceRequest") && unknown.stderr.contains("helicone"))
        // An OTLP file without a GenAI span is read as OTLP and found to hold nothing usable.
        let otlp = scratch.write("trace.json", Data(#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"GET /","startTimeUnixNano":"1795000000000000000"}]}]}]}"#.utf8))
        let noGenAI = try run(["scan", otlp, "--no-progress"])
        #expect(noGenAI.status == 1)
        #expect(noGenAI.stderr.contains("read as otlp") && noGenAI.stderr.contains("its one line is not a usable GenAI span"), "\(noGenAI.stderr)")
    }
}
