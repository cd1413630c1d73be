import ArgumentParser
import DistillWatchCore
import DistillWatchIngest
import DistillWatchSimulator
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure detection on a labelled scenario: recall, exposure and false positives.",
        discussion: """
            Runs a simulated scenario (streamed straight into the engine, no files) or recorded \
            --traffic/--accounts/--labels files through the same engine as `scan`, and prints per \
            campaign the recall, the share of its exchanges served before its accounts were flagged \
            and the time to the first flag; per legitimate persona the false-positive rate; allowlist \
            violations; and how well the engine grouped campaigns.
            """
    )

    @Option(name: .long, help: "Scenario to simulate (\(Scenario.names.joined(separator: ", "))).")
    var scenario: String?

    @Flag(name: .long, help: "Evaluate every scenario (scale 1, hydra-2026 at --hydra-2026-scale).")
    var allScenarios = false

    @Option(name: .customLong("hydra-2026-scale"), help: "Scale with --all-scenarios for hydra-2026 (scale 1 is ~317M exchanges).")
    var hydra2026Scale: Double = 0.01

    @Option(name: .long, help: "Scenario scale.")
    var scale: Double = 1

    @Option(name: .long, help: "Scenario seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Recorded traffic (JSON Lines, optionally gzip), with --labels.")
    var traffic: String?

    @Option(name: .long, help: "Recorded account records (optional).")
    var accounts: String?

    @Option(name: .long, help: "Recorded labels.")
    var labels: String?

    @Option(name: .long, help: "YAML policy overriding the built-in one.")
    var policy: String?

    @Option(name: .long, help: ArgumentHelp("Write the evaluation as JSON to this file, or to standard output with -.", valueName: "path|-"))
    var json: String?

    @Flag(name: .long, help: "Print Markdown tables (for Documentation/Scenarios.md).")
    var markdown = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Report progress on standard error about every million exchanges (default: on a terminal).")
    var progress: Bool?

    @Flag(name: .long, help: "Turn content signals off (behaviour signals only), to compare with and without.")
    var noContent = false

    @Option(name: .long, help: "Also write the v1 scan report of the evaluated traffic (JSON) to this file: every flagged account's signals and every campaign's evidence, to see why an account was flagged.")
    var report: String?

    func validate() throws {
        let modes = (scenario != nil ? 1 : 0) + (allScenarios ? 1 : 0) + (traffic != nil ? 1 : 0)
        guard modes == 1 else {
            throw ValidationError("give exactly one of --scenario NAME, --all-scenarios or --traffic FILE --labels FILE")
        }
        if let scenario, Scenario.named(scenario) == nil {
            throw ValidationError("unknown scenario '\(scenario)'; choose one of \(Scenario.names.joined(separator: ", "))")
        }
        if traffic != nil, labels == nil { throw ValidationError("--traffic needs --labels") }
        guard scale > 0, hydra2026Scale > 0 else { throw ValidationError("scales must be positive") }
        if report != nil, allScenarios { throw ValidationError("--report needs one evaluation: --scenario or --traffic") }
        if json == "-", report == "-" { throw ValidationError("--json - and --report - cannot both write to standard output") }
        if json == "-", markdown { throw ValidationError("--json - and --markdown cannot both write to standard output") }
    }

    func run() throws {
        let policy = try loadPolicy(self.policy)
        let sketcher = noContent ? nil : evaluationSketcher(seed: seed)
        let showProgress = progress ?? ProgressBar.standardErrorIsTerminal
        let progressReport: (Int) -> Void = { count in
            guard showProgress else { return }
            var err = StandardError()
            Swift.print("  \(Wording.number(count / 1_000_000))M exchanges", to: &err)
        }
        var reports: [EvaluationReport] = []
        if allScenarios {
            for s in Scenario.all {
                let plan = ScenarioPlan(scenario: s, scale: s.name == "hydra-2026" ? hydra2026Scale : scale, seed: seed)
                reports.append(EvaluationRun.run(plan: plan, policy: policy, sketcher: sketcher, progress: progressReport).0)
                var err = StandardError()
                Swift.print("evaluated \(s.name): \(reports.last!.exchanges) exchanges in \(String(format: "%.1f", reports.last!.seconds ?? 0)) s", to: &err)
            }
        } else if let scenario {
            let plan = ScenarioPlan(scenario: Scenario.named(scenario)!, scale: scale, seed: seed)
            let (evaluation, scan) = EvaluationRun.run(plan: plan, policy: policy, sketcher: sketcher, progress: progressReport)
            reports.append(evaluation)
            if let report { try writeReport(scan, to: report) }
        } else if let traffic, let labels {
            var malformed = 0
            let (evaluation, scan) = try EvaluationRun.run(
                traffic: InputSource(argument: traffic), accounts: accounts.map(InputSource.init(argument:)),
                labels: InputSource(argument: labels), policy: policy, sketcher: sketcher, malformed: &malformed)
            if let report { try writeReport(scan, to: report) }
            if malformed > 0 {
                var err = StandardError()
                Swift.print("warning: skipped \(malformed) malformed lines", to: &err)
            }
            reports.append(evaluation)
        }
        if let json {
            try writeJSON(reports.count == 1 ? AnyEncodableReports.one(reports[0]) : .many(reports), to: json, what: "the evaluation")
            if json == "-" { return }
        }
        if markdown {
            Swift.print(EvaluationReport.markdown(reports), terminator: "")
        } else {
            Swift.print(reports.map(\.text).joined(separator: "\n"), terminator: "")
        }
    }
}

/// One report as an object, several as an array.
enum AnyEncodableReports: Encodable {
    case one(EvaluationReport)
    case many([EvaluationReport])

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .one(let r): try r.encode(to: encoder)
        case .many(let rs): try rs.encode(to: encoder)
        }
    }
}

/// The content key for evaluating simulated or recorded traffic: derived from the seed, so
/// results are reproducible and no key file is written. Verdicts never depend on the key's
/// value, only on which prompts resemble which.
func evaluationSketcher(seed: UInt64) -> ContentSketcher {
    ContentSketcher(key: ContentKey(k0: seed, k1: 0x5EED_C0DE))
}
