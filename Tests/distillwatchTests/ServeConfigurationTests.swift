import Foundation
import Testing
@testable import distillwatch

/// `serve`'s configuration as the CLI builds it: defaults, file, environment, flags, then
/// the content key (made only once the rest is valid).
@Suite struct ServeConfigurationTests {
    /// `provenance_index: true` needs content sketches; the CLI sets the sketcher after
    /// checking the rest, and the check once ran before it: the setting could never be used.
    @Test func provenanceIndexStartsWithContentSketchesAndNotWithout() throws {
        let dir = Scratch()
        let key = dir.path + "/content.key"
        let secret = "ssssssssssssssssssss"
        let environment = ["DISTILLWATCH_PROVENANCE_INDEX": "true", "DISTILLWATCH_TOKENS": "a:analyst:\(secret)"]
        let command = try ServeCommand.parse(["--database", ":memory:", "--content-key-file", key])
        let configuration = try command.makeConfiguration(environment: environment)
        #expect(configuration.provenanceIndex && configuration.sketcher != nil)
        let without = try ServeCommand.parse(["--database", ":memory:", "--no-content"])
        #expect(throws: (any Error).self) { try without.makeConfiguration(environment: environment) }
        do {
            _ = try without.makeConfiguration(environment: environment)
        } catch {
            #expect("\(error)".contains("provenance_index needs content sketches"), "\(error)")
        }
    }
}
