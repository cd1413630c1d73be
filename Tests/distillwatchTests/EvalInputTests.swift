import DistillWatchSimulator
import DistillWatchTestSupport
import Foundation
import Testing

/// What `simulate` and `eval` refuse before they start: scales that would simulate more
/// accounts than a plan may hold (once a trap in the plan's arithmetic, or gigabytes of
/// memory before the first line), and recorded files none of whose lines can be used.
@Suite(.onTheHeavyLane) struct EvalInputTests {
    @Test func aScaleBeyondThePlansAccountsIsAUsageError() throws {
        let dir = Scratch()
        for (arguments, message) in [
            (["simulate", "--scenario", "naive-bulk", "--scale", "1e18", "--out", dir.path + "/s"], "--scale 1e+18 would simulate"),
            (["eval", "--scenario", "naive-bulk", "--scale", "1e300"], "--scale 1e+300 would simulate"),
            (["eval", "--scenario", "mixed", "--scale", "inf"], "--scale must be a positive number, not inf"),
            (["eval", "--scenario", "mixed", "--scale", "0"], "--scale must be a positive number, not 0.0"),
            (["eval", "--all-scenarios", "--hydra-2026-scale", "1e6"], "--hydra-2026-scale 1000000.0 would simulate"),
            (["eval", "--two-provider", "--scale", "1e12"], "--scale 1000000000000.0 would simulate"),
        ] as [([String], String)] {
            let r = try run(arguments)
            #expect(r.status == 64 || r.status == 1, "\(arguments): status \(r.status)")
            #expect(r.status < 128, "\(arguments) crashed")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            if message.contains("would simulate") { #expect(r.stderr.contains("at most 10,000,000 (a scale up to about"), "\(r.stderr)") }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/s"))
        // The bound itself: the largest scale it names is accepted, a little more is not.
        let scenario = try #require(Scenario.named("naive-bulk"))
        #expect(ScenarioPlan.problem(withScale: 1, for: scenario) == nil)
        let top = Double(ScenarioPlan.maximumAccounts) / ScenarioPlan.accountCount(of: scenario, scale: 1)
        #expect(ScenarioPlan.problem(withScale: top * 0.99, for: scenario) == nil)
        #expect(ScenarioPlan.problem(withScale: top * 1.02, for: scenario) != nil)
        // The largest scale named is the same however far past it the scale asked lies (from
        // 1e300 it used to say "about 0").
        let named = try [2.0 * top, 1e18, 1e300, Double.greatestFiniteMagnitude].map { scale in
            let message = try #require(ScenarioPlan.problem(withScale: scale, for: scenario))
            return String(try #require(message.split(separator: "(a scale up to about ").last))
        }
        #expect(Set(named).count == 1 && named[0] != "0)", "\(named)")
    }

    /// `eval --traffic … --labels …` reads its files as `scan` does: a file of which no line
    /// is usable stops it with an error naming the file, the line and the field; a label that
    /// contradicts an earlier one for the same account names that line.
    @Test func recordedFilesWithNothingUsableAreErrorsThatSayWhere() throws {
        let dir = Scratch()
        let traffic = dir.path + "/traffic.jsonl", labels = dir.path + "/labels.jsonl"
        try Data(#"""
            {"time":"2026-04-22T03:14:15.926Z","account_id":"a1","output_tokens":100,"input_tokens":10}
            {"time":1776827655926,"account_id":"a2","output_tokens":100}

            """#.utf8).write(to: URL(fileURLWithPath: traffic))
        try Data(#"""
            {"account_id":"a1","label":"attack","campaign":"c1"}
            {"account_id":"a1","label":"legit"}
            {"account_id":"a2","label":"ATTACK"}
            {"account_id":"a3","label":"attack"}
            not json

            """#.utf8).write(to: URL(fileURLWithPath: labels))
        let bad = dir.path + "/bad.jsonl"
        try Data("not json\n{\"time\":\"bad\",\"account_id\":\"a\"}\n".utf8).write(to: URL(fileURLWithPath: bad))

        let noTraffic = try run(["eval", "--traffic", bad, "--labels", labels])
        #expect(noTraffic.status == 1, "\(noTraffic.stderr)")
        #expect(noTraffic.stderr.contains(bad) && noTraffic.stderr.contains("none of its 2 lines is"), "\(noTraffic.stderr)")

        let noLabels = try run(["eval", "--traffic", traffic, "--labels", bad])
        #expect(noLabels.status == 1 && noLabels.stderr.contains("a label record"), "\(noLabels.stderr)")
        let emptyLabels = try run(["eval", "--traffic", traffic, "--labels", "/dev/null"])
        #expect(emptyLabels.status == 1 && emptyLabels.stderr.contains("is empty: no label records"), "\(emptyLabels.stderr)")

        let partly = try run(["eval", "--traffic", traffic, "--labels", labels])
        #expect(partly.status == 0, "\(partly.stderr)")
        #expect(partly.stderr.contains("skipped 3 malformed lines"), "\(partly.stderr)")
        #expect(partly.stderr.contains("\(labels):2: field \"label\": \"legit\" for a1, labelled \"attack\" on line 1"), "\(partly.stderr)")
        #expect(partly.stderr.contains("\(labels):3: field \"label\""), "\(partly.stderr)")
        // a3 is labelled but sent nothing: not evaluated, and said so.
        #expect(partly.stderr.contains("note: 1 labelled account sent no exchange in \(traffic) and is not evaluated (a3)"), "\(partly.stderr)")
        let strict = try run(["eval", "--traffic", traffic, "--labels", labels, "--strict"])
        #expect(strict.status == 1 && strict.stderr.contains("\(labels):2"), "\(strict.stderr)")
    }
}
