import DistillWatchCore
import ArgumentParser
import Foundation

@main
struct DistillWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distillwatch",
        abstract: "Find and stop distillation attacks on an LLM API.",
        version: "distillwatch \(DistillWatchVersion.current)",
        subcommands: [ScanCommand.self, CampaignsCommand.self, ClickHouseCommand.self, SimulateCommand.self, EvalCommand.self, DemoCommand.self, ServeCommand.self, PolicyCommand.self, ShareCommand.self, ScreenCommand.self, ProvenanceCommand.self]
    )

    /// Runs the command. Every error prints one way, `error: <what>` on standard error
    /// (with the usage line after a usage error), and exits non-zero, never as a crash;
    /// `--help` and `--version` print to standard output and exit 0.
    static func main() {
        HugePages.restartIfUseful()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as ScanFailure {
            var err = StandardError()
            Swift.print("error: \(failure.description)", to: &err)
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Swift.print(message) }
            } else {
                var err = StandardError()
                Swift.print(message.hasPrefix("Error: ") ? "error: " + message.dropFirst("Error: ".count) : "error: " + message,
                            to: &err)
            }
            Foundation.exit(code.rawValue)
        }
    }
}
