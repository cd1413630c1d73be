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

    @Flag(name: .long, help: "Give served exchanges answer text (`response`, from the simulator's grammars; files grow several times).")
    var responses = false

    @Option(name: .long, help: ArgumentHelp("Also write published-dataset.jsonl: this many answers the first attack campaign harvested (verbatim, cut or partly paraphrased) among as many unrelated records, and its truth file. Implies --responses.", valueName: "records"))
    var publishedDataset: Int?

    func validate() throws {
        guard let named = Scenario.named(scenario) else {
            throw ValidationError("unknown scenario '\(scenario)'; choose one of \(Scenario.names.joined(separator: ", "))")
        }
        if let problem = ScenarioPlan.problem(withScale: scale, for: named) { throw ValidationError("--scale \(problem)") }
        guard out != nil || stdout else { throw ValidationError("give --out DIR, --out - or --stdout") }
        if let publishedDataset {
            guard publishedDataset > 0, publishedDataset <= 10_000_000 else { throw ValidationError("--published-dataset must be from 1 to 10000000") }
            guard let out, out != "-" else { throw ValidationError("--published-dataset needs --out DIR") }
        }
    }

    @Flag(name: .long, inversion: .prefixedNo, help: "Report progress on standard error every million exchanges (default: on a terminal).")
    var progress: Bool?

    func run() throws {
        var plan = ScenarioPlan(scenario: Scenario.named(scenario)!, scale: scale, seed: seed)
        plan.includesResponses = responses || publishedDataset != nil
        var published: PublishedDataset?
        if let publishedDataset {
            guard let dataset = PublishedDataset(plan: plan, records: publishedDataset) else {
                throw ValidationError("--published-dataset: scenario \(scenario) has no attack campaign to publish")
            }
            published = dataset
        }
        let directory = out == "-" ? nil : out
        let toStandardOutput = stdout || out == "-"
        let showProgress = progress ?? ProgressBar.standardErrorIsTerminal
        let summary = try ScenarioWriter.write(plan, directory: directory, trafficToStandardOutput: toStandardOutput,
                                               publishing: published) { count in
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
        if let directory, !summary.removedStale.isEmpty {
            Swift.print("removed \(summary.removedStale.map { "\(directory)/\($0)" }.joined(separator: " and ")): "
                        + "from an earlier simulation, not written by this one", to: &err)
        }
        if let published, let directory {
            Swift.print("published dataset: \(Wording.counted(summary.publishedHarvested, "answer")) harvested by \(published.campaign) "
                        + "and \(Wording.counted(summary.publishedUnrelated, "unrelated record")) in \(directory)/\(PublishedDataset.fileName) "
                        + "(truth in \(PublishedDataset.truthFileName))", to: &err)
        }
    }
}
