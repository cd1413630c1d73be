import DistillWatchCore
import DistillWatchIngest
import DistillWatchTestSupport
import Foundation
import Testing

/// The built `distillwatch` binary, next to the test bundle in the build folder.
func distillwatchBinary() throws -> URL {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = here.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("distillwatch")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "distillwatch binary near \(here.path)"])
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A content-key home for the binary under test, so tests never touch the user's own.
let testHome = NSTemporaryDirectory() + "distillwatch-cli-home-" + UUID().uuidString

/// Runs the binary with `arguments`, feeding `stdin` if given.
func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> RunResult {
    let process = Process()
    process.executableURL = try distillwatchBinary()
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["DISTILLWATCH_HOME"] = testHome
    env.merge(environment) { $1 }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    // Standard input is written and standard error read on threads of their own: one after
    // the other, a child that fills one pipe (64 KiB) while the test waits on another would
    // never finish.
    let pumps = DispatchGroup()
    if let stdin {
        // A child that refuses its arguments exits without reading: the write then fails
        // with EPIPE (SIGPIPE ignored), not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        DispatchQueue.global().async(group: pumps) {
            try? input.fileHandleForWriting.write(contentsOf: stdin)
            try? input.fileHandleForWriting.close()
        }
    }
    let errData = CapturedOutput()
    DispatchQueue.global().async(group: pumps) { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    pumps.wait()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData.data, as: UTF8.self))
}

/// Bytes one thread reads for another (read after `DispatchGroup.wait`).
final class CapturedOutput: @unchecked Sendable {
    var data = Data()
}

/// The JSON report at `path` without `generated_at`, the one field two scans of the same
/// input may differ in.
func scanReportWithoutGeneratedAt(atPath path: String) throws -> NSDictionary {
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    json["generated_at"] = nil
    return NSDictionary(dictionary: json)
}

final class Scratch {
    let path = NSTemporaryDirectory() + "distillwatch-cli-" + UUID().uuidString
    init() { try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func write(_ name: String, _ data: Data) -> String {
        let p = path + "/" + name
        precondition(FileManager.default.createFile(atPath: p, contents: data), "cannot create a test file")
        return p
    }
}

/// A free-tier harvester among ordinary accounts, as JSON Lines.
func sampleTraffic(malformedAt: Set<Int> = []) -> Data {
    var bytes: [UInt8] = []
    var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
    for i in 0..<3_000 {
        t = t.adding(seconds: 9)
        if malformedAt.contains(i + 1) {
            bytes.append(contentsOf: "{\"time\": \"noon\", \"account_id\": \"x\"}\n".utf8)
            continue
        }
        let harvester = i % 3 == 0
        JSONLineEncoder.append(Exchange(
            time: t, accountID: harvester ? "acct-harvester" : "acct-\(i % 11)", model: "m-large",
            outputTokens: harvester ? 12_000 : 300, maxTokens: harvester ? 32_000 : 1024, temperature: harvester ? 1 : 0.5,
            thinking: harvester, messageCount: harvester ? 1 : 4), to: &bytes, timeEncoding: i % 2 == 0 ? .rfc3339 : .epochMilliseconds)
    }
    return Data(bytes)
}

let accountsFile = Data("""
    {"account_id":"acct-harvester","tier":"free","created":"2026-03-30T00:00:00Z"}
    {"account_id":"acct-3","tier":"enterprise"}

    """.utf8)

@Suite(.serialized, .onTheHeavyLane) struct ScanCommandTests {
    @Test func scansAFileAndWritesAReportInTheV1Shape() throws {
        let dir = Scratch()
        let traffic = dir.write("traffic.jsonl", sampleTraffic())
        let accounts = dir.write("accounts.jsonl", accountsFile)
        let report = dir.path + "/report.json"
        let r = try run(["scan", traffic, "--accounts", accounts, "--json", report])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Scanned 3,000 exchanges from 12 accounts"))
        #expect(r.stdout.contains("acct-harvester  BLOCK") || r.stdout.contains("acct-harvester  THROTTLE"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        #expect(json["format"] as? String == "distillwatch.report.v1")
        #expect(json["generated_at"] is String)
        let input = json["input"] as! [String: Any]
        #expect(input["exchanges"] as? Int == 3000)
        #expect((input["signals_without_data"] as? [String])?.contains("network") == true)
        let accountsJSON = json["accounts"] as! [[String: Any]]
        let harvester = try #require(accountsJSON.first { $0["account_id"] as? String == "acct-harvester" })
        #expect(["throttle", "block"].contains(harvester["verdict"] as? String))
        #expect(harvester["first_flagged_at"] is String)
        #expect((harvester["exchanges_before_flag"] as? Int ?? 0) >= 20)
        let signals = harvester["signals"] as! [[String: Any]]
        #expect(signals.allSatisfy { $0["name"] is String && $0["value"] is Double && $0["detail"] is String })
        #expect(json["campaigns"] is [Any])
    }

    @Test func simulatedHydraIsReportedAsOneCampaign() throws {
        let dir = Scratch()
        let sim = try run(["simulate", "--scenario", "mixed", "--seed", "1", "--out", dir.path + "/mixed"])
        #expect(sim.status == 0, "\(sim.stderr)")
        let report = dir.path + "/report.json"
        let r = try run(["scan", dir.path + "/mixed/traffic.jsonl.gz", "--accounts", dir.path + "/mixed/accounts.jsonl",
                         "--json", report])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("evidence shared_payment:"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let campaigns = try #require(json["campaigns"] as? [[String: Any]])
        var truth: [String: String] = [:]
        for line in try String(contentsOfFile: dir.path + "/mixed/labels.jsonl", encoding: .utf8).split(separator: "\n") {
            let label = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            truth[label["account_id"] as! String] = label["campaign"] as? String ?? "legit"
        }
        // The hydra's accounts that sent traffic in the two days, as eval counts them.
        let evaluation = try run(["eval", "--scenario", "mixed", "--seed", "1", "--json", "-"])
        let results = try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as! [String: Any]
        let hydraAccounts = try #require(((results["campaigns"] as? [[String: Any]])?.first { $0["campaign"] as? String == "agentic-hydra-1" })?["accounts"] as? Int)
        // One campaign holds exactly those accounts, and no campaign holds a legitimate one.
        let hydra = try #require(campaigns.first { ($0["accounts"] as? [String] ?? []).contains { truth[$0] == "agentic-hydra-1" } })
        let members = Set(hydra["accounts"] as? [String] ?? [])
        #expect(members.count == hydraAccounts)
        #expect(members.allSatisfy { truth[$0] == "agentic-hydra-1" })
        #expect(["THROTTLE", "BLOCK"].contains { r.stdout.contains("\(hydra["campaign_id"] as! String)  \($0)") })
        for c in campaigns { #expect((c["accounts"] as? [String] ?? []).allSatisfy { truth[$0] != "legit" }) }
        let evidence = hydra["evidence"] as? [[String: Any]] ?? []
        #expect(evidence.contains { $0["kind"] as? String == "proxy_pool" })
        let listed = (json["accounts"] as! [[String: Any]]).filter { $0["campaign_id"] as? String == hydra["campaign_id"] as? String }
        #expect(listed.count == hydraAccounts)
    }

    /// `--merge-request-ids` counts a request a gateway reported twice (its guardrail call,
    /// then its log) once, as the server does, and drops a repeat of one already counted;
    /// without it each line is an exchange. The report's input says how many were joined.
    @Test func repeatedRequestIDsAreJoinedOnlyWhenAsked() throws {
        let dir = Scratch()
        let t0: Int64 = 1_780_000_000_000
        var lines: [String] = []
        for i in 0..<50 {
            lines.append(#"{"time":\#(t0 + Int64(i) * 1_000),"account_id":"a","request_id":"r-\#(i)","model":"m1","max_tokens":4096}"#)
            // The log view of the first ten, just after the call: tokens the call did not know.
            if i < 10 {
                lines.append(#"{"time":\#(t0 + Int64(i) * 1_000 + 100),"account_id":"a","request_id":"r-\#(i)","output_tokens":900}"#)
            }
        }
        // Another account's exchange moves time on by more than the reorder window.
        lines.append(#"{"time":\#(t0 + 400_000),"account_id":"b","request_id":"r-0","output_tokens":10}"#)
        // A redelivered batch: three of a's exchanges again, after they were counted.
        for i in 20..<23 {
            lines.append(#"{"time":\#(t0 + Int64(i) * 1_000),"account_id":"a","request_id":"r-\#(i)","model":"m1","max_tokens":4096}"#)
        }
        let traffic = dir.write("traffic.jsonl", Data((lines.joined(separator: "\n") + "\n").utf8))
        func input(_ extra: [String]) throws -> (input: [String: Any], stdout: String) {
            let r = try run(["scan", traffic, "--json", dir.path + "/r.json", "--all"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/r.json"))) as! [String: Any]
            return (json["input"] as! [String: Any], r.stdout)
        }
        let each = try input([])
        #expect(each.input["exchanges"] as? Int == 64)
        #expect(each.input["merged_exchanges"] == nil && each.input["duplicate_exchanges"] == nil)
        let joined = try input(["--merge-request-ids"])
        #expect(joined.input["exchanges"] as? Int == 51, "\(joined.input)")
        #expect(joined.input["merged_exchanges"] as? Int == 10 && joined.input["duplicate_exchanges"] as? Int == 3, "\(joined.input)")
        #expect(joined.input["accounts"] as? Int == 2)
        #expect(joined.stdout.contains("Lines that repeated an account's request_id: 10 merged into the exchange before, 3 dropped as duplicates."),
                "\(joined.stdout)")
        // The same with the engine on two threads.
        let threaded = try input(["--merge-request-ids", "--engine-threads", "2"])
        #expect(threaded.input["exchanges"] as? Int == 51 && threaded.input["merged_exchanges"] as? Int == 10)
    }

    /// `--engine-threads` changes where the engine's work runs, never the report; a count
    /// out of range is refused by name.
    @Test func engineThreadsGiveTheSameReport() throws {
        let dir = Scratch()
        let sim = try run(["simulate", "--scenario", "mixed", "--seed", "3", "--out", dir.path + "/mixed"])
        #expect(sim.status == 0, "\(sim.stderr)")
        func report(_ extra: [String]) throws -> NSDictionary {
            let path = dir.path + "/report-\(extra.joined()).json"
            let r = try run(["scan", dir.path + "/mixed/traffic.jsonl.gz", "--accounts", dir.path + "/mixed/accounts.jsonl",
                             "--quiet", "--all", "--json", path] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try scanReportWithoutGeneratedAt(atPath: path)
        }
        let one = try report([])
        let three = try report(["--engine-threads", "3"])
        #expect(one == three)
        // Behaviour only, with two threads (linkage on one, the accounts on the other) and
        // with `auto`, the default, whatever it takes on this machine.
        let single = try report(["--no-content", "--engine-threads", "1"])
        #expect(try report(["--no-content", "--engine-threads", "2"]) == single)
        #expect(try report(["--no-content"]) == single)
        #expect(!(one["campaigns"] as? [Any] ?? []).isEmpty)
        let bad = try run(["scan", dir.path + "/mixed/traffic.jsonl.gz", "--engine-threads", "0"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--engine-threads takes auto or a number of threads from 1 to 64, not '0'"))
    }

    @Test func evalWritesTheScanReportOfWhatItEvaluated() throws {
        let dir = Scratch()
        let report = dir.path + "/eval-report.json"
        let r = try run(["eval", "--scenario", "mixed", "--seed", "1", "--json", "-", "--report", report])
        #expect(r.status == 0, "\(r.stderr)")
        let evaluation = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect((evaluation["personas"] as? [[String: Any]])?.allSatisfy { $0["throttled_or_blocked_accounts"] != nil } == true)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        #expect(json["format"] as? String == "distillwatch.report.v1")
        let campaigns = try #require(json["campaigns"] as? [[String: Any]])
        #expect(!campaigns.isEmpty)
        // The hydra's campaign holds exactly the hydra's accounts that sent traffic.
        let hydra = (evaluation["campaigns"] as? [[String: Any]])?.first { $0["campaign"] as? String == "agentic-hydra-1" }
        let hydraAccounts = try #require(hydra?["accounts"] as? Int)
        #expect(hydraAccounts >= 30)
        let hydraCampaign = try #require(campaigns.first { ($0["accounts"] as? [String])?.count == hydraAccounts })
        let campaignID = try #require(hydraCampaign["campaign_id"] as? String)
        // Each campaign member says how it was linked.
        let members = (json["accounts"] as! [[String: Any]]).filter { $0["campaign_id"] as? String == campaignID }
        #expect(members.count == hydraAccounts)
        for m in members {
            let first = (m["signals"] as? [[String: Any]])?.first
            let detail = first?["detail"] as? String ?? ""
            #expect(detail.contains("linked to acct-") || detail.contains("attached to the flagged campaign through acct-"))
        }
        let bad = try run(["eval", "--all-scenarios", "--report", report])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--report needs one evaluation"))
    }

    @Test func readsStandardInputAndGzip() throws {
        let dir = Scratch()
        let plain = sampleTraffic()
        let fromStdin = try run(["scan", "-", "--top", "0"], stdin: plain)
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(fromStdin.stdout.contains("Scanned 3,000 exchanges"))
        let gz = dir.path + "/traffic.jsonl.gz"
        let sink = try OutputSink(path: gz)
        try sink.write(Array(plain))
        try sink.close()
        let fromGzip = try run(["scan", gz, "--top", "0"])
        #expect(fromGzip.stdout.split(separator: "\n").prefix(3) == fromStdin.stdout.split(separator: "\n").prefix(3))
        // A gzip stream on standard input is recognised by its magic number.
        let gzStdin = try run(["scan", "-", "--top", "0"], stdin: try Data(contentsOf: URL(fileURLWithPath: gz)))
        #expect(gzStdin.stdout.contains("Scanned 3,000 exchanges"))
    }

    @Test func malformedLinesAreReportedAndTheScanGoesOn() throws {
        let dir = Scratch()
        let traffic = dir.write("traffic.jsonl", sampleTraffic(malformedAt: [7, 1200]))
        let r = try run(["scan", traffic])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Scanned 2,998 exchanges"))
        #expect(r.stdout.contains("Malformed lines: 2"))
        #expect(r.stdout.contains("\(traffic):7: field \"time\": not an RFC 3339 time"))
        #expect(r.stdout.contains("\(traffic):1200:"))
        let strict = try run(["scan", "--strict", traffic])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("error: \(traffic):7: field \"time\""))
        #expect(strict.stderr.contains("--strict"))
    }

    @Test func unreadableInputsAreClearErrorsNotCrashes() throws {
        let dir = Scratch()
        let missing = try run(["scan", dir.path + "/nope.jsonl"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.jsonl: cannot open: No such file or directory"))

        let empty = try run(["scan", dir.write("empty.jsonl", Data())])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("empty.jsonl: is empty: no exchange records"))

        var gz = Data([0x1F, 0x8B, 0x08, 0x00])
        gz.append(Data(repeating: 0x41, count: 100))
        let corrupt = try run(["scan", dir.write("bad.jsonl.gz", gz)])
        #expect(corrupt.status == 1)
        #expect(corrupt.stderr.contains("bad.jsonl.gz: not a readable gzip stream"))

        let noArgs = try run(["scan"])
        #expect(noArgs.status != 0)
        #expect(noArgs.stderr.contains("give at least one traffic file"))
    }

    @Test func policyFileOverridesAndBadPolicyIsAClearError() throws {
        let dir = Scratch()
        let traffic = dir.write("traffic.jsonl", sampleTraffic())
        let accounts = dir.write("accounts.jsonl", accountsFile)
        let allow = dir.write("policy.yaml", Data("allowlist:\n  accounts: [acct-harvester]\n".utf8))
        let report = dir.path + "/r.json"
        let r = try run(["scan", traffic, "--accounts", accounts, "--policy", allow, "--json", report])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Allowlisted accounts that would otherwise be flagged: 1 (acct-harvester)"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let listed = (json["accounts"] as! [[String: Any]]).first { $0["account_id"] as? String == "acct-harvester" }
        #expect(listed?["verdict"] as? String == "allow")
        #expect(listed?["allowlisted"] as? Bool == true)

        let bad = dir.write("bad.yaml", Data("weights:\n  volum: 1\n".utf8))
        let e = try run(["scan", traffic, "--policy", bad])
        #expect(e.status == 1)
        #expect(e.stderr.contains("bad.yaml:2: unknown signal \"volum\""))
    }
}
