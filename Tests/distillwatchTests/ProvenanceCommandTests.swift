import DistillWatchTestSupport
import Foundation
import Testing

/// `distillwatch provenance index` and `check`, run as a user would.
@Suite(.onTheHeavyLane) struct ProvenanceCommandTests {
    static let key = "00112233445566778899aabbccddeeff"
    static let vocabulary = ("the a of to and in is it that for on with as was at by an be this which from or have are not but graph "
        + "node edge weight path tree root leaf queue stack heap sort merge split array index loop value return function variable "
        + "integer string proof lemma theorem prime number divisor modulo sum product series limit matrix vector basis kernel").split(separator: " ")

    static func text(_ n: Int, _ rng: inout SystemRandomNumberGeneratorLike) -> String {
        (0..<n).map { _ in String(vocabulary[rng.next(below: vocabulary.count)]) }.joined(separator: " ")
    }

    /// A small deterministic generator (the test must not depend on the system's).
    struct SystemRandomNumberGeneratorLike {
        var state: UInt64
        mutating func next(below n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
    }

    @Test func aDatasetOfHarvestedAnswersIsTracedToItsAccounts() throws {
        let dir = Scratch()
        var rng = SystemRandomNumberGeneratorLike(state: 42)
        var traffic = "", answers: [(String, String)] = []
        for i in 0..<600 {
            let account = i % 10 == 0 ? "acct-harvester-\(i % 3)" : "acct-\(i % 40)"
            let answer = Self.text(100 + rng.next(below: 150), &rng)
            answers.append((account, answer))
            let line: [String: Any] = ["time": 1_780_000_000_000 + i * 1_000, "account_id": account, "request_id": "req-\(i)",
                                       "model": "m1", "response": answer]
            traffic += String(decoding: try JSONSerialization.data(withJSONObject: line), as: UTF8.self) + "\n"
        }
        traffic += #"{"time":"2026-06-01T00:00:00Z","account_id":"acct-no-text"}"# + "\n"
        let trafficPath = dir.write("traffic.jsonl", Data(traffic.utf8))
        // The harvesters' answers, some cut, plus unrelated records.
        var dataset = ""
        for (k, (account, answer)) in answers.enumerated() where account.hasPrefix("acct-harvester") {
            let words = answer.split(separator: " ")
            let kept = k % 20 == 0 ? words.prefix(words.count * 2 / 3).joined(separator: " ") : answer
            dataset += String(decoding: try JSONSerialization.data(withJSONObject: ["instruction": "q", "input": "", "output": kept]), as: UTF8.self) + "\n"
        }
        for _ in 0..<40 {
            dataset += String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": "q", "completion": Self.text(150, &rng)]), as: UTF8.self) + "\n"
        }
        let datasetPath = dir.write("dataset.jsonl", Data(dataset.utf8))
        let report = dir.write("report.json", Data("""
            {"format":"distillwatch.report.v1","generated_at":"2026-06-02T00:00:00Z","input":{"exchanges":600,"accounts":43},
             "accounts":[{"account_id":"acct-harvester-0","verdict":"block","score":0.95,"allowlisted":false,"campaign_id":"campaign-7",
               "exchanges":20,"output_tokens":0,"signals":[]}],
             "campaigns":[]}
            """.utf8))

        let index = dir.path + "/index.sqlite"
        let built = try run(["provenance", "index", trafficPath, "--index", index, "--content-key", Self.key])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stderr.contains("600 responses indexed, 1 exchange without response text"), "\(built.stderr)")
        // Run again on more traffic, it appends (it once failed: SQLite refuses a journal
        // mode change inside a transaction once the file exists).
        let more = dir.write("more.jsonl", Data((#"{"time":1780001000000,"account_id":"acct-late","request_id":"req-late","model":"m1","response":"#
            + #""a late answer of a few words that no dataset record holds"}"# + "\n").utf8))
        let appended = try run(["provenance", "index", more, "--index", index, "--content-key", Self.key])
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(appended.stderr.contains("1 response indexed") && appended.stderr.contains("holds 601 responses"), "\(appended.stderr)")

        let out = dir.path + "/provenance.json"
        let checked = try run(["provenance", "check", datasetPath, "--index", index, "--content-key", Self.key,
                               "--report", report, "--json", out, "--html", dir.path + "/provenance.html"])
        let page = try String(contentsOfFile: dir.path + "/provenance.html", encoding: .utf8)
        #expect(page.contains("acct-harvester-0") && page.contains("campaign-7") && page.contains("Matched records"))
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stderr.contains("60 of 100 records"), "\(checked.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        #expect(json["format"] as? String == "distillwatch.provenance/1")
        #expect(json["matched_records"] as? Int == 60 && json["matched_share"] as? Double == 0.6)
        let accounts = try #require(json["accounts"] as? [[String: Any]])
        #expect(Set(accounts.compactMap { $0["account_id"] as? String }) == ["acct-harvester-0", "acct-harvester-1", "acct-harvester-2"])
        let first = try #require(accounts.first { $0["account_id"] as? String == "acct-harvester-0" })
        #expect(first["campaign_id"] as? String == "campaign-7" && first["verdict"] as? String == "block")
        #expect((json["campaigns"] as? [[String: Any]])?.first?["campaign_id"] as? String == "campaign-7")
        let precision = try #require(json["precision"] as? [String: Any])
        #expect(precision["background_matches"] as? Int == 0 && (precision["statement"] as? String)?.contains("95% upper bound") == true)
        let records = try #require(json["records"] as? [[String: Any]])
        let source = try #require((records.first?["sources"] as? [[String: Any]])?.first)
        #expect((source["request_id"] as? String)?.hasPrefix("req-") == true && source["model"] as? String == "m1")
        // No text of any answer reaches the index file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: index))
        #expect(bytes.range(of: Data(answers[0].1.prefix(40).utf8)) == nil)

        // Under another key the index is refused, as is a file that is no index.
        let otherKey = try run(["provenance", "check", datasetPath, "--index", index, "--content-key", "ffeeddccbbaa99887766554433221100"])
        #expect(otherKey.status != 0 && otherKey.stderr.contains("another content key"), "\(otherKey.stderr)")
        let notIndex = try run(["provenance", "check", datasetPath, "--index", datasetPath, "--content-key", Self.key])
        #expect(notIndex.status != 0 && notIndex.stderr.contains(datasetPath), "\(notIndex.stderr)")
        let missing = try run(["provenance", "check", datasetPath, "--index", dir.path + "/none.sqlite", "--content-key", Self.key])
        #expect(missing.status != 0 && missing.stderr.contains("no such provenance index"), "\(missing.stderr)")
        // A database whose table of served responses is empty (a server's, run without
        // provenance_index) is no index: every record would read "not found" with exit 0.
        let emptied = dir.path + "/empty-index.sqlite"
        let noText = dir.write("no-text.jsonl", Data((#"{"time":1780000000000,"account_id":"a"}"# + "\n").utf8))
        let empty = try run(["provenance", "index", noText, "--index", emptied, "--content-key", Self.key])
        #expect(empty.stderr.contains("0 responses indexed"), "\(empty.stderr)")
        let none = try run(["provenance", "check", datasetPath, "--index", emptied, "--content-key", Self.key])
        #expect(none.status == 1 && none.stderr.contains("holds no served responses"), "\(none.stderr)")

        // A dataset given through a pipe (`<(zcat …)`, here standard input) is read once: the
        // report's SHA-256 is of the bytes checked. It used to read the file a second time to
        // hash it, which a pipe cannot give, and stated the digest of nothing.
        let pipedOut = dir.path + "/piped.json"
        let piped = try run(["provenance", "check", "/dev/stdin", "--index", index, "--content-key", Self.key, "--json", pipedOut],
                            stdin: Data(dataset.utf8))
        #expect(piped.status == 0, "\(piped.stderr)")
        let pipedJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pipedOut))) as! [String: Any]
        let digest = { (j: [String: Any]) in (j["dataset"] as? [String: Any])?["sha256"] as? String }
        #expect(digest(pipedJSON) != nil && digest(pipedJSON) == digest(json), "\(String(describing: digest(pipedJSON)))")
        #expect(pipedJSON["matched_records"] as? Int == 60)
    }
}
