import Foundation
import Testing
@testable import distillwatch

/// Files named on the command line: read whole, or an error naming the file, what it was
/// meant to be and the system's reason (not a guess such as "permission?").
@Suite struct UserFileTests {
    @Test func readsFilesAndDevicesAndSaysWhyNot() throws {
        let dir = Scratch()
        let path = dir.path + "/policy.yaml"
        try Data("minimum_exchanges: 5\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try UserFile.read(path, what: "policy file") == Data("minimum_exchanges: 5\n".utf8))
        // A character device reads as the empty file it is: an empty policy is the default.
        #expect(try UserFile.read("/dev/null", what: "policy file").isEmpty)
        #expect(try loadPolicy("/dev/null") == .default)
        func message(_ path: String) -> String {
            do { _ = try UserFile.read(path, what: "STIX bundle"); return "" } catch { return "\(error)" }
        }
        #expect(message(dir.path + "/missing.json") == "\(dir.path)/missing.json: no such file (the STIX bundle)")
        #expect(message(dir.path) == "\(dir.path): is a directory, not a STIX bundle")
        // An endless device is refused past the bound, not read into memory.
        do {
            _ = try UserFile.read("/dev/zero", what: "policy file", maximumBytes: 1 << 20)
            Issue.record("/dev/zero was read whole")
        } catch {
            #expect("\(error)".contains("/dev/zero: larger than 1048576 bytes; not a policy file"), "\(error)")
        }
    }
}
