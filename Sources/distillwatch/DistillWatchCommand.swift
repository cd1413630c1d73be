import ArgumentParser

@main
struct DistillWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distillwatch",
        abstract: "Find and stop distillation attacks on an LLM API.",
        subcommands: []
    )
}
