import Foundation
import Testing

/// Standard input read twice, two outputs on standard output, a pipe a command reads twice,
/// a file given twice to a loader, outputs that are one file: each is refused before any
/// work, naming both, where it used to end in "<stdin> is empty", two JSON documents one
/// after the other, or every record stored twice.
@Suite struct StandardStreamTests {
    @Test func standardInputGivenToTwoInputsIsRefused() throws {
        let dir = Scratch()
        let traffic = dir.write("t.jsonl", sampleTraffic())
        for (arguments, first, second) in [
            (["scan", "-", "--accounts", "-"], "traffic file", "account records file"),
            (["scan", "-", "--openai-batch-input", "-"], "traffic file", "OpenAI batch input file"),
            (["scan", "/dev/stdin", "--accounts", "-"], "traffic file", "account records file"),
            (["scan", traffic, "--accounts", "-", "--policy", "/dev/stdin"], "account records file", "policy file"),
            (["eval", "--traffic", "-", "--labels", "-"], "traffic file", "labels file"),
            (["provenance", "check", "-", "--index", dir.path + "/i.sqlite", "--report", "-"], "dataset", "scan report"),
        ] {
            let r = try run(arguments, stdin: sampleTraffic())
            #expect(r.status != 0, "\(arguments)")
            #expect(r.stderr.contains("standard input is given as the \(first) and as the \(second): it can be read only once"),
                    "\(arguments): \(r.stderr)")
        }
    }

    @Test func twoOutputsOnStandardOutputAreRefused() throws {
        let dir = Scratch()
        let traffic = dir.write("t.jsonl", sampleTraffic())
        let bundle = dir.write("b.json", Data(#"{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[]}"#.utf8))
        let r = try run(["scan", traffic, "--json", "-", "--indicators", bundle, "--sightings", "-", "--sightings-producer", "Acme"])
        #expect(r.status != 0 && r.stdout.isEmpty)
        #expect(r.stderr.contains("--json - and --sightings - both write to standard output"), "\(r.stderr)")
        // Sightings alone on standard output: the summary goes to standard error.
        let s = try run(["scan", traffic, "--json", dir.path + "/r.json", "--indicators", bundle, "--sightings", "-", "--sightings-producer", "Acme"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect((try? JSONSerialization.jsonObject(with: Data(s.stdout.utf8))) is [String: Any], "standard output is the bundle alone: \(s.stdout.prefix(200))")
        #expect(s.stderr.contains("Scanned"))
        for arguments in [["campaigns", "--store", "clickhouse://localhost:1/db", "--run", "r", "--html", "-"],
                          ["provenance", "check", traffic, "--index", dir.path + "/i.sqlite", "--html", "-"]] {
            let h = try run(arguments)
            #expect(h.status != 0 && h.stderr.contains("--html takes a file path"), "\(arguments): \(h.stderr)")
            #expect(!FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/-"))
        }
    }

    /// `eval --report -`: the scan report is standard output's one document; the evaluation
    /// text, which followed it there, goes to standard error.
    @Test func evalsReportOnStandardOutputIsItsOnlyDocument() throws {
        let r = try run(["eval", "--scenario", "key-abuse", "--scale", "0.01", "--no-content", "--report", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(report?["accounts"] is [Any], "standard output is one JSON document")
        #expect(r.stderr.contains("Evaluation of key-abuse"))
    }

    /// `share export` reads the traffic and account records twice (members, then everyone
    /// else): from standard input or a pipe the second pass was empty.
    @Test func anInputReadTwiceMustBeARegularFile() throws {
        let dir = Scratch()
        let report = dir.write("r.json", Data("{}".utf8))
        let r = try run(["share", "export", "--report", report, "--traffic", "-", "--all-flagged", "--producer", "Acme"], stdin: sampleTraffic())
        #expect(r.status != 0)
        #expect(r.stderr.contains("--traffic -: share export reads the traffic twice"), "\(r.stderr)")
        #expect(r.stderr.contains("must be a regular file, not standard input or a pipe"))
        let fifo = dir.path + "/accounts.pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let traffic = dir.write("t.jsonl", sampleTraffic())
        let p = try run(["share", "export", "--report", report, "--traffic", traffic, "--accounts", fifo, "--all-flagged", "--producer", "Acme"])
        #expect(p.status != 0 && p.stderr.contains("--accounts \(fifo): share export reads the account records twice"), "\(p.stderr)")
    }

    /// Loaders store what they read: the same file twice stored every record twice.
    @Test func aLoaderRefusesAFileGivenTwice() throws {
        let dir = Scratch()
        let traffic = dir.write("t.jsonl", sampleTraffic())
        let link = dir.path + "/again.jsonl"
        #expect(symlink(traffic, link) == 0)
        let load = try run(["clickhouse", "load", "clickhouse://localhost:1/db.traffic", traffic, link])
        #expect(load.status != 0 && load.stderr.contains("\(link) is the traffic file \(traffic) again: every exchange in it would be inserted twice"),
                "\(load.stderr)")
        let index = try run(["provenance", "index", traffic, traffic, "--index", dir.path + "/p.sqlite"])
        #expect(index.status != 0 && index.stderr.contains("its answers would be indexed twice"), "\(index.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/p.sqlite"), "nothing is made before the refusal")
        let pull = try run(["share", "pull", "http://127.0.0.1:1/api/", "--collection", "c", "--out", dir.path + "/s.json",
                            "--state", dir.path + "/s.json"])
        #expect(pull.status != 0 && pull.stderr.contains("are one file"), "\(pull.stderr)")
    }
}
