import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "distillwatch-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        precondition(FileManager.default.createFile(atPath: p, contents: Data(text.utf8)), "cannot create a test file")
        return p
    }

    func gzip(_ name: String, _ text: String) throws -> String {
        let p = path + "/" + name
        let sink = try OutputSink(path: p)
        try sink.write(Array(text.utf8))
        try sink.close()
        return p
    }
}

func lines(_ source: InputSource) throws -> [(Int, String)] {
    var reader = LineReader(source)
    var out: [(Int, String)] = []
    try reader.forEachLine { n, bytes in out.append((n, String(decoding: bytes, as: UTF8.self))) }
    return out
}

@Suite struct LineReaderTests {
    @Test func splitsLinesKeepingLineNumbersAcrossBlankLinesAndCRLF() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.jsonl", "a\r\n\n  \nb\nc")
        let got = try lines(.file(path))
        #expect(got.map(\.0) == [1, 4, 5])
        #expect(got.map(\.1) == ["a", "b", "c"])
    }

    @Test func linesSpanningReadChunks() throws {
        let dir = ScratchDirectory()
        let long = String(repeating: "x", count: 3 * RawByteStream.chunkSize + 17)
        let path = dir.file("t.jsonl", "first\n\(long)\nlast\n")
        let got = try lines(.file(path))
        #expect(got.map(\.1) == ["first", long, "last"])
    }

    @Test func readsGzipByMagicNumberWhateverTheName() throws {
        let dir = ScratchDirectory()
        let text = (0..<50_000).map { "line \($0)" }.joined(separator: "\n")
        let gz = try dir.gzip("traffic.jsonl.gz", text)
        try FileManager.default.moveItem(atPath: gz, toPath: dir.path + "/renamed.jsonl")
        let got = try lines(.file(dir.path + "/renamed.jsonl"))
        #expect(got.count == 50_000)
        #expect(got.last?.1 == "line 49999")
    }

    @Test func readsConcatenatedGzipMembers() throws {
        let dir = ScratchDirectory()
        let a = try Data(contentsOf: URL(fileURLWithPath: try dir.gzip("a.gz", "one\ntwo\n")))
        let b = try Data(contentsOf: URL(fileURLWithPath: try dir.gzip("b.gz", "three\n")))
        let both = dir.path + "/both.gz"
        precondition(FileManager.default.createFile(atPath: both, contents: a + b), "cannot create a test file")
        #expect(try lines(.file(both)).map(\.1) == ["one", "two", "three"])
    }

    @Test func corruptAndTruncatedGzipAreClearErrors() throws {
        let dir = ScratchDirectory()
        let good = try Data(contentsOf: URL(fileURLWithPath: try dir.gzip("g.gz", String(repeating: "hello world\n", count: 10_000))))
        let truncated = dir.path + "/truncated.gz"
        precondition(FileManager.default.createFile(atPath: truncated, contents: good.prefix(good.count / 2)), "cannot create a test file")
        #expect {
            try lines(.file(truncated))
        } throws: { ($0 as? IngestError)?.message.contains("truncated") == true }

        var garbage = good
        for i in 20..<60 { garbage[i] ^= 0xA5 }
        let corrupt = dir.path + "/corrupt.gz"
        precondition(FileManager.default.createFile(atPath: corrupt, contents: garbage), "cannot create a test file")
        #expect {
            try lines(.file(corrupt))
        } throws: { ($0 as? IngestError)?.message.contains("not a readable gzip stream") == true }
    }

    @Test func missingFileAndDirectoryAreClearErrors() {
        #expect {
            try lines(.file("/nonexistent/traffic.jsonl"))
        } throws: { ($0 as? IngestError)?.description == "/nonexistent/traffic.jsonl: cannot open: No such file or directory" }
        let dir = ScratchDirectory()
        #expect {
            try lines(.file(dir.path))
        } throws: { ($0 as? IngestError)?.message == "is a directory, not a file" }
    }

    @Test func readsAPipeAsStandardInputIs() throws {
        // Standard input is file descriptor 0; a pipe exercises the same path.
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = "{\"a\":1}\n{\"a\":2}\n"
        let writeEnd = fds[1]
        let writer = Thread {
            _ = text.withCString { write(writeEnd, $0, strlen($0)) }
            close(writeEnd)
        }
        writer.start()
        var reader = LineReader(.standardInput)
        var got: [String] = []
        try reader.forEachLine(fileDescriptor: fds[0], name: "<stdin>", oversized: { _ in }) { _, bytes in
            got.append(String(decoding: bytes, as: UTF8.self))
        }
        close(fds[0])
        #expect(got == ["{\"a\":1}", "{\"a\":2}"])
    }

    @Test func overlongLinesAreReportedNotBuffered() throws {
        var splitter = LineSplitter(maximumLineBytes: 10)
        var got: [(String, Bool)] = []
        let text = Array("short\nthis line is far too long\nok\nunterminated and too long".utf8)
        try text.withUnsafeBufferPointer { buffer in
            // Feed in small chunks to cross chunk boundaries.
            var i = 0
            while i < buffer.count {
                let n = min(4, buffer.count - i)
                try splitter.feed(UnsafeBufferPointer(rebasing: buffer[i..<(i + n)])) { got.append((String(decoding: $0, as: UTF8.self), $1)) }
                i += n
            }
        }
        try splitter.finish { got.append((String(decoding: $0, as: UTF8.self), $1)) }
        #expect(got.map(\.1) == [false, true, false, true])
        #expect(got[0].0 == "short" && got[2].0 == "ok")
    }
}
