import DistillWatchTestSupport
import Foundation
import Testing
@testable import distillwatch

/// `distillwatch screen` and `scan --html`, run as a user would.
@Suite(.onTheHeavyLane) struct ScreenCommandTests {
    static func simulate(_ dir: Scratch) throws -> (traffic: String, accounts: String) {
        let sim = try run(["simulate", "--scenario", "mixed", "--seed", "1", "--out", dir.path + "/mixed"])
        #expect(sim.status == 0, "\(sim.stderr)")
        return (dir.path + "/mixed/traffic.jsonl.gz", dir.path + "/mixed/accounts.jsonl")
    }

    @Test func theSameInputAndPolicyGiveAByteIdenticalReport() throws {
        let dir = Scratch()
        let (traffic, accounts) = try Self.simulate(dir)
        // The flagged account with the most exchanges gets an analyst's disposition.
        let first = try run(["screen", traffic, "--accounts", accounts, "--min-exchanges", "50", "--min-output-tokens", "0"])
        #expect(first.status == 0, "\(first.stderr)")
        let screened = try #require((try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])?["accounts"] as? [[String: Any]])
        let target = try #require(screened.first { $0["verdict"] as? String != "allow" }?["account_id"] as? String)
        let signoffs = dir.write("signoffs.jsonl", Data("""
            {"account_id":"\(target)","disposition":"confirmed_attack","analyst":"alice","note":"=cmd|' /C calc'!A0","at":"2026-04-02T09:00:00Z"}

            """.utf8))
        for format in ["json", "csv", "html"] {
            var outputs: [Data] = []
            for k in 0..<2 {
                let out = dir.path + "/screen-\(k).\(format)"
                let r = try run(["screen", traffic, "--accounts", accounts, "--min-exchanges", "50", "--min-output-tokens", "0",
                                 "--signoffs", signoffs, "--format", format, "--output", out])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(r.stderr.contains("screened "))
                outputs.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            }
            #expect(outputs[0] == outputs[1], "\(format): two runs differ")
            #expect(!outputs[0].isEmpty)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/screen-0.json"))) as! [String: Any]
        #expect(json["format"] as? String == "distillwatch.screening/1")
        let provenance = try #require(json["provenance"] as? [String: Any])
        #expect((provenance["input_digest"] as? String)?.count == 64 && (provenance["policy_digest"] as? String)?.count == 64)
        #expect((provenance["inputs"] as? [[String: Any]])?.count == 3 && provenance["engine_version"] is String)
        let rows = try #require(json["accounts"] as? [[String: Any]])
        let signed = try #require(rows.first { $0["account_id"] as? String == target })
        #expect((signed["disposition"] as? [String: Any])?["disposition"] as? String == "confirmed_attack")
        #expect((json["summary"] as? [String: Any])?["signed_off"] as? Int == 1)
        #expect(rows.allSatisfy { ($0["exchanges"] as? Int ?? 0) >= 50 })
        let csv = try String(contentsOfFile: dir.path + "/screen-0.csv", encoding: .utf8)
        #expect(csv.contains("'=cmd|"), "a note that starts a formula is defused")
        // Another policy changes the stated policy digest.
        let policy = dir.write("policy.yaml", Data("thresholds:\n  review: 0.31\n".utf8))
        let other = try run(["screen", traffic, "--accounts", accounts, "--min-exchanges", "50", "--policy", policy])
        #expect(other.status == 0, "\(other.stderr)")
        let otherJSON = try JSONSerialization.jsonObject(with: Data(other.stdout.utf8)) as! [String: Any]
        #expect((otherJSON["provenance"] as? [String: Any])?["policy_digest"] as? String != provenance["policy_digest"] as? String)
    }

    @Test func badScreeningRequestsNameTheProblem() throws {
        let dir = Scratch()
        let (traffic, _) = try Self.simulate(dir)
        let cases: [([String], String)] = [
            (["screen", "-"], "standard input"),
            (["screen", traffic, "--from", "yesterday"], "--from yesterday"),
            (["screen", traffic, "--from", "2026-05-01", "--to", "2026-04-01"], "--from must be before --to"),
            (["screen", traffic, "--format", "pdf"], "--format"),
            (["screen", traffic, "--min-exchanges", "0", "--min-output-tokens", "0"], "every threshold is off"),
            (["screen", traffic, "--signoffs", dir.write("bad.jsonl", Data("{\"account_id\":\"a\",\"disposition\":\"maybe\",\"at\":\"2026-04-01T00:00:00Z\"}\n".utf8))],
             "bad.jsonl:1: field \"disposition\""),
            (["screen", dir.path + "/missing.jsonl"], "missing.jsonl: cannot read the file to digest it: No such file or directory"),
            // Digested before the scan: a pipe read for its digest would leave the scan nothing.
            (["screen", "/dev/null"], "/dev/null: not a regular file; screen states each input's SHA-256"),
            (["screen", traffic, "--signoffs", dir.write("partial.jsonl", Data("{\"account_id\":\"a\",\"at\":\"2026-04-01T00:00:00Z\"}\n".utf8))],
             "partial.jsonl:1: field \"disposition\": missing required field"),
            (["screen", traffic, "--from", "0000-01-01", "--to", "9999-12-31"], "between 2000-01-01 and 2100-01-01"),
            (["screen", traffic, "--output", dir.path], "is a directory"),
            // Volumes are hourly: a bound inside an hour would count the whole hour.
            (["screen", traffic, "--from", "2026-03-01", "--to", "2026-03-01T00:10:00Z"],
             "the period's end, 2026-03-01T00:10:00.000Z, is not on the hour"),
            (["screen", traffic, "--from", "2026-03-01T00:00:01Z", "--to", "2026-03-02"], "the period's start"),
        ]
        for (arguments, message) in cases {
            let r = try run(arguments)
            #expect(r.status != 0, "\(arguments)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }

    /// An output that is one of the command's inputs (or another output) is refused before
    /// anything is written: `scan t --json t` replaced the traffic with the report, `share
    /// export --out KEYS` the sharing key, exit 0.
    @Test func anOutputThatIsAnInputIsRefusedAndTheInputKept() throws {
        let dir = Scratch()
        let (traffic, accounts) = try Self.simulate(dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: traffic))
        let link = dir.path + "/link-to-traffic.gz"
        #expect(symlink(traffic, link) == 0)
        let same = dir.path + "/same.out"
        let cases: [([String], String)] = [
            (["scan", traffic, "--quiet", "--json", traffic], "--json \(traffic) is the traffic file \(traffic)"),
            (["scan", traffic, "--quiet", "--html", link], "--html \(link) is the traffic file \(traffic)"),
            (["scan", traffic, "--quiet", "--accounts", accounts, "--json", accounts], "is the account records file"),
            (["scan", traffic, "--quiet", "--json", same, "--html", same], "--json \(same) and --html \(same) are one file"),
            (["screen", traffic, "--output", traffic], "--output \(traffic) is the traffic file"),
            // The same traffic twice would count every exchange twice.
            (["scan", traffic, link, "--quiet"], "\(link) is the traffic file \(traffic) again: its exchanges would count twice"),
        ]
        for (arguments, message) in cases {
            let r = try run(arguments)
            #expect(r.status != 0, "\(arguments)")
            #expect(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: traffic)) == before)
        #expect(!FileManager.default.fileExists(atPath: same))
        // Devices and standard output take any number of outputs (`--json /dev/null --html
        // /dev/null`): they have no identity to clash.
        #expect(UserFile.identity("/dev/null") == nil && UserFile.identity("-") == nil)
        #expect(UserFile.identity(link) == UserFile.identity(traffic) && UserFile.identity(traffic) != nil)
        #expect(UserFile.identity(dir.path + "/./new.json") == UserFile.identity(dir.path + "/new.json"))
    }

    @Test func scanWritesASelfContainedHTMLReport() throws {
        let dir = Scratch()
        let (traffic, accounts) = try Self.simulate(dir)
        let html = dir.path + "/report.html"
        let r = try run(["scan", traffic, "--accounts", accounts, "--html", html, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: html, encoding: .utf8)
        #expect(text.hasPrefix("<!DOCTYPE html>") && text.contains("<style>"))
        #expect(!text.lowercased().contains("<script"))
        for remote in ["src=\"http", "href=\"http", "url(", "@import", "<link rel=\"stylesheet\""] {
            #expect(!text.contains(remote), "the report loads nothing: found \(remote)")
        }
        #expect(text.contains("id=\"campaign-section-campaign-1\"") && text.contains("href=\"#campaign-section-campaign-1\""))
        #expect(text.contains("id=\"account-acct-") && text.contains("href=\"#account-acct-"))
        #expect(text.contains("15,781"), "the exchange count, with a thousands separator")
        let bad = try run(["scan", traffic, "--html", "-"])
        #expect(bad.status != 0 && bad.stderr.contains("--html takes a file path"))
    }
}
