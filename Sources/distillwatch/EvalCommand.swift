import DistillWatchConsole
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

    @Flag(name: .long, help: "Evaluate every scenario (scale 1; hydra-2026 at --hydra-2026-scale, busy-cluster at 0.01).")
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

    @Flag(name: .long, help: "With --traffic: stop at the first malformed line of any input instead of skipping it.")
    var strict = false

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

    @Option(name: .long, help: ArgumentHelp(
        "With --scenario: evaluate again for each value of one evasion knob and print recall and served-before-flag along it (pace=5,15,40; camouflage=0.2,0.6; exits=0,0.5,2; fingerprint=shared,own; accounts=30,300).",
        valueName: "knob=v1,v2,..."))
    var sweep: String?

    @Flag(name: .long, help: "With --scenario: an attacker who knows every signal searches pace, camouflage, exits and fingerprint jointly (72 settings) and reports the cheapest setting that keeps recall below 0.5.")
    var adaptive = false

    @Flag(name: .long, help: "Indicator sharing: provider A detects the two-provider operator and publishes a STIX bundle; print provider B's served-before-flag and false positives without and with A's indicators (Documentation/Sharing.md). Uses --scale (default 1), --seed, --policy, --json.")
    var twoProvider = false

    @Option(name: .long, help: "Also write the v1 scan report of the evaluated traffic (JSON) to this file: every flagged account's signals and every campaign's evidence, to see why an account was flagged.")
    var report: String?

    @Option(name: .long, help: ArgumentHelp("With --scenario: also write a self-contained HTML report (the console's campaign and account views, inline CSS and SVG, no script) of the evaluated traffic to this file.", valueName: "path"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Threads for the engine, as `scan --engine-threads` (the simulator's traffic is made on the main thread): the same evaluation for any N.", valueName: "N|auto"), transform: EngineThreadCount.parse)
    var engineThreads: EngineThreadCount = .count(1)

    func validate() throws {
        let modes = (scenario != nil ? 1 : 0) + (allScenarios ? 1 : 0) + (traffic != nil ? 1 : 0) + (twoProvider ? 1 : 0)
        guard modes == 1 else {
            throw ValidationError("give exactly one of --scenario NAME, --all-scenarios, --two-provider or --traffic FILE --labels FILE")
        }
        if twoProvider, noContent || report != nil || sweep != nil || adaptive {
            throw ValidationError("--two-provider takes --scale, --seed, --policy, --json and --markdown only")
        }
        if let scenario, Scenario.named(scenario) == nil {
            throw ValidationError("unknown scenario '\(scenario)'; choose one of \(Scenario.names.joined(separator: ", "))")
        }
        if traffic != nil, labels == nil { throw ValidationError("--traffic needs --labels") }
        if strict, traffic == nil { throw ValidationError("--strict applies to recorded files (--traffic, --labels, --accounts)") }
        // Each plan this run would make, with the option that sets its scale.
        var plans: [(option: String, scenario: Scenario, scale: Double)] = []
        if let scenario, let named = Scenario.named(scenario) { plans.append(("--scale", named, scale)) }
        if twoProvider { plans.append(("--scale", .twoProvider, scale)) }
        if allScenarios {
            for s in Scenario.all {
                if s.name == "hydra-2026" { plans.append(("--hydra-2026-scale", s, hydra2026Scale)) }
                else if s.evaluationScale == nil { plans.append(("--scale", s, scale)) }
            }
        }
        for (option, value) in [("--scale", scale), ("--hydra-2026-scale", hydra2026Scale)] where !(value > 0 && value.isFinite) {
            throw ValidationError("\(option) must be a positive number, not \(value)")
        }
        for plan in plans {
            if let problem = ScenarioPlan.problem(withScale: plan.scale, for: plan.scenario) { throw ValidationError("\(plan.option) \(problem)") }
        }
        if report != nil, allScenarios { throw ValidationError("--report needs one evaluation: --scenario or --traffic") }
        if let html {
            guard scenario != nil, sweep == nil, !adaptive else {
                throw ValidationError("--html needs --scenario NAME (for recorded traffic, run scan --html on it)")
            }
            guard html != "-", !html.isEmpty else { throw ValidationError("--html takes a file path (the report is one HTML file)") }
        }
        if json == "-", report == "-" { throw ValidationError("--json - and --report - cannot both write to standard output") }
        try UserFile.refuseStandardInputTwice([("traffic file", traffic), ("account records file", accounts), ("labels file", labels),
                                               ("policy file", policy)])
        if json == "-", markdown { throw ValidationError("--json - and --markdown cannot both write to standard output") }
        if sweep != nil || adaptive {
            guard let scenario else { throw ValidationError("--sweep and --adaptive need --scenario NAME") }
            guard sweep == nil || !adaptive else { throw ValidationError("give --sweep or --adaptive, not both") }
            guard report == nil else { throw ValidationError("--report needs one evaluation, not a sweep") }
            guard Scenario.named(scenario)!.groups.contains(where: \.persona.isAttack) else {
                throw ValidationError("scenario '\(scenario)' has no attack group to turn knobs on")
            }
            if let sweep { _ = try Self.parseSweep(sweep) }
        }
    }

    /// `knob=v1,v2,...` as knob settings, one per value.
    /// - Throws: `ValidationError` naming the knob or value that is not one.
    static func parseSweep(_ text: String) throws -> [EvasionKnobs] {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let names = EvasionKnobs.Name.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2, let name = EvasionKnobs.Name(rawValue: parts[0]) else {
            throw ValidationError("--sweep wants knob=v1,v2,... with a knob among \(names); got '\(text)'")
        }
        let values = parts[1].split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        guard !values.isEmpty, values.count <= 50, !values.contains("") else {
            throw ValidationError("--sweep \(name.rawValue) wants 1 to 50 comma-separated values; got '\(parts[1])'")
        }
        do {
            return try values.map { try EvasionKnobs().setting(name, to: $0) }
        } catch let error as SweepError {
            throw ValidationError("--sweep: \(error.description)")
        }
    }

    func run() throws {
        try UserFile.refuseClashes(
            outputs: [("--json", json), ("--report", report), ("--html", html)],
            inputs: [("traffic file", traffic), ("account records file", accounts), ("labels file", labels), ("policy file", policy)])
        let policy = try loadPolicy(self.policy)
        let sketcher = noContent ? nil : evaluationSketcher(seed: seed)
        let showProgress = progress ?? ProgressBar.standardErrorIsTerminal
        let progressReport: (Int) -> Void = { count in
            guard showProgress else { return }
            var err = StandardError()
            Swift.print("  \(Wording.number(count / 1_000_000))M exchanges", to: &err)
        }
        if sweep != nil || adaptive, let scenario {
            try runEvasion(Scenario.named(scenario)!, policy: policy, sketcher: sketcher)
            return
        }
        if twoProvider {
            let result = TwoProviderEvaluation.run(scale: scale, seed: seed, policy: policy)
            if let json { try writeJSON(result, to: json, what: "the evaluation") }
            if json != "-" {
                print(result.markdown)
                print("(\(String(format: "%.1f", result.seconds)) s)")
            }
            return
        }
        var reports: [EvaluationReport] = []
        if allScenarios {
            for s in Scenario.all {
                let plan = ScenarioPlan(scenario: s, scale: s.name == "hydra-2026" ? hydra2026Scale : (s.evaluationScale ?? scale), seed: seed)
                reports.append(EvaluationRun.run(plan: plan, policy: policy, sketcher: sketcher, engineThreads: engineThreads.resolved(sketchingPrompts: sketcher != nil),
                                                 progress: progressReport).0)
                var err = StandardError()
                Swift.print("evaluated \(s.name): \(reports.last!.exchanges) exchanges in \(String(format: "%.1f", reports.last!.seconds ?? 0)) s", to: &err)
            }
        } else if let scenario {
            let plan = ScenarioPlan(scenario: Scenario.named(scenario)!, scale: scale, seed: seed)
            let outcome = EvaluationRun.runKeepingState(plan: plan, policy: policy, sketcher: sketcher, collectActivity: html != nil,
                                                        engineThreads: engineThreads.resolved(sketchingPrompts: sketcher != nil), progress: progressReport)
            reports.append(outcome.evaluation)
            if let report { try writeReport(outcome.scan, to: report) }
            if let html {
                let e = outcome.evaluation
                try writeHTMLReport(
                    ScanOutcome(report: outcome.scan, statistics: IngestStatistics(), engine: outcome.engine, activity: outcome.activity),
                    to: html, title: "DistillWatch evaluation: \(scenario)",
                    intro: "Simulated scenario \(scenario) at scale \(scale), seed \(seed): \(ConsoleFormat.number(e.exchanges)) exchanges; DistillWatch \(DistillWatchVersion.current). The labels of the simulation are not shown: this is what an analyst would see.")
            }
        } else if let traffic, let labels {
            var statistics = IngestStatistics()
            let (evaluation, scan) = try EvaluationRun.run(
                traffic: InputSource(argument: traffic), accounts: accounts.map(InputSource.init(argument:)),
                labels: InputSource(argument: labels), policy: policy,
                options: IngestOptions(strict: strict, sketcher: sketcher), statistics: &statistics,
                labelsWithoutTraffic: { absent in
                    var err = StandardError()
                    Swift.print("note: \(Wording.counted(absent.count, "labelled account")) sent no exchange in \(traffic) and "
                        + "\(absent.count == 1 ? "is" : "are") not evaluated (\(absent.prefix(3).joined(separator: ", "))"
                        + "\(absent.count > 3 ? ", …" : ""))", to: &err)
                })
            if let report { try writeReport(scan, to: report) }
            if statistics.malformedCount > 0 {
                var err = StandardError()
                Swift.print("warning: skipped \(Wording.counted(statistics.malformedCount, "malformed line")) (--strict stops at the first):", to: &err)
                for line in statistics.malformedLines.prefix(10) { Swift.print("  \(line)", to: &err) }
                if statistics.malformedCount > 10 { Swift.print("  ... and \(Wording.number(statistics.malformedCount - 10)) more", to: &err) }
            }
            reports.append(evaluation)
        }
        if let json {
            try writeJSON(reports.count == 1 ? AnyEncodableReports.one(reports[0]) : .many(reports), to: json, what: "the evaluation")
            if json == "-" { return }
        }
        // With the scan report on standard output, the evaluation goes to standard error
        // (it followed the report's JSON on standard output).
        let text = markdown ? EvaluationReport.markdown(reports) : reports.map(\.text).joined(separator: "\n")
        if report == "-" {
            var err = StandardError()
            Swift.print(text, terminator: "", to: &err)
        } else {
            Swift.print(text, terminator: "")
        }
    }
}

extension EvalCommand {
    /// `--sweep` and `--adaptive`: one evaluation per knob setting, then the curve (or the
    /// cheapest evasion), as text, Markdown or JSON.
    func runEvasion(_ scenario: Scenario, policy: Policy, sketcher: ContentSketcher?) throws {
        let settings = try sweep.map(Self.parseSweep) ?? EvasionSweep.adaptiveGrid
        var points: [EvasionSweep.Point] = []
        var err = StandardError()
        for (k, knobs) in settings.enumerated() {
            let point = EvasionSweep.evaluate(scenario, knobs: knobs, scale: scale, seed: seed, policy: policy, sketcher: sketcher)
            points.append(point)
            if progress ?? ProgressBar.standardErrorIsTerminal || adaptive {
                Swift.print("  [\(k + 1)/\(settings.count)] \(point.knobs): recall \(Wording.percent(point.recall, digits: 1))", to: &err)
            }
        }
        let cheapest = adaptive ? EvasionSweep.cheapestEvasion(points) : nil
        if let json {
            try writeJSON(EvasionOutput(scenario: scenario.name, scale: scale, seed: seed, points: points, cheapestEvasion: cheapest),
                          to: json, what: "the sweep")
            if json == "-" { return }
        }
        let title = adaptive
            ? "Adaptive attacker on \(scenario.name) (scale \(Wording.decimal(scale)), seed \(seed)): \(points.count) settings"
            : "Sweep of \(scenario.name) (scale \(Wording.decimal(scale)), seed \(seed))"
        Swift.print(markdown ? "### \(title)\n\n" + EvasionSweep.markdown(points) : title + "\n" + EvasionSweep.text(points), terminator: "")
        if adaptive {
            if let c = cheapest {
                Swift.print("\nCheapest evasion (recall below 50%, most harvested per account-day): \(c.knobs): recall "
                    + "\(Wording.percent(c.recall, digits: 1)), \(Wording.rounded(c.harvestedPerAccountDay, digits: 1)) harvested exchanges "
                    + "per account-day, so \(Wording.number(Int((1_000_000 / 30 / max(0.001, c.harvestedPerAccountDay)).rounded(.up)))) accounts "
                    + "to harvest 1M exchanges a month, with \(c.exitsPerAccount == 0 ? "its own residential address a day each" : "\(Wording.rounded(c.exitsPerAccount, digits: 1)) proxy exits per account").")
            } else {
                Swift.print("\nNo setting of the grid kept recall below 50%.")
            }
        }
    }
}

struct EvasionOutput: Encodable {
    var format = "distillwatch.evasion.v1"
    var scenario: String
    var scale: Double
    var seed: UInt64
    var points: [EvasionSweep.Point]
    var cheapestEvasion: EvasionSweep.Point?

    enum CodingKeys: String, CodingKey {
        case format, scenario, scale, seed, points
        case cheapestEvasion = "cheapest_evasion"
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
