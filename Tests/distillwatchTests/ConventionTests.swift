import DistillWatchTestSupport
import Foundation
import Testing

/// One set of conventions across the commands: `-` for standard output wherever a path is
/// taken, deterministic output, one way to print numbers and errors, `--version`.
@Suite(.onTheHeavyLane) struct ConventionTests {
    static func traffic(_ dir: Scratch) -> String {
        // A harvester and ordinary accounts, enough for a verdict.
        var lines: [String] = []
        for i in 0..<600 {
            let t = 1_775_001_600_000 + i * 9_000
            lines.append(#"{"time":\#(t),"account_id":"acct-harvester","model":"m","output_tokens":12000,"max_tokens":32000,"temperature":1,"thinking":true,"message_count":1}"#)
            if i % 20 == 0 {
                lines.append(#"{"time":\#(t + 1),"account_id":"acct-\#(i % 7)","model":"m","output_tokens":300,"max_tokens":1024,"temperature":0.5,"message_count":3}"#)
            }
        }
        return dir.write("traffic.jsonl", Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    @Test func twoScansOfTheSameInputWriteTheSameBytesApartFromGeneratedAt() throws {
        let dir = Scratch()
        let input = Self.traffic(dir)
        var outputs: [String] = []
        for k in 0..<2 {
            let report = dir.path + "/report-\(k).json"
            let r = try run(["scan", input, "--all", "--json", report, "--content-key", "00112233445566778899aabbccddeeff"])
            #expect(r.status == 0, "\(r.stderr)")
            let text = try String(contentsOfFile: report, encoding: .utf8)
            outputs.append(text.split(separator: "\n").filter { !$0.contains("\"generated_at\"") }.joined(separator: "\n"))
        }
        #expect(outputs[0] == outputs[1])
        // Keys are sorted: "accounts" comes before "campaigns", "format", "input".
        let keys = outputs[0].split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { String($0.dropFirst(3).prefix { $0 != "\"" }) }
        #expect(keys == keys.sorted(), "\(keys)")
    }

    @Test func jsonDashWritesTheReportToStandardOutputAndTheSummaryToStandardError() throws {
        let dir = Scratch()
        let r = try run(["scan", Self.traffic(dir), "--json", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(report?["format"] as? String == "distillwatch.report.v1")
        #expect(r.stderr.contains("Scanned 630 exchanges from 8 accounts"))
        #expect(!FileManager.default.fileExists(atPath: "-"))
        let reading = try run(["scan", "-", "--json", "-"], stdin: Data())
        #expect(reading.status != 0 && reading.stderr.contains("cannot be combined with reading standard input"))
    }

    @Test func evalTakesJsonWithAPathOrDash() throws {
        let dir = Scratch()
        let path = dir.path + "/eval.json"
        let toFile = try run(["eval", "--scenario", "mixed", "--scale", "0.2", "--json", path, "--no-progress"])
        #expect(toFile.status == 0, "\(toFile.stderr)")
        #expect(toFile.stdout.contains("recall") || toFile.stdout.contains("Recall"), "the text report still prints")
        let fromFile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let toStdout = try run(["eval", "--scenario", "mixed", "--scale", "0.2", "--json", "-", "--no-progress"])
        let fromStdout = try JSONSerialization.jsonObject(with: Data(toStdout.stdout.utf8)) as? [String: Any]
        #expect(fromFile != nil && fromStdout != nil)
        #expect(fromFile?["exchanges"] as? Int == fromStdout?["exchanges"] as? Int)
        let help = try run(["eval", "--help"])
        #expect(help.stdout.contains("--hydra-2026-scale"))
        let scaled = try run(["eval", "--all-scenarios", "--hydra-2026-scale=-1"])
        #expect(scaled.status != 0 && scaled.stderr.contains("--hydra-2026-scale must be a positive number, not -1.0"), "\(scaled.stderr)")
    }

    @Test func versionAndErrorsPrintOneWay() throws {
        let version = try run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("distillwatch "))
        let usage = try run(["scan"])
        #expect(usage.status != 0)
        #expect(usage.stderr.hasPrefix("error: give at least one traffic file"), "\(usage.stderr)")
        let missing = try run(["scan", "/nonexistent/traffic.jsonl"])
        #expect(missing.status == 1 && missing.stderr.contains("error: /nonexistent/traffic.jsonl: cannot open"), "\(missing.stderr)")
        #expect(!(usage.stderr + missing.stderr).contains("Error:"))
    }

    @Test func theSummaryRanksCampaignsThenAccountsAndCountsInWords() throws {
        let dir = Scratch()
        let r = try run(["scan", Self.traffic(dir), "--malformed", "0"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Scanned 630 exchanges from 8 accounts"))
        #expect(r.stdout.contains("Riskiest accounts outside campaigns"))
        #expect(r.stdout.contains("acct-harvester"))
        #expect(!r.stdout.contains(" 1 accounts") && !r.stdout.contains(" 1 exchanges"))
    }

    /// Help paragraphs are written as one line each and wrapped by the parser to the
    /// terminal, so no paragraph is broken mid-sentence at a width the source chose.
    @Test(arguments: [["scan"], ["simulate"], ["eval"], ["demo"], ["serve"], ["policy", "show"], ["policy", "check"], ["policy"], ["screen"]])
    func helpParagraphsAreNotBrokenMidSentence(_ command: [String]) throws {
        let r = try run(command + ["--help"], environment: ["COLUMNS": "4000"])
        #expect(r.status == 0)
        let lines = r.stdout.components(separatedBy: "\n")
        let usage = lines.firstIndex { $0.hasPrefix("USAGE:") } ?? lines.count
        let prose = lines[..<usage]
        for (a, b) in zip(prose, prose.dropFirst()) where !a.isEmpty && !b.isEmpty {
            Issue.record("\(command) --help breaks a paragraph: \"\(a)\" / \"\(b)\"")
        }
    }
}

/// The demo and the commands it prints to reproduce it with files give the same summary
/// (they used to seed the content key differently, so scores differed).
@Suite(.onTheHeavyLane) struct DemoReproductionTests {
    @Test func theDemosReproduceCommandsGiveItsSummary() throws {
        let demo = try run(["demo"])
        #expect(demo.status == 0, "\(demo.stderr)")
        guard let line = demo.stdout.split(separator: "\n").first(where: { $0.hasPrefix("Reproduce with files: ") }) else {
            Issue.record("the demo prints no reproduce line:\n\(demo.stdout.suffix(500))")
            return
        }
        let dir = Scratch()
        let commands = line.dropFirst("Reproduce with files: ".count).split(separator: ";").map {
            $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "DIR", with: dir.path + "/mixed")
        }
        #expect(commands.count == 2)
        var outputs: [String] = []
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            #expect(words.first == "distillwatch")
            let r = try run(Array(words.dropFirst()) + (words[1] == "scan" ? ["--no-progress"] : []))
            #expect(r.status == 0, "\(command): \(r.stderr)")
            outputs.append(r.stdout)
        }
        // The scan's summary (counts, verdicts, campaigns, riskiest accounts with their
        // scores) is the demo's first part, line for line.
        let scanned = outputs[1].split(separator: "\n").filter { !$0.hasPrefix("note:") }
        let demoLines = Set(demo.stdout.split(separator: "\n"))
        let summary = scanned.filter { $0.contains("score ") || $0.hasPrefix("Scanned ") || $0.hasPrefix("Verdicts: ") }
        #expect(summary.count >= 5)
        for l in summary { #expect(demoLines.contains(l), "the demo lacks: \(l)") }
    }
}
