import AsyncHTTPClient
import Crypto
import DistillWatchCore
import DistillWatchStore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// How a live shard (``ShardSettings``) deals with another shard's account: any node takes
/// any call, and passes what belongs to another shard to that shard's node.
///
/// - **Decisions** (`/v1/decide`, LiteLLM's guardrail, Envoy's ext_authz): the request is
///   sent on to the owner as it came (method, path, headers, body) with
///   `x-distillwatch-forwarded-by: k/N`, and the owner's answer goes back unchanged, so the
///   owner judges, counts the request against its rate limits, learns from it and audits it.
///   One hop at most: a node given a forwarded call for an account it does not own answers
///   421 (the nodes' shard settings differ). The owner unreachable, or slower than
///   `forward_timeout_ms`: ``ShardSettings/OwnerDown``.
/// - **Ingest** (`/v1/exchanges`, `/v1/accounts`, `/v1/litellm/logs`, `/v1/traces`): a batch
///   is split by owner; each other shard's part goes to its node's `/v1/exchanges` or
///   `/v1/accounts` as NDJSON of the records as the log keeps them (no text; the content
///   sketch in `dw_content`), with an `idempotency-key` (SHA-256 of the part); the node's own
///   part is written only once every other part was accepted. When a part is refused, nothing
///   is written here and the caller gets 503: a retry of the same batch re-sends the same
///   parts, and a node that already took one answers from its memory of recent keys
///   (``ForwardedBatches``) instead of counting it twice.
///
/// Nodes call each other with the caller's own credentials (`Authorization`, `x-api-key`
/// and the Envoy key header), so every node must be given the same tokens.
///
/// - Complexity: one HTTP round trip per forwarded decision; per batch, one per other shard
///   holding a part, concurrently.
final class ShardRouter: Sendable {
    let settings: ShardSettings
    let client: HTTPClient
    let metrics: ShardMetrics
    /// Headers that name a DistillWatch token (besides `Authorization`).
    let credentialHeaders: [HTTPField.Name]

    /// Nodes that failed a call recently, until when: calls for their accounts are answered
    /// as for an owner down at once, without waiting out another timeout, until then.
    private let downUntil = Mutex<[Int: ContinuousClock.Instant]>([:])
    /// How long a node that failed is taken as down before it is tried again.
    static let retryAfterFailure = Duration.seconds(1)

    static let forwardedHeader = HTTPField.Name("x-distillwatch-forwarded-by")!
    static let idempotencyHeader = HTTPField.Name("idempotency-key")!

    /// The client is the router's own: its connect timeout is `forward_timeout_ms`, so an
    /// owner that refuses connections fails a call within that time (async-http-client
    /// retries a connection until its connect timeout), and up to 64 connections per node
    /// carry concurrent decisions. ``ShardRouterService`` shuts it down.
    init(settings: ShardSettings, metrics: ShardMetrics, envoyKeyHeader: HTTPField.Name) {
        self.settings = settings
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .milliseconds(Int64(settings.forwardTimeoutMilliseconds))))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.metrics = metrics
        credentialHeaders = Array(Set([BearerAuthMiddleware.apiKey, envoyKeyHeader]))
    }

    /// A router dropped without ``ShardRouterService`` having run (the server failed to
    /// start) closes its connections in the background.
    deinit {
        client.shutdown { _ in }
    }

    var shard: AccountShard { settings.shard }

    /// The shard that owns the account, or `nil` when it is this node's.
    /// - Complexity: O(length of the id) (one CityHash64).
    func owner(of accountID: String) -> Int? {
        let index = AccountShard.index(of: accountID, among: shard.count)
        return index == shard.index ? nil : index
    }

    /// What a decision route does with an account.
    enum Routing {
        /// It is this node's: answer it here.
        case local
        /// The owner's answer, to send back as it is.
        case forwarded(Response)
        /// The owner could not be reached and `owner_down` is `allow`: answer `allow`, with
        /// this reason ("owner_unavailable: shard 1/2 (http://…) …").
        case ownerUnavailable(String)
    }

    /// Routes a decision call about `accountID`.
    /// - Throws: `HTTPError` 421 for a forwarded call about an account this node does not
    ///   own; 503 naming the shard when its node cannot be reached and `owner_down` is
    ///   `refuse`.
    func route(_ accountID: String, request: Request, body: ByteBuffer, endpoint: String) async throws -> Routing {
        guard let owner = owner(of: accountID) else { return .local }
        if let from = request.headers[Self.forwardedHeader] {
            metrics.count(endpoint, .misdirected)
            throw HTTPError(.misdirectedRequest, message: misdirected(accountID, owner: owner, from: from))
        }
        if let reason = knownDown(owner) {
            metrics.count(endpoint, .ownerUnavailable)
            return try ownerDown(accountID, reason)
        }
        var outgoing = HTTPClientRequest(url: settings.node(owner) + request.uri.description)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        outgoing.headers.replaceOrAdd(name: Self.forwardedHeader.rawName, value: shard.description)
        outgoing.body = .bytes(body)
        let start = ContinuousClock.now
        do {
            let response = try await client.execute(outgoing, timeout: .milliseconds(Int64(settings.forwardTimeoutMilliseconds)))
            let answer = try await response.body.collect(upTo: 64 << 20)
            var headers = HTTPFields()
            for (name, value) in response.headers where !Self.hopByHop.contains(name.lowercased()) {
                if let n = HTTPField.Name(name) { headers.append(HTTPField(name: n, value: value)) }
            }
            metrics.count(endpoint, .forwarded, seconds: (ContinuousClock.now - start) / .seconds(1))
            return .forwarded(Response(status: HTTPResponse.Status(code: Int(response.status.code)), headers: headers,
                                       body: ResponseBody(byteBuffer: answer)))
        } catch {
            metrics.count(endpoint, .ownerUnavailable)
            return try ownerDown(accountID, markDown(owner, error))
        }
    }

    /// The answer for an account whose owner is down: ``ShardSettings/OwnerDown``.
    private func ownerDown(_ accountID: String, _ reason: String) throws -> Routing {
        guard settings.ownerDown == .allow else {
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"],
                            message: "account \(accountID) belongs to \(reason) (owner_down: refuse)")
        }
        return .ownerUnavailable("owner_unavailable: " + reason)
    }

    /// Notes that `owner`'s node failed; returns what to say about it.
    private func markDown(_ owner: Int, _ error: any Error) -> String {
        downUntil.withLock { $0[owner] = .now + Self.retryAfterFailure }
        return "shard \(owner)/\(shard.count) (\(settings.node(owner))) failed: \(Self.describe(error, timeout: settings.forwardTimeoutMilliseconds))"
    }

    /// Why `owner`'s node is taken as down, if it failed less than
    /// ``retryAfterFailure`` ago.
    private func knownDown(_ owner: Int) -> String? {
        downUntil.withLock { down in
            guard let until = down[owner] else { return nil }
            guard until > .now else { down[owner] = nil; return nil }
            return "shard \(owner)/\(shard.count) (\(settings.node(owner))) failed less than a second ago (tried again after that)"
        }
    }

    func misdirected(_ accountID: String, owner: Int, from: String) -> String {
        "account \(accountID) belongs to shard \(owner)/\(shard.count), but shard \(from) sent it to this node (\(shard)): "
            + "the nodes' shard settings differ; give every node the same shard.nodes list"
    }

    // MARK: Ingest

    /// A batch's events split by owner: this node's part, and each other shard's part.
    struct Split {
        var localEvents: [NewEvent] = []
        var localInputs: [EngineInput] = []
        /// By shard: exchanges and account records, as NDJSON lines of their stored forms.
        var remote: [Int: (exchanges: [UInt8], exchangeCount: Int, accounts: [UInt8], accountCount: Int)] = [:]
        var isLocalOnly: Bool { remote.isEmpty }
    }

    /// Splits events by the owner of their account. Events of other kinds (labels, flushes,
    /// indicators) and events without an account stay here.
    /// - Throws: `HTTPError` 421 when a forwarded batch holds another shard's record.
    func split(events: [NewEvent], inputs: [EngineInput], request: Request?) throws -> Split {
        var split = Split()
        let forwardedFrom = request?.headers[Self.forwardedHeader]
        for (event, input) in zip(events, inputs) {
            guard event.kind == .exchange || event.kind == .account, let account = event.subject, let owner = owner(of: account) else {
                split.localEvents.append(event)
                split.localInputs.append(input)
                continue
            }
            if let from = forwardedFrom {
                throw HTTPError(.misdirectedRequest, message: misdirected(account, owner: owner, from: from))
            }
            var part = split.remote[owner] ?? ([], 0, [], 0)
            if event.kind == .exchange {
                part.exchanges += event.payload
                part.exchanges.append(0x0A)
                part.exchangeCount += 1
            } else {
                part.accounts += event.payload
                part.accounts.append(0x0A)
                part.accountCount += 1
            }
            split.remote[owner] = part
        }
        return split
    }

    /// Sends the other shards' parts to their nodes, concurrently.
    /// - Returns: records each shard accepted, by shard (`"1/2"`).
    /// - Throws: `HTTPError` 503 naming each shard whose node did not accept its part, and
    ///   saying that nothing of the batch was written here.
    func deliver(_ split: Split, credentials: HTTPFields) async throws -> [String: Int] {
        var parts: [(shard: Int, path: String, body: [UInt8], count: Int)] = []
        for (owner, part) in split.remote.sorted(by: { $0.key < $1.key }) {
            if part.exchangeCount > 0 { parts.append((owner, "/v1/exchanges", part.exchanges, part.exchangeCount)) }
            if part.accountCount > 0 { parts.append((owner, "/v1/accounts", part.accounts, part.accountCount)) }
        }
        let outcomes = await withTaskGroup(of: (Int, Result<Int, ShardDeliveryError>).self) { group in
            for (i, part) in parts.enumerated() {
                group.addTask { (i, await self.deliver(part.body, count: part.count, path: part.path, to: part.shard, credentials: credentials)) }
            }
            var all: [(Int, Result<Int, ShardDeliveryError>)] = []
            for await outcome in group { all.append(outcome) }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var accepted: [String: Int] = [:]
        var failures: [String] = []
        for (part, outcome) in zip(parts, outcomes) {
            switch outcome {
            case .success(let n): accepted["\(part.shard)/\(shard.count)", default: 0] += n
            case .failure(let e): failures.append(e.description)
            }
        }
        guard failures.isEmpty else {
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: failures.joined(separator: "; ")
                + ". Nothing of this batch was written on this node; retry the whole batch: the parts other shards "
                + "already took carry an idempotency key and are not counted twice")
        }
        return accepted
    }

    private func deliver(_ body: [UInt8], count: Int, path: String, to owner: Int,
                         credentials: HTTPFields) async -> Result<Int, ShardDeliveryError> {
        let node = settings.node(owner)
        var outgoing = HTTPClientRequest(url: node + path)
        outgoing.method = .POST
        outgoing.headers.add(name: "content-type", value: "application/x-ndjson")
        for field in credentials { outgoing.headers.add(name: field.name.rawName, value: field.value) }
        outgoing.headers.add(name: Self.forwardedHeader.rawName, value: shard.description)
        outgoing.headers.add(name: Self.idempotencyHeader.rawName, value: Self.idempotencyKey(path: path, body: body))
        outgoing.body = .bytes(ByteBuffer(bytes: body))
        let what = "shard \(owner)/\(shard.count) (\(node)\(path))"
        if let reason = knownDown(owner) {
            metrics.countDelivery(.ownerUnavailable)
            return .failure(ShardDeliveryError(description: "\(what) did not take its \(count) record(s): " + reason))
        }
        do {
            // A batch may be large: a write gets longer than a decision (at least 10 s).
            let response = try await client.execute(outgoing, timeout: .milliseconds(Int64(max(10_000, settings.forwardTimeoutMilliseconds))))
            let answer = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else {
                metrics.countDelivery(.ownerUnavailable)
                return .failure(ShardDeliveryError(description: "\(what) answered \(response.status.code): "
                                                   + String(buffer: answer).prefix(300)))
            }
            let result = try JSONDecoder().decode(IngestResult.self, from: Data(answer.readableBytesView))
            metrics.countDelivery(.forwarded, records: result.accepted)
            return .success(result.accepted)
        } catch {
            metrics.countDelivery(.ownerUnavailable)
            _ = markDown(owner, error)
            return .failure(ShardDeliveryError(description: "\(what) did not take its \(count) record(s): \(Self.describe(error))"))
        }
    }

    /// The credentials a call came with, to call the other nodes with.
    func credentials(of request: Request) -> HTTPFields {
        var fields = HTTPFields()
        for name in [HTTPField.Name.authorization] + credentialHeaders {
            if let value = request.headers[name] { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    /// Hex SHA-256 of the path and the part: the same part of a retried batch has the same key.
    static func idempotencyKey(path: String, body: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(data: Array(path.utf8) + [0])
        hash.update(data: body)
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
                                        "trailer", "host", "content-length"]

    static func describe(_ error: any Error, timeout: Int? = nil) -> String {
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
                return timeout.map { "no answer within \($0) ms (forward_timeout_ms)" } ?? "timed out"
            }
            if e == .remoteConnectionClosed { return "connection closed" }
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

struct ShardDeliveryError: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// A route's answer with live shards: its own, or the owner's as the owner gave it.
enum ShardedAnswer<Local: ResponseGenerator>: ResponseGenerator {
    case local(Local)
    case forwarded(Response)

    func response(from request: Request, context: some RequestContext) throws -> Response {
        switch self {
        case .local(let answer): return try answer.response(from: request, context: context)
        case .forwarded(let response): return response
        }
    }
}

extension ServerState {
    /// With live shards, the owner's answer to an analyst's call about another shard's
    /// account (its state, a label, a verification), so the label lands where the account's
    /// traffic does; `nil` when the account is this node's. An analyst call is never
    /// answered for an owner that is down.
    /// - Throws: `HTTPError` 503 naming the shard when its node cannot be reached; 421 for a
    ///   forwarded call this node does not own.
    func ownersAnswer(for accountID: String, _ request: Request, body: ByteBuffer) async throws -> Response? {
        guard let shards else { return nil }
        switch try await shards.route(accountID, request: request, body: body, endpoint: "analyst") {
        case .local: return nil
        case .forwarded(let answer): return answer
        case .ownerUnavailable(let reason):
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: "account \(accountID): " + reason)
        }
    }
}

/// Shuts the router's HTTP client down when the server stops.
struct ShardRouterService: Service {
    let router: ShardRouter

    func run() async throws {
        try? await gracefulShutdown()
        try await router.client.shutdown()
    }
}
