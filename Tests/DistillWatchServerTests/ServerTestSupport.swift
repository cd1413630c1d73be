import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation
import HTTPTypes
import Hummingbird
// `TestResponse`'s initializer is internal: the live client below builds one as `.live` does.
@testable import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Testing
@testable import DistillWatchServer

/// Every test body runs against the router in-process and over a live socket.
enum Mode: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case router, live
    var testDescription: String { rawValue }
}

enum Secret {
    static let ingest = "ingest-secret-0000000000000001"
    static let decide = "decide-secret-0000000000000002"
    static let analyst = "analyst-secret-000000000000003"
    static let all = "all-roles-secret-0000000000004"
    static let registrar = "registrar-secret-0000000000005"
    static let exempt = "exempt-only-secret-00000000006"
    static let shareRead = "share-read-secret-00000000007"
    static let shareWrite = "share-write-secret-0000000008"
}

func testConfiguration(toleranceSeconds: Double = 0) -> ServerConfiguration {
    var c = ServerConfiguration()
    c.database = ":memory:"
    c.reorderToleranceSeconds = toleranceSeconds
    c.tokens = [
        AccessToken(name: "pipeline", secret: Secret.ingest, roles: [.ingest]),
        AccessToken(name: "gateway", secret: Secret.decide, roles: [.decide]),
        AccessToken(name: "alice", secret: Secret.analyst, roles: [.analyst]),
        AccessToken(name: "ops", secret: Secret.all, roles: Set(Role.allCases)),
        AccessToken(name: "registrar", secret: Secret.registrar, roles: [.ingest, .exempt]),
        AccessToken(name: "exemptor", secret: Secret.exempt, roles: [.exempt]),
        AccessToken(name: "partner-reader", secret: Secret.shareRead, roles: [.shareRead]),
        AccessToken(name: "partner-writer", secret: Secret.shareWrite, roles: [.shareWrite]),
    ]
    c.maxIngestBodyBytes = 4 << 20
    c.maxRequestBodyBytes = 16 << 10
    return c
}

let quietLogger: Logger = {
    var l = Logger(label: "distillwatch-test")
    l.logLevel = .warning
    return l
}()

let testStart = Timestamp(rfc3339: "2026-11-23T00:00:00Z")!

/// Builds the application on `store` (in memory by default) and runs `body` against it.
func withServer<T: Sendable>(
    _ mode: Mode, _ configuration: ServerConfiguration = testConfiguration(),
    store: (any EventStore)? = nil,
    _ body: @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    let (clock, _) = WallClock.manual(testStart)
    // Without a store, the configuration's database is opened (a fresh memory store by default).
    guard mode == .live else {
        let app = try await buildApplication(configuration, store: store, clock: clock, logger: quietLogger)
        return try await app.test(.router, body)
    }
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let app = try await buildApplication(configuration, store: store, clock: clock, logger: quietLogger) { port in
        portSink.yield(port)
        portSink.finish()
    }
    return try await LiveServerClient.run(app, ports: (ports, portSink), body)
}

/// A live socket to the server under test: what HummingbirdTesting's `.live` set-up does, but
/// with a client that waits ``readTimeout`` for an answer instead of its fixed 20 s.
///
/// Every suite runs its servers side by side on a two-core machine that other jobs share;
/// in a slow hour a request to an idle server went unanswered for more than 20 s while the
/// process computed elsewhere, and a dozen suites failed at once for a reason that was not
/// theirs. A server that never answers still fails the test, after ``readTimeout``.
struct LiveServerClient: TestClientProtocol {
    /// Longest wait for any read on the connection (HummingbirdTesting's `TestClient`).
    static let readTimeout: Duration = .seconds(180)

    let client: TestClient
    let port: Int?

    func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws -> TestResponse {
        var headers = headers
        headers[.connection] = "keep-alive"
        let response = try await client.execute(
            TestClient.Request(uri, method: method, authority: "localhost", headers: headers, body: body))
        return TestResponse(head: response.head, body: response.body ?? ByteBuffer(), trailerHeaders: response.trailerHeaders)
    }

    /// Runs `app` in a service group, calls `body` with a client connected to the port the
    /// server reports on `ports`, then shuts the client and the server down (also when `body`
    /// throws). A server that stops before it listens ends `ports` and its error is thrown.
    static func run<T: Sendable>(
        _ app: DistillWatchApplication, ports: (stream: AsyncStream<Int>, sink: AsyncStream<Int>.Continuation),
        _ body: @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let services = ServiceGroup(configuration: .init(services: [app], logger: quietLogger))
            group.addTask {
                defer { ports.sink.finish() }
                try await services.run()
            }
            var iterator = ports.stream.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await group.waitForAll()
                throw LiveServerError.stoppedBeforeListening
            }
            let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: readTimeout))
            client.connect()
            do {
                let value = try await body(LiveServerClient(client: client, port: port))
                try await client.shutdown()
                await services.triggerGracefulShutdown()
                return value
            } catch {
                try? await client.shutdown()
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }
}

/// Why ``LiveServerClient/run(_:ports:_:)`` had no server to connect to.
enum LiveServerError: Error {
    /// The service group ended (its error, if any, is thrown instead) before the server listened.
    case stoppedBeforeListening
}

extension TestClientProtocol {
    func post(_ uri: String, _ token: String?, _ body: String, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func post(_ uri: String, _ token: String?, bytes: [UInt8]) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    func get(_ uri: String, _ token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var errorMessage: String {
        ((json["error"] as? [String: Any])?["message"] as? String) ?? ""
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: body))
    }
}

// MARK: Traffic

/// Seeded generator (Core's SplitMix64), so shuffles are repeatable.
typealias SeededGenerator = SplitMix64

/// A free-tier harvester (`acct-harvester`: long single-turn answers, thinking on, max
/// tokens pinned, every 9 s) among eleven ordinary accounts, as NDJSON lines. With
/// `jitterSeconds`, the lines come up to that much out of time order (as from several
/// gateway nodes); both time encodings are used.
func sampleLines(count: Int = 3000, jitterSeconds: Double = 0, seed: UInt64 = 7) -> [String] {
    var rng = SeededGenerator(seed: seed)
    var t = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
    var items: [(sortKey: Double, line: String)] = []
    for i in 0..<count {
        t = t.adding(seconds: 9)
        let harvester = i % 3 == 0
        var bytes: [UInt8] = []
        JSONLineEncoder.append(Exchange(
            time: t, accountID: harvester ? "acct-harvester" : "acct-\(i % 11)", requestID: "r\(i)", model: "m-large",
            outputTokens: harvester ? 12_000 : 300, maxTokens: harvester ? 32_000 : 1024, temperature: harvester ? 1 : 0.5,
            thinking: harvester, messageCount: harvester ? 1 : 4), to: &bytes, timeEncoding: i % 2 == 0 ? .rfc3339 : .epochMilliseconds)
        let line = String(decoding: bytes.dropLast(), as: UTF8.self)
        let emitted = Double(t.millisecondsSinceEpoch) / 1000 + (jitterSeconds > 0 ? Double.random(in: 0..<jitterSeconds, using: &rng) : 0)
        items.append((emitted, line))
    }
    return items.sorted { $0.sortKey < $1.sortKey }.map(\.line)
}

let sampleAccountLines = [
    #"{"account_id":"acct-harvester","tier":"free","created":"2026-03-30T00:00:00Z"}"#,
    #"{"account_id":"acct-3","tier":"enterprise"}"#,
]

/// What `scan` computes for the same input: `TrafficScanner` fed directly.
func referenceReport(exchangeLines: [String], accountLines: [String] = [], toleranceSeconds: Double,
                     mergesRequestIDs: Bool = false) -> ScanReport {
    var scanner = TrafficScanner(policy: .default, toleranceMilliseconds: Int64(toleranceSeconds * 1000), mergesRequestIDs: mergesRequestIDs)
    for line in accountLines { scanner.register(try! AccountLineDecoder().decode(line)) }
    for line in exchangeLines { scanner.observe(try! ExchangeLineDecoder().decode(line)) }
    return scanner.finish(generatedAt: testStart, includeAllAccounts: true)
}

/// Posts `lines` in batches of `size`, expecting every line accepted.
func ingest(_ client: some TestClientProtocol, _ lines: [String], batchSize: Int, token: String = Secret.ingest) async throws {
    var start = 0
    while start < lines.count {
        let end = min(lines.count, start + batchSize)
        let response = try await client.post("/v1/exchanges", token, lines[start..<end].joined(separator: "\n") + "\n")
        #expect(response.status == .ok, "\(response.text)")
        #expect(response.json["accepted"] as? Int == end - start)
        start = end
    }
}

final class ScratchDirectory: Sendable {
    let path = NSTemporaryDirectory() + "distillwatch-server-" + UUID().uuidString
    init() { try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Polls `path` (as an analyst) until `condition` holds of its JSON, for what the server
/// applies after it answered (a gateway check learned in the background, an ingest lane's
/// job): at most `seconds`, which a loaded test machine needs (the ingest lane runs at a
/// lower priority than the rest of the test process), returning as soon as it holds.
/// The default is generous (60 s) because the whole suite runs its servers side by side on
/// two cores and a 10 s bound once ran out there; a passing run waits milliseconds. A
/// timeout names the last answer seen, so a lost write is told apart from a slow one.
func eventually(_ client: any TestClientProtocol, _ what: String,
                _ condition: @Sendable ([String: Any]) -> Bool, path: String, seconds: Double = 60) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    var last = ""
    while ContinuousClock.now < deadline {
        let r = try await client.get(path, Secret.analyst)
        if condition(r.json) { return }
        last = r.text
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out after \(seconds) s waiting for \(what); the last answer from \(path): \(last.prefix(2_000))")
}
