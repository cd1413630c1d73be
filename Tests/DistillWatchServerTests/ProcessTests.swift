import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// The built `distillwatch` binary, next to the test bundle in the build folder.
func distillwatchBinary() throws -> URL {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = here.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("distillwatch")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "distillwatch binary near \(here.path)"])
}

/// The content-key home of every binary these tests start: `serve` and `scan` share one
/// key (so their verdicts are comparable) and never touch the user's own.
let processTestHome = NSTemporaryDirectory() + "distillwatch-server-home-" + UUID().uuidString

/// `distillwatch serve` as a child process on a free loopback port.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let output = Pipe()

    init(database: String, toleranceSeconds: Int = 300, extra: [String] = []) throws {
        process.executableURL = try distillwatchBinary()
        process.arguments = ["serve", "--port", "0", "--database", database,
                             "--reorder-tolerance-seconds", "\(toleranceSeconds)", "--log-level", "warning"] + extra
        var environment = ProcessInfo.processInfo.environment
        environment["DISTILLWATCH_TOKENS"] = "pipeline:ingest:\(Secret.ingest) gateway:decide:\(Secret.decide) alice:analyst:\(Secret.analyst)"
        environment["DISTILLWATCH_HOME"] = processTestHome
        process.environment = environment
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for "distillwatch: listening on http://127.0.0.1:PORT".
        var seen = ""
        let handle = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        var port: Int?
        while port == nil, Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: "listening on http://127.0.0.1:"),
               let end = seen[range.upperBound...].firstIndex(of: "\n") {
                port = Int(seen[range.upperBound..<end])
            }
        }
        guard let port else {
            process.terminate()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "server did not start: \(seen)"])
        }
        self.port = port
    }

    func kill(_ signal: Int32) -> Int32 {
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { _ = kill(SIGKILL) }
    }
}

/// A value shared between the test and its tasks.
final class Shared<T: Sendable>: Sendable {
    private let storage: Mutex<T>
    init(_ value: T) { storage = Mutex(value) }
    var value: T {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// An answer from the child process.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var body: ByteBuffer

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }
}

extension TestClient {
    func send(_ method: HTTPRequest.Method, _ uri: String, _ token: String, _ body: String = "") async throws -> Reply {
        let r = try await execute(.init(uri, method: method, headers: [.authorization: "Bearer \(token)"],
                                        body: body.isEmpty ? nil : ByteBuffer(string: body)))
        return Reply(status: r.status, body: r.body ?? ByteBuffer())
    }
}

/// Tests that run the real binary: a hard kill loses nothing that was acknowledged, and a
/// restarted server gives the same verdicts as one that never stopped and as `scan`.
@Suite(.serialized) struct ProcessTests {
    @Test func killMinus9LosesNothingAcceptedAndTheRestartedServerAgreesWithScan() async throws {
        let dir = ScratchDirectory()
        let database = dir.path + "/state.sqlite"
        let lines = sampleLines(count: 3000, jitterSeconds: 240, seed: 23)
        let batchSize = 50

        // 1. Post batches until the server is killed in the middle of the stream.
        let first = try ServerProcess(database: database)
        let acknowledged = Shared(0)
        let killed = Shared(false)
        let poster = Task {
            try await TestClient.withClient(host: "127.0.0.1", port: first.port) { client in
                let accounts = try await client.send(.post, "/v1/accounts", Secret.ingest, sampleAccountLines.joined(separator: "\n"))
                #expect(accounts.status == .ok)
                var start = 0
                while start < lines.count {
                    let end = min(lines.count, start + batchSize)
                    let r: Reply
                    do {
                        r = try await client.send(.post, "/v1/exchanges", Secret.ingest, lines[start..<end].joined(separator: "\n"))
                    } catch {
                        let wasKilled = killed.value
                        #expect(wasKilled, "request failed before the kill: \(error)")
                        return
                    }
                    guard r.status == .ok else { return }
                    acknowledged.value = end
                    start = end
                }
            }
        }
        while acknowledged.value < 1000 { try await Task.sleep(for: .milliseconds(1)) }
        killed.value = true
        let status = first.kill(SIGKILL)
        #expect(first.process.terminationReason == .uncaughtSignal && status == SIGKILL)
        _ = try? await poster.value
        let acked = acknowledged.value
        #expect(acked >= 1000 && acked < lines.count, "the kill should land mid-stream (acknowledged \(acked))")

        // 2. Restart on the same database: every acknowledged record is there.
        let second = try ServerProcess(database: database)
        try await TestClient.withClient(host: "127.0.0.1", port: second.port) { client in
            let status = try await client.send(.get, "/v1/status", Secret.analyst).json
            let log = status["log"] as? [String: Any] ?? [:]
            let stored = (log["by_kind"] as? [String: Any])?["exchange"] as? Int ?? 0
            // A batch is one transaction: the one in flight at the kill is wholly there or not.
            #expect(stored == acked || stored == acked + batchSize, "stored \(stored), acknowledged \(acked)")
            print("kill -9 after \(acked) acknowledged exchanges; \(stored) in the log after restart")
            #expect((log["by_kind"] as? [String: Any])?["account"] as? Int == 2)

            // 3. Same verdicts as a server that never stopped (no flush: the reorder buffer
            // is rebuilt too).
            var reference = TrafficScanner(policy: .default, toleranceMilliseconds: 300_000)
            for line in sampleAccountLines { reference.register(try AccountLineDecoder().decode(line)) }
            for line in lines[..<stored] { reference.observe(try ExchangeLineDecoder().decode(line)) }
            let engineStatus = status["engine"] as? [String: Any] ?? [:]
            #expect(engineStatus["buffered_exchanges"] as? Int == reference.buffer.count)
            #expect(engineStatus["observed_exchanges"] as? Int == reference.engine.exchangesObserved)
            var flagged = 0
            for account in ["acct-harvester"] + (0..<11).map({ "acct-\($0)" }) {
                let expected = reference.engine.decision(for: account)
                let got = try await client.send(.post, "/v1/decide", Secret.decide, #"{"account_id":"\#(account)"}"#).json
                #expect(got["verdict"] as? String == expected.verdict.rawValue, "\(account)")
                #expect(got["score"] as? Double == (expected.score * 10_000).rounded() / 10_000, "\(account)")
                if expected.verdict.isFlagged { flagged += 1 }
            }
            #expect(flagged >= 1)

            // 4. Feed the rest, flush: the report is `scan`'s for the whole file.
            var start = stored
            while start < lines.count {
                let end = min(lines.count, start + 500)
                let r = try await client.send(.post, "/v1/exchanges", Secret.ingest, lines[start..<end].joined(separator: "\n"))
                #expect(r.status == .ok)
                start = end
            }
            #expect(try await client.send(.post, "/v1/flush", Secret.analyst).status == .ok)
            let served = try await client.send(.get, "/v1/report?all=true", Secret.analyst).decode(ScanReport.self)

            let traffic = dir.path + "/traffic.jsonl"
            let accounts = dir.path + "/accounts.jsonl"
            let reportPath = dir.path + "/report.json"
            let created1 = FileManager.default.createFile(atPath: traffic, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
            #expect(created1)
            let created2 = FileManager.default.createFile(atPath: accounts, contents: Data((sampleAccountLines.joined(separator: "\n") + "\n").utf8))
            #expect(created2)
            let scan = Process()
            scan.executableURL = try distillwatchBinary()
            scan.arguments = ["scan", traffic, "--accounts", accounts, "--all", "--quiet", "--json", reportPath]
            var environment = ProcessInfo.processInfo.environment
            environment["DISTILLWATCH_HOME"] = processTestHome
            scan.environment = environment
            try scan.run()
            scan.waitUntilExit()
            #expect(scan.terminationStatus == 0)
            let scanned = try JSONDecoder().decode(ScanReport.self, from: Data(contentsOf: URL(fileURLWithPath: reportPath)))
            #expect(served.accounts == scanned.accounts)
            #expect(served.campaigns == scanned.campaigns)
            #expect(served.input.exchanges == scanned.input.exchanges)
        }

        // 5. SIGTERM shuts down cleanly.
        #expect(second.kill(SIGTERM) == 0)
        #expect(second.process.terminationReason == .exit)
    }

    /// Three clients post at once, so several transactions are in flight at the kill; the
    /// log is read directly afterwards: every acknowledged batch is in it whole, no batch is
    /// in it in part, and the restarted server agrees with a scanner fed the log in order.
    @Test func killMinus9WithConcurrentClientsKeepsEveryAcknowledgedBatchWhole() async throws {
        let dir = ScratchDirectory()
        let database = dir.path + "/state.sqlite"
        let lines = sampleLines(count: 3000, seed: 29)
        let batchSize = 50
        let batches = stride(from: 0, to: lines.count, by: batchSize).map { Array(lines[$0..<min(lines.count, $0 + batchSize)]) }
        let server = try ServerProcess(database: database, toleranceSeconds: 0)
        let acknowledged = Shared(Set<Int>())
        let posters = (0..<3).map { k in
            Task {
                try await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
                    for i in stride(from: k, to: batches.count, by: 3) {
                        guard let r = try? await client.send(.post, "/v1/exchanges", Secret.ingest, batches[i].joined(separator: "\n")),
                              r.status == .ok else { return }
                        acknowledged.value.insert(i)
                    }
                }
            }
        }
        while acknowledged.value.count < 20 { try await Task.sleep(for: .milliseconds(1)) }
        _ = server.kill(SIGKILL)
        for poster in posters { _ = try? await poster.value }
        let acked = acknowledged.value
        #expect(acked.count < batches.count, "the kill should land mid-stream")

        // Read the log as the dead server left it.
        let store = try SQLiteEventStore(path: database)
        let events = try await store.events(after: 0, limit: 1_000_000)
        try await store.close()
        let logged = events.map { String(decoding: $0.payload, as: UTF8.self) }
        let present = Set(logged)
        // The log keeps each exchange in its stored form (decoded and re-encoded), not as sent.
        func storedForm(_ line: String) throws -> String {
            var out: [UInt8] = []
            JSONLineEncoder.appendWithoutText(try ExchangeLineDecoder().decode(line), to: &out)
            return String(decoding: out.dropLast(), as: UTF8.self)
        }
        for (i, batch) in batches.enumerated() {
            let inLog = try batch.map(storedForm).filter(present.contains).count
            if acked.contains(i) { #expect(inLog == batch.count, "acknowledged batch \(i) has \(inLog) of \(batch.count) lines") }
            #expect(inLog == 0 || inLog == batch.count, "batch \(i) is in the log in part: \(inLog) lines")
        }
        print("concurrent kill -9: \(acked.count) batches acknowledged, \(logged.count / batchSize) in the log")

        // The restarted server gives the verdicts of a scanner fed the log in order.
        var reference = TrafficScanner(policy: .default, toleranceMilliseconds: 0)
        for line in logged { reference.observe(try ExchangeLineDecoder().decode(line)) }
        let engine = reference.engine
        let restarted = try ServerProcess(database: database, toleranceSeconds: 0)
        try await TestClient.withClient(host: "127.0.0.1", port: restarted.port) { client in
            for account in ["acct-harvester"] + (0..<11).map({ "acct-\($0)" }) {
                let expected = engine.decision(for: account)
                let got = try await client.send(.post, "/v1/decide", Secret.decide, #"{"account_id":"\#(account)"}"#).json
                #expect(got["verdict"] as? String == expected.verdict.rawValue, "\(account)")
                #expect(got["score"] as? Double == (expected.score * 10_000).rounded() / 10_000, "\(account)")
            }
        }
        #expect(restarted.kill(SIGTERM) == 0)
    }

    @Test func aBadConfigurationIsAClearErrorNotACrash() throws {
        let process = Process()
        process.executableURL = try distillwatchBinary()
        process.arguments = ["serve", "--database", ":memory:"]
        process.environment = [:]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(message.contains("no access token configured"), "\(message)")
    }
}
