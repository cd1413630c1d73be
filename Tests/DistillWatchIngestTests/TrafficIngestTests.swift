@testable import DistillWatchCore
import DistillWatchTestSupport
import Foundation
import Testing
@testable import DistillWatchIngest

@Suite struct TrafficIngestTests {
    @Test func malformedLinesAreReportedWithLineNumbersAndTheRestIsProcessed() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.jsonl", """
            {"time":"2026-04-01T00:00:00Z","account_id":"a"}
            {"time":"2026-04-01T00:00:01Z","account_id":"a"
            {"time":"2026-04-01T00:00:02Z"}

            {"time":1775001603000,"account_id":"b","output_tokens":"many"}
            {"time":1775001604000,"account_id":"b"}
            """)
        var scanner = TrafficScanner()
        var stats = IngestStatistics()
        try TrafficIngest.scanTraffic(from: .file(path), into: &scanner, options: IngestOptions(), statistics: &stats)
        #expect(stats.exchangeRecords == 2)
        #expect(stats.malformedCount == 3)
        #expect(stats.malformedLines.map(\.line) == [2, 3, 5])
        #expect(stats.malformedLines[1].description == "\(path):3: field \"account_id\": missing required field")
        #expect(stats.malformedLines[2].error.field == "output_tokens")
        let report = scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: true)
        #expect(report.input.exchanges == 2)
        #expect(Set(report.accounts.map(\.accountID)) == ["a", "b"])
    }

    @Test func strictStopsAtTheFirstMalformedLine() throws {
        let dir = ScratchDirectory()
        let path = dir.file("t.jsonl", "{\"time\":1775001600000,\"account_id\":\"a\"}\n{oops}\n{\"time\":1775001600001,\"account_id\":\"a\"}\n")
        var scanner = TrafficScanner()
        var stats = IngestStatistics()
        #expect {
            try TrafficIngest.scanTraffic(from: .file(path), into: &scanner, options: IngestOptions(strict: true), statistics: &stats)
        } throws: { ($0 as? MalformedLine)?.line == 2 }
        #expect(stats.exchangeRecords == 1)
    }

    @Test func emptyInputIsAnError() {
        let dir = ScratchDirectory()
        let path = dir.file("empty.jsonl", "\n\n")
        var scanner = TrafficScanner()
        var stats = IngestStatistics()
        #expect {
            try TrafficIngest.scanTraffic(from: .file(path), into: &scanner, options: IngestOptions(), statistics: &stats)
        } throws: { ($0 as? IngestError)?.message == "is empty: no exchange records" }
    }

    @Test func gzipAndPlainGiveTheSameReport() throws {
        let dir = ScratchDirectory()
        var bytes: [UInt8] = []
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        for i in 0..<5_000 {
            t = t.adding(seconds: 7)
            JSONLineEncoder.append(Exchange(time: t, accountID: "acct-\(i % 13)", model: "m", outputTokens: 4_000 + i % 7,
                                            maxTokens: 8_000, thinking: i % 13 < 3, messageCount: 1),
                                   to: &bytes, timeEncoding: i % 2 == 0 ? .rfc3339 : .epochMilliseconds)
        }
        let plain = dir.path + "/t.jsonl"
        precondition(FileManager.default.createFile(atPath: plain, contents: Data(bytes)), "cannot create a test file")
        let gz = dir.path + "/t.jsonl.gz"
        let sink = try OutputSink(path: gz)
        try sink.write(bytes)
        try sink.close()
        func scan(_ path: String) throws -> ScanReport {
            var scanner = TrafficScanner()
            var stats = IngestStatistics()
            try TrafficIngest.scanTraffic(from: .file(path), into: &scanner, options: IngestOptions(), statistics: &stats)
            return scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: true)
        }
        let a = try scan(plain)
        #expect(a.input.exchanges == 5_000)
        #expect(try scan(gz) == a)
    }

    @Test func splittingTheInputAcrossFilesDoesNotChangeVerdicts() throws {
        let dir = ScratchDirectory()
        var lines: [[UInt8]] = []
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        for i in 0..<4_000 {
            t = t.adding(seconds: 3)
            var line: [UInt8] = []
            JSONLineEncoder.append(Exchange(time: t, accountID: "acct-\(i % 5)", outputTokens: i % 5 == 0 ? 20_000 : 300,
                                            maxTokens: 4096, temperature: 1, messageCount: 1), to: &line)
            lines.append(line)
        }
        func scan(splitAt cuts: [Int]) throws -> ScanReport {
            var scanner = TrafficScanner()
            var stats = IngestStatistics()
            var start = 0
            for (k, end) in (cuts + [lines.count]).enumerated() {
                let path = dir.path + "/part-\(cuts.count)-\(k).jsonl"
                precondition(FileManager.default.createFile(atPath: path, contents: Data(lines[start..<end].joined())), "cannot create a test file")
                try TrafficIngest.scanTraffic(from: .file(path), into: &scanner, options: IngestOptions(), statistics: &stats)
                start = end
            }
            return scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: true)
        }
        let whole = try scan(splitAt: [])
        #expect(whole.accounts.contains { $0.verdict.isFlagged })
        #expect(try scan(splitAt: [1]) == whole)
        #expect(try scan(splitAt: [999, 1000, 2500]) == whole)
    }

    @Test func accountRecordsFeedTheEngine() throws {
        let dir = ScratchDirectory()
        let accounts = dir.file("accounts.jsonl", """
            {"account_id":"partner","tier":"free","allowlisted":true}
            {"account_id":"bad","tier":7}
            """)
        var scanner = TrafficScanner()
        var stats = IngestStatistics()
        try TrafficIngest.loadAccounts(from: .file(accounts), into: &scanner, options: IngestOptions(), statistics: &stats)
        #expect(stats.accountRecords == 1)
        #expect(stats.malformedLines.first?.description == "\(accounts):2: field \"tier\": should be a string")
        #expect(scanner.engine.record(for: "partner")?.allowlisted == true)
    }
}

@Suite struct DecodingPipelineTests {
    /// 20,000 lines over many batches, with malformed lines sprinkled among them.
    func input(_ dir: ScratchDirectory) -> String {
        var bytes: [UInt8] = []
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        for i in 0..<20_000 {
            t = t.adding(seconds: 2)
            if i % 997 == 5 {
                bytes.append(contentsOf: "{\"time\":\(i),\"account_id\":\n".utf8)
                continue
            }
            JSONLineEncoder.append(Exchange(time: t, accountID: "acct-\(i % 17)", outputTokens: i % 17 == 0 ? 30_000 : 200,
                                            maxTokens: 4096, messageCount: 1), to: &bytes)
        }
        let path = dir.path + "/t.jsonl"
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot create a test file")
        return path
    }

    func scan(_ path: String, parallel: Bool, strict: Bool = false) -> (ScanReport?, IngestStatistics, (any Error)?) {
        var scanner = TrafficScanner()
        var stats = IngestStatistics()
        do {
            try TrafficIngest.scanTraffic(from: .file(path), into: &scanner,
                                          options: IngestOptions(strict: strict, decodeInParallel: parallel), statistics: &stats)
        } catch {
            return (nil, stats, error)
        }
        return (scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: true), stats, nil)
    }

    @Test(.onTheHeavyLane) func parallelDecodingGivesExactlyTheSequentialResult() throws {
        let dir = ScratchDirectory()
        let path = input(dir)
        let (a, statsA, _) = scan(path, parallel: false)
        let (b, statsB, _) = scan(path, parallel: true)
        #expect(statsA.malformedCount == 21)
        #expect(statsA == statsB)
        #expect(a == b)
        #expect(a?.accounts.contains { $0.verdict.isFlagged } == true)
    }

    /// 60,000 lines with prompts: about 30 batches through two sketching workers, so the
    /// reader refills buffers that workers gave back (at most 12 are in flight) and any
    /// byte left over from a batch's previous use would change the result.
    @Test(.onTheHeavyLane) func recycledBuffersGiveExactlyTheSequentialResultWithContent() throws {
        let dir = ScratchDirectory()
        var bytes: [UInt8] = []
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        let words = ["parse", "index", "graph", "think", "step", "by", "score", "rubric", "cache", "tree"]
        for i in 0..<60_000 {
            t = t.adding(seconds: 1)
            let prompt = (0..<(8 + i % 23)).map { words[($0 * 7 + i) % words.count] }.joined(separator: " ")
            var e = Exchange(time: t, accountID: "acct-\(i % 41)", outputTokens: 300, maxTokens: 4096)
            e.prompt = prompt + " \(i)"
            JSONLineEncoder.append(e, to: &bytes)
        }
        let path = dir.path + "/content.jsonl"
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot create a test file")
        let sketcher = ContentSketcher(key: ContentKey(k0: 3, k1: 4))
        func scan(parallel: Bool) throws -> (ScanReport, IngestStatistics) {
            var scanner = TrafficScanner()
            var stats = IngestStatistics()
            try TrafficIngest.scanTraffic(from: .file(path), into: &scanner,
                                          options: IngestOptions(decodeInParallel: parallel, sketcher: sketcher),
                                          statistics: &stats)
            return (scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: true), stats)
        }
        let (a, statsA) = try scan(parallel: false)
        let (b, statsB) = try scan(parallel: true)
        #expect(statsA.exchangeRecords == 60_000)
        #expect(statsA == statsB)
        #expect(a == b)
    }

    /// Records a consumer is done with (`Batch.retired`) are let go by the pipeline (on a
    /// decoding worker, or when it ends): after `run` returns, each record's buffer is
    /// referenced by the test's copy alone. `scanTraffic` retires the scanner's records
    /// through it (the results above are compared with sequential decoding, which does
    /// not) and leaves the scanner as it found it.
    @Test func retiredRecordsAreLetGo() throws {
        let dir = ScratchDirectory()
        let path = input(dir)
        let options = IngestOptions()
        var kept: [Exchange] = []
        _ = try DecodingPipeline.run(source: .file(path), decoder: TrafficLineDecoder(.v1, options: options, gateways: options.gateways)) { batch in
            var records: [Exchange] = []
            for i in batch.exchanges.indices {
                let e = batch.exchanges[i].take()!
                kept.append(e)
                records.append(e)
            }
            batch.retired = [records]
        }
        #expect(kept.count == 20_000 - 21)
        #expect(kept.indices.allSatisfy { isKnownUniquelyReferenced(&kept[$0].storage) })

        var scanner = TrafficScanner()
        var stats = IngestStatistics()
        try TrafficIngest.scanTraffic(from: .file(path), into: &scanner, options: options, statistics: &stats)
        #expect(!scanner.retiresRecords)
        #expect(scanner.takeRetiredRecords().isEmpty)
    }

    @Test func strictStopsAtTheSameLineInBothModes() throws {
        let dir = ScratchDirectory()
        let path = input(dir)
        let (_, statsA, errorA) = scan(path, parallel: false, strict: true)
        let (_, statsB, errorB) = scan(path, parallel: true, strict: true)
        #expect((errorA as? MalformedLine)?.line == 6)
        #expect((errorB as? MalformedLine)?.line == 6)
        #expect(statsA.exchangeRecords == 5)
        #expect(statsB.exchangeRecords == 5)
    }

    /// `--strict` stopping a scan while the reader waits for a free batch slot (more batches
    /// than ``DecodingPipeline/batchesInFlight``): the reader's wait must be given back, or
    /// libdispatch traps when the semaphore is freed below its initial value. CI met the
    /// trap once with a smaller input; this input makes the reader wait every time.
    @Test func strictStopsWhileTheReaderWaitsForASlot() throws {
        let dir = ScratchDirectory()
        var bytes: [UInt8] = []
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        for i in 0..<(DecodingPipeline.batchSize * (DecodingPipeline.batchesInFlight + 8)) {
            t = t.adding(seconds: 1)
            if i == 5 { bytes.append(contentsOf: "not json\n".utf8); continue }
            JSONLineEncoder.append(Exchange(time: t, accountID: "acct-\(i % 5)"), to: &bytes)
        }
        let path = dir.path + "/many.jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        for _ in 0..<5 {
            let (_, stats, error) = scan(path, parallel: true, strict: true)
            #expect((error as? MalformedLine)?.line == 6)
            #expect(stats.exchangeRecords == 5)
        }
    }

    @Test func readErrorsSurfaceAfterTheRecordsBeforeThem() throws {
        let dir = ScratchDirectory()
        let path = input(dir)
        let gz = try dir.gzip("t.jsonl.gz", try String(contentsOfFile: path, encoding: .utf8))
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        let truncated = dir.path + "/truncated.jsonl.gz"
        precondition(FileManager.default.createFile(atPath: truncated, contents: data.prefix(data.count * 2 / 3)), "cannot create a test file")
        for parallel in [false, true] {
            let (_, stats, error) = scan(truncated, parallel: parallel)
            #expect((error as? IngestError)?.message.contains("truncated") == true)
            #expect(stats.exchangeRecords > 1_000)
        }
    }
}
