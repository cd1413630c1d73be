import Foundation
import Testing
@testable import DistillWatchIngest

/// The suspect dataset shapes `provenance check` reads, and its problems by position.
@Suite struct DatasetReaderTests {
    @Test func everyKnownShapeInJSONLines() {
        let text = """
            {"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"q1"},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"},{"role":"assistant","content":[{"type":"text","text":"a2"},{"type":"text","text":"more"}]}]}
            {"instruction":"Sum","input":"2 and 3","output":"5"}
            {"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"hello there"}]}
            {"prompt":"p","completion":"c1"}
            {"prompt":"p","response":"r1"}

            {"question":"why","answer":"because"}
            """
        let r = DatasetReader.parse(Data(text.utf8))
        #expect(r.problems.isEmpty, "\(r.problems)")
        #expect(r.lines == 7)
        #expect(r.records.map(\.shape) == [.messages, .alpaca, .sharegpt, .promptCompletion, .promptCompletion, .promptCompletion])
        #expect(r.records[0].prompt == "q1" && r.records[0].responses == ["a1", "a2\nmore"])
        #expect(r.records[1].prompt == "Sum\n\n2 and 3" && r.records[1].responses == ["5"])
        #expect(r.records[2].responses == ["hello there"])
        #expect(r.records.map(\.position) == [1, 2, 3, 4, 5, 7])
    }

    @Test func aJSONArrayAndProblemsByPosition() {
        let array = #"[{"output":"x"},{"messages":"no"},{"messages":[{"content":"c"}]},{"foo":1},{"instruction":"i","output":7},{"messages":[{"role":"assistant","content":"  ..."}]},3]"#
        let r = DatasetReader.parse(Data(array.utf8))
        #expect(r.records.count == 1 && r.records[0].shape == .alpaca && r.lines == 7)
        #expect(r.problems.map(\.position) == [2, 3, 4, 5, 6, 7])
        #expect(r.problems[0].description == "record 2: field \"messages\": should be an array of turns")
        #expect(r.problems[1].field == "messages[0].role")
        #expect(r.problems[2].reason.contains("not a known shape"))
        #expect(r.problems[3].field == "output")
        #expect(r.problems[4].reason == "holds no answer text to compare")
        #expect(r.problems[5].reason == "not a JSON object")
        let broken = DatasetReader.parse(Data("[{\"output\":".utf8))
        #expect(broken.records.isEmpty && broken.problems.first?.reason.hasPrefix("not a valid JSON array: ") == true)
        // Where the array breaks, as an editor shows it (Foundation says "around" the byte after the first bad one).
        let badElement = DatasetReader.parse(Data("[\n {\"prompt\":\"p\",\"completion\":\"a\"},\n {\"prompt\": nope}\n]".utf8))
        #expect(badElement.problems.first?.reason.hasSuffix("(line 3, column 14)") == true, "\(badElement.problems)")
    }

    @Test func filesAreReadPlainOrGzipAndAnUnusableFileIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dw-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("d.jsonl").path
        try Data(#"{"prompt":"p","completion":"the answer"}"#.utf8).write(to: URL(fileURLWithPath: plain))
        #expect(try DatasetReader.read(path: plain).records.count == 1)
        let gz = dir.appendingPathComponent("d.jsonl.gz").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(plain)' > '\(gz)'"]
        try p.run()
        p.waitUntilExit()
        #expect(try DatasetReader.read(path: gz).records.first?.responses == ["the answer"])
        let empty = dir.appendingPathComponent("e.jsonl").path
        try Data("{\"foo\":1}\n".utf8).write(to: URL(fileURLWithPath: empty))
        #expect(throws: IngestError.self) { try DatasetReader.read(path: empty) }
        #expect(throws: IngestError.self) { try DatasetReader.read(path: dir.appendingPathComponent("missing").path) }
        // A directory says so; a pipe (`<(…)`, a FIFO) is read like a file.
        #expect(performing: { try DatasetReader.read(path: dir.path) },
                throws: { "\($0)" == "\(dir.path): is a directory, not a dataset" })
        let fifo = dir.appendingPathComponent("d.pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            let line = Array(#"{"prompt":"p","completion":"through a pipe"}"#.utf8)
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        #expect(try DatasetReader.read(path: fifo).records.first?.responses == ["through a pipe"])
    }
}
