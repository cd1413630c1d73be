import ArgumentParser
import Foundation

@main
struct DistillWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distillwatch",
        abstract: "Find and stop distillation attacks on an LLM API.",
        subcommands: [ScanCommand.self, SimulateCommand.self, EvalCommand.self, DemoCommand.self, ServeCommand.self]
    )

    /// Runs the command; errors from the pipeline print as `error: <file>:<line>: reason`
    /// and exit 1, never as a crash.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as ScanFailure {
            var err = StandardError()
            Swift.print("error: \(failure.description)", to: &err)
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
