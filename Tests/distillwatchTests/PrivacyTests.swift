import DistillWatchCore
import DistillWatchIngest
import Foundation
import Testing

/// No prompt text reaches any output unless evidence excerpts are enabled.
@Suite(.serialized) struct PrivacyTests {
    /// A harvester whose prompts each carry a unique canary, plus a system prompt canary.
    func trafficWithCanaries() -> (Data, [String]) {
        var bytes: [UInt8] = []
        var canaries: [String] = []
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        for i in 0..<400 {
            t = t.adding(seconds: 30)
            let canary = "zqxcanary\(i)vw"
            canaries.append(canary)
            JSONLineEncoder.append(Exchange(
                time: t, accountID: i % 2 == 0 ? "acct-h" : "acct-p", model: "m", outputTokens: 9_000,
                maxTokens: 32_000, thinking: true, messageCount: 1,
                system: "secret-system-canary-\(i % 3)",
                prompt: "Think step by step and show your reasoning. \(canary) Prove that task \(i) terminates.",
                response: "response-canary-\(i)"), to: &bytes)
        }
        return (Data(bytes), canaries + ["secret-system-canary", "response-canary"])
    }

    @Test func noPromptTextInAnyOutputByDefault() throws {
        let dir = Scratch()
        let (data, canaries) = trafficWithCanaries()
        let traffic = dir.write("t.jsonl", data)
        let report = dir.path + "/report.json"
        let r = try run(["scan", traffic, "--json", report, "--all", "--top", "50"])
        #expect(r.status == 0, "\(r.stderr)")
        let reportText = try String(contentsOfFile: report, encoding: .utf8)
        // The content signals did run on the prompts...
        #expect(reportText.contains("cot_elicitation"))
        // ...and nothing of the text came out.
        for canary in canaries {
            #expect(!r.stdout.contains(canary) && !r.stderr.contains(canary) && !reportText.contains(canary), "\(canary) leaked")
        }
    }

    @Test func excerptsOnlyWhenEnabled() throws {
        let dir = Scratch()
        let (data, canaries) = trafficWithCanaries()
        let traffic = dir.write("t.jsonl", data)
        let report = dir.path + "/report.json"
        let r = try run(["scan", traffic, "--json", report, "--evidence-excerpts"])
        #expect(r.status == 0, "\(r.stderr)")
        let reportText = try String(contentsOfFile: report, encoding: .utf8)
        #expect(canaries.prefix(400).contains { reportText.contains($0) })
        // System prompts and responses are never excerpted.
        #expect(!reportText.contains("secret-system-canary") && !reportText.contains("response-canary"))
    }

    @Test func contentSignalsCanBeTurnedOff() throws {
        let dir = Scratch()
        let (data, _) = trafficWithCanaries()
        let traffic = dir.write("t.jsonl", data)
        let report = dir.path + "/report.json"
        let r = try run(["scan", traffic, "--json", report, "--no-content", "--all"])
        #expect(r.status == 0, "\(r.stderr)")
        let reportText = try String(contentsOfFile: report, encoding: .utf8)
        #expect(!reportText.contains("cot_elicitation"))
        let bad = try run(["scan", traffic, "--content-key", "nothex"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--content-key must be 32 hexadecimal digits"))
    }

    @Test func theContentKeyIsMadeOnceAndKeptPrivate() throws {
        let home = NSTemporaryDirectory() + "distillwatch-key-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: home) }
        let dir = Scratch()
        let traffic = dir.write("t.jsonl", trafficWithCanaries().0)
        let first = try run(["scan", traffic, "--top", "0"], environment: ["DISTILLWATCH_HOME": home])
        #expect(first.stderr.contains("created a new content key at \(home)/content.key"))
        let key = try String(contentsOfFile: home + "/content.key", encoding: .utf8)
        #expect(ContentKey(hex: key) != nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: home + "/content.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let second = try run(["scan", traffic, "--top", "0"], environment: ["DISTILLWATCH_HOME": home])
        #expect(!second.stderr.contains("created"))
        #expect(try String(contentsOfFile: home + "/content.key", encoding: .utf8) == key)
        // A key file made under --quiet, or by screen (always quiet), is told too: a misspelt
        // --content-key-file made a new key, and sketches that no longer compare, in silence.
        let misspelt = home + "/contnet.key"
        let quiet = try run(["scan", traffic, "--quiet", "--json", dir.path + "/r.json", "--content-key-file", misspelt])
        #expect(quiet.status == 0 && quiet.stderr.contains("created a new content key at \(misspelt)"), "\(quiet.stderr)")
    }
}
