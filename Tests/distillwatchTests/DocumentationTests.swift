import Foundation
import Testing

/// Every shell block in README.md and Documentation/ carries a marker on the line before
/// it: `<!-- doc-test: run -->` (optionally `; expect "TEXT"`, repeatable) or
/// `<!-- doc-test: skip (REASON) -->`. Blocks marked `run` are executed with bash against
/// the built binary in a scratch folder that links `Samples/` and `Examples/`; they must
/// exit 0 and print what they expect. An unmarked block fails the suite.
///
/// In a run block, `swift run distillwatch` and `.build/release/distillwatch` stand for the
/// binary under test, and `swift build` / `swift test` lines are left out (the test suite
/// is what they run).
struct DocumentedBlock: CustomStringConvertible {
    enum Mode: Equatable { case run(expect: [String]), skip(reason: String) }
    var file: String
    var line: Int
    var mode: Mode?
    var text: String

    var description: String { "\(file):\(line)" }

    static let shellFences: Set<String> = ["```sh", "```bash", "```shell", "```console"]

    /// The shell blocks of a Markdown text and their markers.
    static func parse(_ markdown: String, file: String) -> [DocumentedBlock] {
        let lines = markdown.components(separatedBy: "\n")
        var blocks: [DocumentedBlock] = []
        var i = 0
        while i < lines.count {
            guard shellFences.contains(lines[i].trimmingCharacters(in: .whitespaces)) else { i += 1; continue }
            let start = i
            var body: [String] = []
            i += 1
            while i < lines.count, !lines[i].hasPrefix("```") { body.append(lines[i]); i += 1 }
            let marker = lines[..<start].last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
            blocks.append(DocumentedBlock(file: file, line: start + 1, mode: mode(of: marker), text: body.joined(separator: "\n")))
            i += 1
        }
        return blocks
    }

    static func mode(of marker: String) -> Mode? {
        let m = marker.trimmingCharacters(in: .whitespaces)
        guard m.hasPrefix("<!-- doc-test:"), m.hasSuffix("-->") else { return nil }
        let body = m.dropFirst("<!-- doc-test:".count).dropLast(3).trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("skip") {
            let reason = body.dropFirst(4).trimmingCharacters(in: CharacterSet(charactersIn: " ()"))
            return reason.isEmpty ? nil : .skip(reason: reason)
        }
        guard body.hasPrefix("run") else { return nil }
        var expect: [String] = []
        for part in body.split(separator: ";").dropFirst() {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard p.hasPrefix("expect \""), p.hasSuffix("\"") else { return nil }
            expect.append(String(p.dropFirst("expect \"".count).dropLast()).replacingOccurrences(of: "\\\"", with: "\""))
        }
        return .run(expect: expect)
    }

    /// The block as a script for the binary under test.
    var script: String {
        text.components(separatedBy: "\n")
            .filter { line in
                let t = line.trimmingCharacters(in: .whitespaces)
                return !(t.hasPrefix("swift build") || t.hasPrefix("swift test"))
            }
            .map { $0.replacingOccurrences(of: "swift run distillwatch", with: "distillwatch")
                      .replacingOccurrences(of: ".build/release/distillwatch", with: "distillwatch") }
            .joined(separator: "\n")
    }

    /// Runs the block in a scratch folder on a thread of its own; returns its exit status
    /// and output. The wait is off Swift's cooperative pool (two threads here): blocks run
    /// in parallel, and two blocking waits there stalled every other test, among them the
    /// live servers' (see `HeavyTestLane` in DistillWatchTestSupport).
    func run(binary: URL, root: URL, timeout: TimeInterval = 300) async throws -> (Int32, String) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try self.runWaiting(binary: binary, root: root, timeout: timeout) })
            }
            thread.start()
        }
    }

    /// ``run(binary:root:timeout:)``'s work, blocking the calling thread until the block ends.
    private func runWaiting(binary: URL, root: URL, timeout: TimeInterval) throws -> (Int32, String) {
        let dir = Scratch()
        for link in ["Samples", "Examples"] {
            try FileManager.default.createSymbolicLink(atPath: dir.path + "/" + link, withDestinationPath: root.appendingPathComponent(link).path)
        }
        let bin = dir.path + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/distillwatch", withDestinationPath: binary.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "set -eo pipefail\n" + script]
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["DISTILLWATCH_HOME"] = dir.path + "/home"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func blocks() throws -> [DocumentedBlock] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Documentation").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "Documentation/" + $0 }
        return try (["README.md"] + docs).flatMap { file in
            DocumentedBlock.parse(try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8), file: file)
        }
    }

    @Test func everyShellBlockIsMarkedRunOrSkipWithAReason() throws {
        let blocks = try Self.blocks()
        let unmarked = blocks.filter { $0.mode == nil }
        #expect(unmarked.isEmpty, "shell blocks without a doc-test marker: \(unmarked)")
        let run = blocks.filter { if case .run = $0.mode { return true } else { return false } }
        let skipped = blocks.filter { if case .skip = $0.mode { return true } else { return false } }
        print("doc-test: \(blocks.count) shell blocks, \(run.count) run, \(skipped.count) skipped: "
              + skipped.map { block in if case .skip(let r) = block.mode { return "\(block) (\(r))" } else { return "" } }.joined(separator: "; "))
        #expect(run.count >= 4)
    }

    @Test(arguments: try DocumentationTests.blocks().filter { if case .run = $0.mode { return true } else { return false } })
    func theDocumentedCommandsWork(_ block: DocumentedBlock) async throws {
        guard case .run(let expect) = block.mode else { return }
        let (status, output) = try await block.run(binary: try distillwatchBinary(), root: Self.root)
        #expect(status == 0, "\(block) exited \(status):\n\(output.suffix(2000))")
        for text in expect {
            #expect(output.contains(text), "\(block): the output lacks \"\(text)\":\n\(output.suffix(2000))")
        }
    }

    @Test func aBrokenCommandFailsItsBlock() async throws {
        let markdown = """
            <!-- doc-test: run; expect "Scanned" -->
            ```sh
            .build/release/distillwatch scan Samples/mixed/no-such-file.jsonl
            ```
            """
        let block = DocumentedBlock.parse(markdown, file: "broken.md")[0]
        let (status, output) = try await block.run(binary: try distillwatchBinary(), root: Self.root)
        #expect(status != 0 && output.contains("no-such-file.jsonl"))
        #expect(DocumentedBlock.parse("```sh\nls\n```", file: "x.md")[0].mode == nil)
        #expect(DocumentedBlock.mode(of: "<!-- doc-test: skip -->") == nil, "a skip needs a reason")
    }
}

@Suite struct ExampleLiteLLMConfigurationTests {
    /// Examples/litellm.yaml is the README's "Connect LiteLLM" block, the configuration the
    /// real-proxy run in CI reads (scripts/litellm-e2e.py).
    @Test func theExampleIsTheConfigurationCIRuns() throws {
        let root = DocumentationTests.root
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = "<!-- litellm-e2e: this configuration -->"
        let parts = readme.components(separatedBy: marker)
        #expect(parts.count == 2, "README.md must hold exactly one block marked \(marker)")
        guard parts.count == 2, let open = parts[1].range(of: "```yaml\n"),
              let close = parts[1].range(of: "```", range: open.upperBound..<parts[1].endIndex) else { return }
        let block = String(parts[1][open.upperBound..<close.lowerBound])
        let example = try String(contentsOf: root.appendingPathComponent("Examples/litellm.yaml"), encoding: .utf8)
        let body = example.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") }.joined(separator: "\n")
        #expect(body == block, "Examples/litellm.yaml differs from README.md's Connect LiteLLM block")
        for key in ["generic_guardrail_api", "unreachable_fallback: fail_closed", "/v1/litellm/logs", "callback_type: generic_api"] {
            #expect(block.contains(key), "\(key)")
        }
    }
}
