import ArgumentParser
import DistillWatchCore
import DistillWatchIngest
import Foundation

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distillwatch-bench",
        abstract: "Throughput and memory figures for DistillWatch (figures, not pass/fail).",
        subcommands: [Generate.self, Scan.self, Decoders.self, Readers.self, State.self, Sketches.self]
    )
}

/// A memory figure of this process from /proc/self/status (`VmHWM`: peak resident set,
/// `VmRSS`: current), in bytes.
func processMemory(_ field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

func peakResidentBytes() -> Int { processMemory("VmHWM") }
func currentResidentBytes() -> Int { processMemory("VmRSS") }

/// User and system CPU seconds of the whole process so far (all threads).
func processCPUSeconds() -> (user: Double, system: Double) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }


struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic traffic file for benchmarks: realistic field mix, ~500 bytes of prompt per record.")

    @Option var exchanges = 1_000_000
    @Option var accounts = 20_000
    @Option var promptBytes = 500
    @Option var seed: UInt64 = 1
    @Option(help: "Output path (.gz to compress).") var out: String

    func run() throws {
        var rng = SplitMix64(seed: seed)
        let words = """
            explain function return value error type class module test refactor python swift rust query database index \
            optimise latency memory cache thread async await network request response parse json schema migrate deploy \
            container cluster kubernetes metric log trace debug assert proof lemma theorem integral matrix vector graph \
            shortest path dynamic programming recursion iterate closure generic protocol interface inherit compose step \
            reasoning carefully because therefore however consider example input output edge case complexity analysis
            """.split(separator: " ").map(String.init)
        let models = ["frontier-large", "frontier-medium", "frontier-small"]
        let agents = ["python-sdk/1.40.0", "node-sdk/4.2.1", "curl/8.5.0", "go-client/0.9", "java-sdk/2.1.3"]
        let sink = try OutputSink(path: out)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8 << 20)
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        // About two days of traffic.
        let step = 172_800_000 / Int64(max(1, exchanges))
        var prompt = ""
        for i in 0..<exchanges {
            t = t.adding(milliseconds: Int64.random(in: 0...(2 * step), using: &rng))
            // Skewed account popularity: squares of uniforms favour low ids.
            let u = Double.random(in: 0..<1, using: &rng)
            let account = Int(u * u * Double(accounts))
            prompt.removeAll(keepingCapacity: true)
            while prompt.utf8.count < promptBytes {
                prompt += words[Int.random(in: 0..<words.count, using: &rng)]
                prompt += " "
            }
            // Up to two minutes of disorder, as merged gateway logs have.
            let jitter = Int64.random(in: -120_000...0, using: &rng)
            let e = Exchange(
                time: t.adding(milliseconds: jitter), accountID: String(format: "acct-%06d", account),
                requestID: "req-\(i)", apiKeyID: "key-\(account % 997)", model: models[account % 3], operation: "chat",
                inputTokens: Int.random(in: 50...4000, using: &rng), outputTokens: Int.random(in: 10...8000, using: &rng),
                maxTokens: [1024, 4096, 8192, 32000][account % 4], temperature: [0, 0.2, 0.7, 1][account % 4],
                stream: i % 2 == 0, thinking: account % 5 == 0, toolCount: account % 7 == 0 ? 3 : 0,
                messageCount: 1 + (i % 9), finishReason: "end_turn", status: i % 97 == 0 ? 429 : 200,
                latencyMilliseconds: Double(Int.random(in: 200...20_000, using: &rng)),
                clientIP: "198.51.\(account % 256).\(account / 256 % 256)", asn: 64_500 + account % 300, country: "US",
                userAgent: agents[account % agents.count], prompt: prompt)
            JSONLineEncoder.append(e, to: &buffer, timeEncoding: i % 10 == 0 ? .epochMilliseconds : .rfc3339)
            if buffer.count >= 4 << 20 {
                try sink.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try sink.write(buffer)
        try sink.close()
        print("wrote \(exchanges) exchanges from up to \(accounts) accounts to \(out)")
    }
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan a traffic file through ingest and the behaviour engine; print exchanges/s and memory.")

    @Argument var file: String
    @Option(help: "Repeat the scan this many times and report each run.") var runs = 1
    @Flag(help: "Sketch prompts and compute content signals.") var content = false
    @Flag(help: "Decode on the calling thread only.") var sequential = false
    @Flag(help: "Turn campaign linkage off (accounts judged alone), to measure its cost.") var noCampaigns = false

    func run() throws {
        let size = InputSource.file(file).fileSize ?? 0
        let sketcher = content ? ContentSketcher(key: ContentKey(k0: 1, k1: 2)) : nil
        print("content signals \(content ? "on" : "off"), decoding \(sequential ? "sequential" : "on a second thread")")
        for run in 1...runs {
            let baseline = currentResidentBytes()
            let start = Date()
            let cpuStart = processCPUSeconds()
            var policy = Policy.default
            policy.campaigns.enabled = !noCampaigns
            var scanner = TrafficScanner(policy: policy)
            var statistics = IngestStatistics()
            try TrafficIngest.scanTraffic(from: .file(file), into: &scanner,
                                          options: IngestOptions(decodeInParallel: !sequential, sketcher: sketcher),
                                          statistics: &statistics)
            let report = scanner.finish(generatedAt: Timestamp(millisecondsSinceEpoch: 0))
            let seconds = Date().timeIntervalSince(start)
            let cpu = processCPUSeconds()
            let accounts = scanner.engine.accountsKnown
            let growth = currentResidentBytes() - baseline
            print("run \(run): \(statistics.exchangeRecords) exchanges, \(accounts) accounts, "
                + "\(report.accounts.count) flagged, \(statistics.malformedCount) malformed")
            print(String(format: "  time %.2f s  throughput %.0f exchanges/s  %.0f MB/s",
                         seconds, Double(statistics.exchangeRecords) / seconds, Double(size) / seconds / 1e6))
            // CPU time over all threads: less sensitive than wall time to what else runs.
            print(String(format: "  CPU user %.2f s  system %.2f s  %.2f µs/exchange over all threads",
                         cpu.user - cpuStart.user, cpu.system - cpuStart.system,
                         (cpu.user + cpu.system - cpuStart.user - cpuStart.system) * 1e6
                             / Double(max(1, statistics.exchangeRecords))))
            print("  peak RSS \(megabytes(peakResidentBytes()))  RSS growth \(megabytes(growth)) "
                + "(\(accounts > 0 ? growth / accounts : 0) bytes/account incl. buffers)  "
                + "engine state \(DetectionEngine.approximateBytesPerAccount) bytes/account (layout)")
        }
    }
}

/// The v1 exchange record as Foundation's `JSONDecoder` would decode it: the baseline the
/// issue asked to measure before writing a focused decoder.
struct CodableExchange: Decodable {
    enum Time: Decodable {
        case text(String)
        case millis(Int64)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let ms = try? c.decode(Int64.self) { self = .millis(ms) } else { self = .text(try c.decode(String.self)) }
        }
    }
    var time: Time
    var account_id: String
    var request_id: String?
    var api_key_id: String?
    var model: String?
    var operation: String?
    var input_tokens: Int?
    var output_tokens: Int?
    var reasoning_tokens: Int?
    var max_tokens: Int?
    var temperature: Double?
    var stream: Bool?
    var thinking: Bool?
    var tool_count: Int?
    var message_count: Int?
    var finish_reason: String?
    var status: Int?
    var latency_ms: Double?
    var client_ip: String?
    var asn: Int?
    var country: String?
    var user_agent: String?
    var client_fingerprint: String?
    var system: String?
    var prompt: String?
    var response: String?
}

struct Decoders: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode the first N lines of a plain traffic file with Foundation's JSONDecoder and with DistillWatch's decoder.")

    @Argument var file: String
    @Option var lines = 200_000

    func run() throws {
        var reader = LineReader(.file(file))
        var sample: [[UInt8]] = []
        struct Enough: Error {}
        do {
            try reader.forEachLine { _, bytes in
                sample.append(Array(bytes))
                if sample.count >= lines { throw Enough() }
            }
        } catch is Enough {}
        let bytes = sample.reduce(0) { $0 + $1.count }
        print("sample: \(sample.count) lines, \(bytes / max(1, sample.count)) bytes/line")

        let jsonDecoder = JSONDecoder()
        var start = Date()
        var n = 0
        for line in sample {
            if (try? jsonDecoder.decode(CodableExchange.self, from: Data(line))) != nil { n += 1 }
        }
        let foundation = Date().timeIntervalSince(start)
        print(String(format: "Foundation JSONDecoder:            %9.0f records/s (%d decoded)", Double(sample.count) / foundation, n))

        for capture in [false, true] {
            let decoder = ExchangeLineDecoder(captureText: capture)
            start = Date()
            n = 0
            for line in sample {
                if (try? line.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(b) }) != nil { n += 1 }
            }
            let focused = Date().timeIntervalSince(start)
            print(String(format: "ExchangeLineDecoder (text %@): %9.0f records/s (%d decoded), %.1fx Foundation",
                         capture ? "kept   " : "skipped", Double(sample.count) / focused, n, foundation / focused))
        }
    }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure engine memory per account: RSS growth while N accounts (with records, addresses and user agents) each send a day of traffic.")

    @Option var accounts = 100_000
    @Option var exchangesPerAccount = 20

    func run() throws {
        let baseline = currentResidentBytes()
        var engine = DetectionEngine()
        var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
        let ids = (0..<accounts).map { String(format: "acct-%06d", $0) }
        let idBytes = currentResidentBytes() - baseline
        // Each account: its own card and home address, one of 200 user agents, opened on
        // one of 900 days: the linkage keys an ordinary population creates.
        for (k, id) in ids.enumerated() {
            engine.register(AccountRecord(accountID: id, created: t.adding(seconds: -Double(k % 900) * 86_400),
                                          tier: "standard", paymentFingerprint: "pf-\(k)", emailDomain: "gmail.com"))
        }
        for round in 0..<exchangesPerAccount {
            for (k, id) in ids.enumerated() {
                t = t.adding(milliseconds: 3)
                var e = Exchange(time: t, accountID: id, model: "m", outputTokens: 700, maxTokens: 4096,
                                 temperature: 0.5, thinking: round % 2 == 0, toolCount: 0, messageCount: 1, status: 200)
                e.clientIP = "81.\(k >> 16 & 255).\(k >> 8 & 255).\(k & 255)"
                e.asn = 3_000 + k % 500
                e.country = "DE"
                e.userAgent = "client/\(k % 200)"
                engine.observe(e)
            }
        }
        let growth = currentResidentBytes() - baseline - idBytes
        print("\(accounts) accounts x \(exchangesPerAccount) exchanges: engine RSS growth \(megabytes(growth)), "
            + "\(growth / accounts) bytes/account (layout estimate \(DetectionEngine.approximateBytesPerAccount))")
        precondition(engine.accountsKnown == accounts)
    }
}

struct Sketches: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sketch prompts (one JSON string per line); print sketching speed and write the Jaccard estimate of each consecutive pair.")

    @Argument(help: "Prompts, one JSON string per line.") var prompts: String
    @Option(help: "Write one estimate per pair (lines 1-2, 3-4, ...) to this file.") var estimates: String
    @Option(help: "Sketch all prompts this many times for timing.") var repeats = 5

    func run() throws {
        var texts: [String] = []
        var reader = LineReader(.file(prompts))
        try reader.forEachLine { _, bytes in
            if let s = try? JSONDecoder().decode(String.self, from: Data(bytes)) { texts.append(s) }
        }
        let sketcher = ContentSketcher(key: ContentKey(k0: 1, k1: 2))
        var signatures: [MinHashSignature] = []
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = Date()
            signatures = texts.map { sketcher.features(prompt: $0).signature }
            best = min(best, Date().timeIntervalSince(start))
        }
        print(String(format: "DistillWatch: %d prompts sketched in %.3f s (best of %d): %.0f prompts/s",
                     texts.count, best, repeats, Double(texts.count) / best))
        var out = ""
        for i in stride(from: 0, to: signatures.count - 1, by: 2) {
            out += "\(signatures[i].jaccard(signatures[i + 1]))\n"
        }
        try out.write(toFile: estimates, atomically: true, encoding: .utf8)
    }
}

/// Every traffic reader on the same exchanges, side by side in one run: the real
/// OpenTelemetry SDK's captures (protobuf bodies and JSON file) and the v1 traffic they were
/// made from, plus Helicone and OpenAI Batch lines written from those exchanges.
struct Readers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exchanges/s of each input reader (v1, OTLP JSON, OTLP protobuf, Helicone, OpenAI Batch) on the same traffic, rounds interleaved.")

    @Option(help: "The SDK capture folder (Tests/Fixtures/gateway/otlp/python-sdk-1.45.2).")
    var fixtures = "../Tests/Fixtures/gateway/otlp/python-sdk-1.45.2"
    @Option(help: "Rounds per reader; the median round is reported.")
    var rounds = 15

    func run() throws {
        func lines(_ path: String) throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            var reader = LineReader(.file(path))
            try reader.forEachLine { _, bytes in out.append(Array(bytes)) }
            return out
        }
        let v1Lines = try lines(fixtures + "/source-v1.jsonl.gz")
        let otlpLines = try lines(fixtures + "/json-file-exporter-0.66b1.jsonl.gz")
        let folder = fixtures + "/proto-http-exporter-1.45.2"
        let bodies = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".bin") }.sorted().map { name in
            let sent = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
            return try sent.withUnsafeBytes { raw in try GzipBody.inflate(raw, limit: 1 << 28) }
        }
        let decoder = ExchangeLineDecoder(captureText: true)
        let exchanges = v1Lines.compactMap { line in try? line.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(b) } }
        let helicone = exchanges.map(Self.heliconeLine)
        let batch = exchanges.map(Self.batchOutputLine)
        print("traffic: \(exchanges.count) exchanges; v1 \(v1Lines.reduce(0) { $0 + $1.count } / 1024) KiB, OTLP/JSON \(otlpLines.reduce(0) { $0 + $1.count } / 1024) KiB, "
              + "OTLP/protobuf \(bodies.reduce(0) { $0 + $1.count } / 1024) KiB (inflated), Helicone \(helicone.reduce(0) { $0 + $1.count } / 1024) KiB, "
              + "OpenAI Batch \(batch.reduce(0) { $0 + $1.count } / 1024) KiB; content sketches off, text kept")

        let otlp = TrafficLineDecoder(.otlp, options: IngestOptions(captureText: true))
        let protobufReader = OTLPTraceReader(decoder: decoder)
        let heliconeReader = HeliconeExportReader(decoder: decoder)
        let batchReader = OpenAIBatchReader(accountID: "acct-batch", batchID: "batch-bench", decoder: decoder)
        let readers: [(String, () -> Int)] = [
            ("v1", { var n = 0; for l in v1Lines { if (try? l.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(b) }) != nil { n += 1 } }; return n }),
            ("otlp (JSON file lines)", {
                var n = 0
                for l in otlpLines { l.withUnsafeBufferPointer { otlp.decode($0, exchange: { _ in n += 1 }, malformed: { _ in }) } }
                return n
            }),
            ("  of which decoding only", {
                var n = 0
                for l in otlpLines {
                    if let request = try? l.withUnsafeBytes({ raw in try OTLPTraceReader.request(from: raw, encoding: .json) }) {
                        n += request.resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } } / 2
                    }
                }
                return n
            }),
            ("otlp (protobuf bodies)", {
                var n = 0
                for body in bodies {
                    guard let request = try? body.withUnsafeBytes({ raw in try OTLPTraceReader.request(from: raw, encoding: .protobuf) }) else { continue }
                    protobufReader.forEachSpan(in: request, encoding: .protobuf) { _, r in if case .success = r { n += 1 } }
                }
                return n
            }),
            // swift-protobuf's part alone: the requests decoded, no span mapped.
            ("  of which decoding only", {
                var n = 0
                for body in bodies {
                    if let request = try? body.withUnsafeBytes({ raw in try OTLPTraceReader.request(from: raw, encoding: .protobuf) }) {
                        n += request.resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } } / 2
                    }
                }
                return n
            }),
            ("helicone", { var n = 0; for l in helicone { if (try? l.withUnsafeBufferPointer { (b) throws(RecordError) in try heliconeReader.decode(b) }) != nil { n += 1 } }; return n }),
            ("openai-batch", { var n = 0; for l in batch { if (try? l.withUnsafeBufferPointer { (b) throws(RecordError) in try batchReader.decode(b) }) != nil { n += 1 } }; return n }),
        ]
        var seconds = Array(repeating: [Double](), count: readers.count)
        var counts = Array(repeating: 0, count: readers.count)
        for _ in 0..<rounds {
            for (k, reader) in readers.enumerated() {
                let before = processCPUSeconds()
                counts[k] = reader.1()
                let after = processCPUSeconds()
                seconds[k].append(after.user + after.system - before.user - before.system)
            }
        }
        let medians = seconds.map { $0.sorted()[$0.count / 2] }
        print("reader                      exchanges   exchanges/s   CPU time per exchange vs v1   (median of \(rounds) rounds)")
        for (k, reader) in readers.enumerated() {
            let rate = Double(counts[k]) / max(medians[k], 1e-9)
            let name = reader.0.padding(toLength: 26, withPad: " ", startingAt: 0)
            print(name + String(format: " %10d  %12.0f   %6.2fx", counts[k], rate, (Double(counts[0]) / max(medians[0], 1e-9)) / rate))
        }
    }

    /// The exchange as a line of a Helicone export.
    static func heliconeLine(_ e: Exchange) -> [UInt8] {
        var o: [UInt8] = Array("{\"request_created_at\":\"\(e.time)\",\"request_user_id\":".utf8)
        JSONLineEncoder.appendString(e.accountID, to: &o)
        o += Array(",\"request_id\":".utf8); JSONLineEncoder.appendString(e.requestID ?? "r", to: &o)
        o += Array(",\"request_model\":".utf8); JSONLineEncoder.appendString(e.model ?? "m", to: &o)
        o += Array(",\"prompt_tokens\":\(e.inputTokens ?? 0),\"completion_tokens\":\(e.outputTokens ?? 0),\"delay_ms\":\(e.latencyMilliseconds ?? 0),\"response_status\":\(e.status ?? 200),\"request_body\":{\"max_tokens\":\(e.maxTokens ?? 1024),\"messages\":[{\"role\":\"user\",\"content\":".utf8)
        JSONLineEncoder.appendString(e.prompt ?? "", to: &o)
        o += Array("}]}}".utf8)
        return o
    }

    /// The exchange as a line of an OpenAI Batch output file.
    static func batchOutputLine(_ e: Exchange) -> [UInt8] {
        var o: [UInt8] = Array("{\"id\":\"batch_req_1\",\"custom_id\":".utf8)
        JSONLineEncoder.appendString(e.requestID ?? "c", to: &o)
        o += Array(",\"response\":{\"status_code\":\(e.status ?? 200),\"request_id\":".utf8)
        JSONLineEncoder.appendString(e.requestID ?? "r", to: &o)
        o += Array(",\"body\":{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":\(e.time.millisecondsSinceEpoch / 1000),\"model\":".utf8)
        JSONLineEncoder.appendString(e.model ?? "m", to: &o)
        o += Array(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":\(e.inputTokens ?? 0),\"completion_tokens\":\(e.outputTokens ?? 0),\"total_tokens\":1}}},\"error\":null}".utf8)
        return o
    }
}
