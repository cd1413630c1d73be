import ArgumentParser
import DistillWatchCore
import DistillWatchSimulator
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulate the small mixed scenario, scan it and print the report and its evaluation.",
        discussion: "Needs no input and no configuration: a first look at what DistillWatch finds."
    )

    @Option(name: .long, help: "Scenario seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "How many of the riskiest accounts to show.")
    var top = 10

    @Flag(name: .long, help: "Turn content signals off (behaviour signals only).")
    var noContent = false

    func run() throws {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: seed)
        var out = StandardOutput()
        // The plan's accounts, not those that send: a planned account may send nothing in the
        // period, and the scan's line below counts only those that did.
        Swift.print("Simulating scenario 'mixed': \(plan.accounts.count) accounts of every persona planned over "
            + "\(Int(plan.scenario.days)) days (see Documentation/Scenarios.md; the scan counts those that sent), scanning it as `scan` would.\n", to: &out)
        let (evaluation, scan) = EvaluationRun.run(plan: plan, sketcher: noContent ? nil : evaluationSketcher(seed: seed))
        ReportSummary(report: scan, statistics: nil, top: top).print(to: &out)
        Swift.print("\nAgainst the scenario's ground truth:\n", to: &out)
        Swift.print(evaluation.text, terminator: "", to: &out)
        // The demo seeds its content key from the scenario seed; the scan command names it,
        // so the files give the same scores.
        let key = noContent ? " --no-content" : " --content-key \(evaluationSketcher(seed: seed).key.hex)"
        Swift.print("\nReproduce with files: distillwatch simulate --scenario mixed --seed \(seed) --out DIR; "
            + "distillwatch scan DIR/traffic.jsonl.gz --accounts DIR/accounts.jsonl\(key)", to: &out)
    }
}
