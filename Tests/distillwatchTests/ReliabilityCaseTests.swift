import Foundation
import Testing

/// The reliability fixtures (Tests/Fixtures/reliability, from the fuzzing and role-matrix
/// run that found them): each once stopped `scan` with a trap or was accepted as data.
/// Each is scanned by the built binary; the process must exit normally with the right
/// verdict on the input, never die on a signal.
@Suite struct ReliabilityCaseTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reliability")

    static func scan(_ name: String, _ extra: [String] = []) throws -> (RunResult, [String: Any]) {
        let scratch = Scratch()
        let report = scratch.path + "/report.json"
        let result = try run(["scan", fixtures.appendingPathComponent(name).path, "--no-progress", "--all", "--json", report] + extra)
        #expect(result.status == 0 || result.status == 1, "\(name): exit \(result.status) (a trap exits 132 or dies on a signal)")
        let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report)))) as? [String: Any] ?? [:]
        return (result, json)
    }

    static func input(_ report: [String: Any]) -> [String: Any] { report["input"] as? [String: Any] ?? [:] }
    static func accounts(_ report: [String: Any]) -> [String] {
        (report["accounts"] as? [[String: Any]] ?? []).compactMap { $0["account_id"] as? String }
    }

    @Test(arguments: [
        ("token-sum-overflow.jsonl", "output_tokens", "9223372036854775807 is more than 100000000"),
        ("input-token-sum-overflow.jsonl", "input_tokens", "9223372036854775807 is more than 100000000"),
        ("pre-1970-then-later.jsonl", "time", "1969-12-01T00:00:00.000Z is outside the accepted range"),
    ])
    func anOutOfRangeLineIsRejectedAndTheRestScanned(_ name: String, _ field: String, _ reason: String) throws {
        let (result, report) = try Self.scan(name)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.input(report)["exchanges"] as? Int == 1)
        #expect(Self.input(report)["malformed_lines"] as? Int == 1)
        #expect(result.stdout.contains("\(name):1: field \"\(field)\": \(reason)"), "\(result.stdout)")
        #expect(Self.accounts(report) == ["a"])
    }

    @Test(arguments: [
        ("int64min-time.jsonl", "field \"time\": epoch number -9223372036854775808 is not a time between 2000 and 2100"),
        ("negative-values-accepted.jsonl", "field \"input_tokens\": -7 is negative"),
        ("all-malformed.jsonl", "none of its 2 lines is an exchange record; line 1: not a JSON object"),
        ("gzip-bad-magic.jsonl.gz", "is named .gz but is not a gzip stream (it starts with 1f 0b"),
    ])
    func anInputWithNoUsableLineIsAnError(_ name: String, _ message: String) throws {
        let (result, _) = try Self.scan(name)
        #expect(result.status == 1)
        #expect(result.stderr.contains(name) && result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func numbersAndEncodingsAtTheEdgeAreRejectedByField() throws {
        let (result, report) = try Self.scan("number-and-encoding-edge.jsonl")
        #expect(result.status == 0)
        // Line 1 starts with a byte order mark: skipped, the record is read.
        #expect(Self.accounts(report) == ["bom"])
        #expect(Self.input(report)["malformed_lines"] as? Int == 5)
        let file = "number-and-encoding-edge.jsonl"
        for expected in [
            "\(file):2: field \"temperature\": 9.223372036854776e+18 is more than 100.0",
            "\(file):3: field \"temperature\": 1.8446744073709552e+19 is more than 100.0",
            "\(file):4: field \"latency_ms\": number out of range",
            "\(file):5: invalid UTF-8 at byte 51",
            "\(file):6: invalid UTF-8 at byte 51",
        ] {
            #expect(result.stdout.contains(expected), "missing \(expected) in \(result.stdout)")
        }
    }

    @Test func theFuzzedCampaignInputScansWithItsBadLinesCounted() throws {
        let (result, report) = try Self.scan("campaign-record-overflow.jsonl", ["--malformed", "100"])
        #expect(result.status == 0, "\(result.stderr)")
        // Line 6's account is a lone NUL, refused since ids with a NUL are (it also has no time).
        #expect(Self.input(report)["exchanges"] as? Int == 34)
        #expect(Self.input(report)["malformed_lines"] as? Int == 26)
        #expect(result.stdout.contains("field \"output_tokens\": 4611686018427387904 is more than 100000000"))
    }

    @Test(arguments: ["leak-canaries.jsonl", "leak-no-prompt.jsonl"])
    func noTextReachesTheReportOrTheSummary(_ name: String) throws {
        let scratch = Scratch()
        let report = scratch.path + "/report.json"
        let result = try run(["scan", Self.fixtures.appendingPathComponent(name).path, "--no-progress", "--all", "--json", report])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOfFile: report, encoding: .utf8)
        for output in [written, result.stdout, result.stderr] {
            #expect(!output.contains("CANARY"), "\(name): text reached an output")
        }
    }
}
