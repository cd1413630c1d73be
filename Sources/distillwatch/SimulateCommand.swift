import ArgumentParser
import DistillWatchCore
import DistillWatchSimulator
import Foundation

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Generate a labelled scenario: traffic.jsonl.gz, accounts.jsonl and labels.jsonl.",
        discussion: """
            Scenarios: \(Scenario.names.joined(separator: ", ")). Output is identical for the same \
            scenario, scale and seed. With --out - (or --stdout) the traffic goes to standard output, \
            uncompressed, to pipe into `distillwatch scan -`.
            """
    )

    @Option(name: .long, help: "Scenario name (\(Scenario.names.joined(separator: ", "))).")
    var scenario: String

    @Option(name: .long, help: "Multiplies the number of accounts (and so the volume).")
    var scale: Double = 1

    @Option(name: .long, help: "Random seed; the same seed gives byte-identical output.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Output directory, or - for traffic on standard output.")
    var out: String?

    @Flag(name: .long, help: "Write traffic to standard output (accounts and labels still go to --out if given).")
    var stdout = false

    func validate() throws {
        guard Scenario.named(scenario) != nil else {
            throw ValidationError("unknown scenario '\(scenario)'; choose one of \(Scenario.names.joined(separator: ", "))")
        }
        guard scale > 0, scale.isFinite else { throw ValidationError("--scale must be positive") }
        guard out != nil || stdout else { throw ValidationError("give --out DIR, --out - or --stdout") }
    }

    @Flag(name: .long, inversion: .prefixedNo, help: "Report progress on standard error every million exchanges (default: on a terminal).")
    var progress: Bool?

    func run() throws {
        let plan = ScenarioPlan(scenario: Scenario.named(scenario)!, scale: scale, seed: seed)
        let directory = out == "-" ? nil : out
        let toStandardOutput = stdout || out == "-"
        let showProgress = progress ?? ProgressBar.standardErrorIsTerminal
        let summary = try ScenarioWriter.write(plan, directory: directory, trafficToStandardOutput: toStandardOutput) { count in
            guard showProgress else { return }
            var err = StandardError()
            Swift.print("  \(Wording.number(count / 1_000_000))M exchanges", to: &err)
        }
        var err = StandardError()
        let rate = summary.seconds > 0 ? Int(Double(summary.exchanges) / summary.seconds) : 0
        Swift.print(
            "\(scenario) (scale \(Wording.decimal(scale)), seed \(seed)): \(Wording.counted(summary.exchanges, "exchange")) "
                + "(\(Wording.number(summary.attackExchanges)) attack) from \(Wording.counted(summary.accounts, "account")) "
                + "(\(Wording.number(summary.attackAccounts)) attack) in \(Wording.fixed(summary.seconds, 1)) s, "
                + "\(Wording.number(rate)) exchanges/s" + (directory.map { "; written to \($0)/" } ?? ""),
            to: &err)
    }
}
