import Foundation
import Testing

/// `distillwatch simulate` into a folder written before: nothing of the earlier run that this
/// one does not write is left to be read with the new labels.
@Suite struct SimulateCommandTests {
    @Test func aFolderKeepsNothingThisRunDidNotWrite() throws {
        let dir = Scratch()
        let out = dir.path + "/sim"
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: out + "/" + name) }
        let first = try run(["simulate", "--scenario", "mixed", "--scale", "0.05", "--seed", "1", "--out", out, "--published-dataset", "20"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(exists("published-dataset.jsonl") && exists("published-dataset-truth.jsonl") && exists("traffic.jsonl.gz"))
        // Without --published-dataset, the earlier dataset (harvested from seed 1's campaign)
        // would be checked against seed 2's traffic.
        let second = try run(["simulate", "--scenario", "mixed", "--scale", "0.05", "--seed", "2", "--out", out])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!exists("published-dataset.jsonl") && !exists("published-dataset-truth.jsonl") && exists("traffic.jsonl.gz"))
        #expect(second.stderr.contains("removed \(out)/published-dataset.jsonl and \(out)/published-dataset-truth.jsonl: from an earlier simulation"),
                "\(second.stderr)")
        // Traffic to standard output: the folder's traffic file was seed 2's, and its accounts
        // and labels are now seed 3's.
        let third = try run(["simulate", "--scenario", "mixed", "--scale", "0.05", "--seed", "3", "--out", out, "--stdout"])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.hasPrefix("{"))
        #expect(!exists("traffic.jsonl.gz") && exists("accounts.jsonl") && exists("labels.jsonl"))
        #expect(third.stderr.contains("removed \(out)/traffic.jsonl.gz"), "\(third.stderr)")
        // A run that writes everything removes nothing and says nothing of it.
        let fourth = try run(["simulate", "--scenario", "mixed", "--scale", "0.05", "--seed", "3", "--out", out])
        #expect(fourth.status == 0 && !fourth.stderr.contains("removed"), "\(fourth.stderr)")
    }
}
