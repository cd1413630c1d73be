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
/// - **Decisions** (`/v1/decide`, LiteLLM's guardrail, Envoy's ext_authz) and analyst calls
///   about one account: the request is sent on to the owner as it came (method, path,
///   headers, body) with `x-distillwatch-forwarded-by: k/N` and a deadline
///   (`x-distillwatch-forward-deadline-ms`, epoch ms), and the owner's answer goes back
///   unchanged, so the owner judges, counts the request against its rate limits, learns from
///   it and audits it. A call reaching the owner after the deadline (the sender has already
///   answered without it) is refused with 504, neither judged nor audited. One hop at most:
///   a forwarded call for an account the node does not own, or from a node with another N,
///   is answered 421. The owner unreachable, or slower than `forward_timeout_ms`:
///   ``ShardSettings/OwnerDown``. An owner that refuses the call (401, 404, 421: the nodes'
///   tokens or settings differ) gives 502 naming it.
/// - **Ingest** (`/v1/exchanges`, `/v1/accounts`, `/v1/litellm/logs`, `/v1/traces`): a batch
///   is split by owner; each other shard's part goes to its node's `/v1/exchanges` or
///   `/v1/accounts` as NDJSON of the records as the log keeps them (no text; the content
///   sketch in `dw_content`, so every node must have the same content key, which the
///   `x-distillwatch-content-key-id` header checks); the node's own part is written only
///   once every other part was accepted. When a part is refused, nothing is written here:
///   503 when a retry can succeed, 502 when the nodes' settings differ. A batch sent with an
///   `Idempotency-Key` (the IETF httpapi draft's header) gives each part a key derived from
///   it, so a retry of that batch with the same key is answered from the owner's memory of
///   recent parts (``ForwardedBatches``) instead of being written twice, even when the first
///   attempt timed out here but was written there. Without one, a retried batch is written
///   again, on every node, as a single node would.
///
/// Nodes call each other with the caller's own credentials (`Authorization`, `x-api-key`
/// and the Envoy key header), so every node must be given the same tokens.
///
/// - Complexity: one HTTP round trip per forwarded decision; per batch, O(records) to split
///   and one request per other shard holding a part, concurrently.
final class ShardRouter: Sendable {
    let settings: ShardSettings
    let client: HTTPClient
    let metrics: ShardMetrics
    let clock: WallClock
    /// Headers that name a DistillWatch token (besides `Authorization`).
    let credentialHeaders: [HTTPField.Name]
    /// Names this node's content key without revealing it (``contentKeyID(_:)``).
    let contentKeyID: String
    /// Per node: consecutive failed calls, and until when it is taken as down.
    private let health = Mutex<[Int: (failures: Int, downUntil: ContinuousClock.Instant?)]>([:])
    /// How long a node that failed is taken as down before it is tried again.
    static let retryAfterFailure = Duration.seconds(1)
    /// Timeouts in a row that take a node as down (a refused connection does at once): one
    /// slow call, a huge prompt say, must not make a healthy node look down.
    static let timeoutsBeforeDown = 3

    static let forwardedHeader = HTTPField.Name("x-distillwatch-forwarded-by")!
    static let deadlineHeader = HTTPField.Name("x-distillwatch-forward-deadline-ms")!
    static let contentKeyHeader = HTTPField.Name("x-distillwatch-content-key-id")!
    static let idempotencyHeader = HTTPField.Name("idempotency-key")!

    /// The client is the router's own: its connect timeout is `forward_timeout_ms`, so an
    /// owner that refuses connections fails a call within that time (async-http-client
    /// retries a connection until its connect timeout), and up to 64 connections per node
    /// carry concurrent decisions. ``ShardRouterService`` shuts it down.
    init(settings: ShardSettings, metrics: ShardMetrics, envoyKeyHeader: HTTPField.Name, contentKey: ContentKey?,
         clock: WallClock = .system) {
        self.settings = settings
        self.clock = clock
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .milliseconds(Int64(settings.forwardTimeoutMilliseconds))))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.metrics = metrics
        credentialHeaders = Array(Set([BearerAuthMiddleware.apiKey, envoyKeyHeader]))
        contentKeyID = Self.contentKeyID(contentKey)
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

    /// The first 16 hex digits of SHA-256 over the key (`none` without content signals).
    static func contentKeyID(_ key: ContentKey?) -> String {
        guard let key else { return "none" }
        var bytes: [UInt8] = []
        for word in [key.k0, key.k1] { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * i))) } }
        return SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
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
    ///   own or from a node with another N; 504 for a forwarded call past its deadline; 503
    ///   naming the shard when its node cannot be reached and `owner_down` is `refuse`; 502
    ///   when the owner refuses the call for a reason retrying will not change.
    func route(_ accountID: String, request: Request, body: ByteBuffer, endpoint: String) async throws -> Routing {
        let forwardedFrom = try sender(of: request)
        guard let owner = owner(of: accountID) else {
            if forwardedFrom != nil, let deadline = request.headers[Self.deadlineHeader].flatMap({ Int64($0) }),
               clock.now().millisecondsSinceEpoch > deadline {
                metrics.count(endpoint, .misdirected)
                throw HTTPError(.gatewayTimeout, message: "this forwarded call arrived after the forwarding node stopped waiting "
                                + "for it (deadline \(deadline) ms): it was answered without this node, and is not judged, counted or audited here")
            }
            return .local
        }
        if let from = forwardedFrom {
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
        // Clocks of the nodes agree to within a second (NTP): the owner gives up a second later.
        let deadline = clock.now().millisecondsSinceEpoch + Int64(settings.forwardTimeoutMilliseconds) + 1_000
        outgoing.headers.replaceOrAdd(name: Self.deadlineHeader.rawName, value: String(deadline))
        outgoing.body = .bytes(body)
        let start = ContinuousClock.now
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await client.execute(outgoing, timeout: .milliseconds(Int64(settings.forwardTimeoutMilliseconds)))
            answer = try await response.body.collect(upTo: 64 << 20)
        } catch {
            metrics.count(endpoint, .ownerUnavailable)
            return try ownerDown(accountID, noteFailure(owner, error))
        }
        noteSuccess(owner)
        let status = Int(response.status.code)
        if Self.configurationStatuses.contains(status) {
            metrics.count(endpoint, .misdirected)
            throw HTTPError(.badGateway, message: "shard \(owner)/\(shard.count)'s node (\(settings.node(owner))) refused the call "
                            + "passed on to it (\(status): \(Self.errorMessage(answer))): \(Self.configurationHint(status))")
        }
        var headers = HTTPFields()
        for (name, value) in response.headers where !Self.hopByHop.contains(name.lowercased()) {
            if let n = HTTPField.Name(name) { headers.append(HTTPField(name: n, value: value)) }
        }
        metrics.count(endpoint, .forwarded, seconds: (ContinuousClock.now - start) / .seconds(1))
        return .forwarded(Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: answer)))
    }

    /// Statuses from an owner that say the nodes are not set up alike, which a retry will
    /// not change (403 is not one: it is how Envoy's checks refuse a request).
    static let configurationStatuses: Set<Int> = [401, 404, 421]

    static func configurationHint(_ status: Int) -> String {
        switch status {
        case 401, 403: return "give every node the same tokens"
        case 404: return "check shard.nodes: each entry is a node's base URL, without a path"
        default: return "give every node the same shard.nodes list and content key"
        }
    }

    /// The `error.message` of a JSON error answer, or its text.
    static func errorMessage(_ body: ByteBuffer) -> String {
        let text = String(buffer: body)
        if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
           let message = (object["error"] as? [String: Any])?["message"] as? String {
            return message
        }
        return String(text.prefix(300))
    }

    /// The shard a forwarded call came from, or `nil` for a call from a gateway or client.
    /// - Throws: `HTTPError` 421 when the sender's shard count differs from this node's, or
    ///   its content key does.
    func sender(of request: Request) throws -> String? {
        guard let from = request.headers[Self.forwardedHeader] else { return nil }
        guard let sender = try? AccountShard(parsing: from), sender.count == shard.count else {
            throw HTTPError(.misdirectedRequest, message: "a call passed on by shard \(from) reached this node (\(shard)): the nodes' "
                            + "shard counts differ; give every node the same shard.nodes list")
        }
        if let key = request.headers[Self.contentKeyHeader], key != contentKeyID {
            throw HTTPError(.misdirectedRequest, message: "shard \(from) sketches content under another content key than this node "
                            + "(\(key) here \(contentKeyID)): give every node the same content key (--content-key or DISTILLWATCH_HOME's key file), "
                            + "or --no-content on all")
        }
        return from
    }

    /// The answer for an account whose owner is down: ``ShardSettings/OwnerDown``.
    private func ownerDown(_ accountID: String, _ reason: String) throws -> Routing {
        guard settings.ownerDown == .allow else {
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"],
                            message: "account \(accountID) belongs to \(reason) (owner_down: refuse)")
        }
        return .ownerUnavailable("owner_unavailable: " + reason)
    }

    /// Counts a failed call to `owner`'s node and says what failed. A refused connection
    /// takes the node as down at once; timeouts do after ``timeoutsBeforeDown`` in a row.
    private func noteFailure(_ owner: Int, _ error: any Error) -> String {
        let reason = Self.describe(error, timeout: settings.forwardTimeoutMilliseconds)
        let refused = reason == "connection refused"
        health.withLock { h in
            var entry = h[owner] ?? (0, nil)
            entry.failures += 1
            if refused || entry.failures >= Self.timeoutsBeforeDown { entry.downUntil = .now + Self.retryAfterFailure }
            h[owner] = entry
        }
        return "shard \(owner)/\(shard.count) (\(settings.node(owner))) failed: \(reason)"
    }

    private func noteSuccess(_ owner: Int) {
        health.withLock { h in if h[owner] != nil { h[owner] = nil } }
    }

    /// Why `owner`'s node is taken as down, while it is.
    private func knownDown(_ owner: Int) -> String? {
        health.withLock { h in
            guard let until = h[owner]?.downUntil else { return nil }
            guard until > .now else { h[owner]?.downUntil = nil; return nil }
            return "shard \(owner)/\(shard.count) (\(settings.node(owner))) is taken as down: it failed less than a second ago, "
                + "and is tried again a second after that"
        }
    }

    func misdirected(_ accountID: String, owner: Int, from: String) -> String {
        "account \(accountID) belongs to shard \(owner)/\(shard.count), but shard \(from) sent it to this node (\(shard)): "
            + "the nodes' shard settings differ; give every node the same shard.nodes list"
    }

    // MARK: Ingest

    /// One other shard's part of a batch: NDJSON lines of the records' stored forms.
    struct Part {
        var exchanges: [UInt8] = []
        var exchangeCount = 0
        var accounts: [UInt8] = []
        var accountCount = 0
    }

    /// A batch's events split by owner: this node's part, and each other shard's part.
    struct Split {
        var localEvents: [NewEvent] = []
        var localInputs: [EngineInput] = []
        var remote: [Int: Part] = [:]
        var isLocalOnly: Bool { remote.isEmpty }
    }

    /// Splits events by the owner of their account. Events of other kinds (labels, flushes,
    /// indicators) and events without an account stay here.
    /// - Throws: `HTTPError` 421 when a forwarded batch holds another shard's record, or
    ///   comes from a node set up otherwise (``sender(of:)``).
    /// - Complexity: O(records + bytes): each part grows in place.
    func split(events: [NewEvent], inputs: [EngineInput], request: Request?) throws -> Split {
        var split = Split()
        let forwardedFrom = try request.flatMap { try sender(of: $0) }
        for (event, input) in zip(events, inputs) {
            guard event.kind == .exchange || event.kind == .account, let account = event.subject, let owner = owner(of: account) else {
                split.localEvents.append(event)
                split.localInputs.append(input)
                continue
            }
            if let from = forwardedFrom {
                throw HTTPError(.misdirectedRequest, message: misdirected(account, owner: owner, from: from))
            }
            // In place: copying the part out and back would copy its bytes for every record.
            if event.kind == .exchange {
                split.remote[owner, default: Part()].exchanges.append(contentsOf: event.payload)
                split.remote[owner, default: Part()].exchanges.append(0x0A)
                split.remote[owner, default: Part()].exchangeCount += 1
            } else {
                split.remote[owner, default: Part()].accounts.append(contentsOf: event.payload)
                split.remote[owner, default: Part()].accounts.append(0x0A)
                split.remote[owner, default: Part()].accountCount += 1
            }
        }
        return split
    }

    /// Sends the other shards' parts to their nodes, concurrently.
    /// - Parameter idempotencyKey: the caller's `Idempotency-Key`, from which each part's
    ///   key is derived; `nil`: the parts carry none.
    /// - Returns: records each shard accepted, by shard (`"1/2"`).
    /// - Throws: `HTTPError` naming each shard whose node did not accept its part, and saying
    ///   that nothing of the batch was written here: 503 when a retry can succeed, 502 when a
    ///   node refused for a reason a retry will not change.
    func deliver(_ split: Split, credentials: HTTPFields, idempotencyKey: String?) async throws -> [String: Int] {
        var parts: [(shard: Int, path: String, body: [UInt8], count: Int)] = []
        for (owner, part) in split.remote.sorted(by: { $0.key < $1.key }) {
            if part.exchangeCount > 0 { parts.append((owner, "/v1/exchanges", part.exchanges, part.exchangeCount)) }
            if part.accountCount > 0 { parts.append((owner, "/v1/accounts", part.accounts, part.accountCount)) }
        }
        let outcomes = await withTaskGroup(of: (Int, Result<Int, ShardDeliveryError>).self) { group in
            for (i, part) in parts.enumerated() {
                let key = idempotencyKey.map { Self.partKey(clientKey: $0, shard: part.shard, path: part.path, body: part.body) }
                group.addTask {
                    (i, await self.deliver(part.body, count: part.count, path: part.path, to: part.shard, credentials: credentials, key: key))
                }
            }
            var all: [(Int, Result<Int, ShardDeliveryError>)] = []
            for await outcome in group { all.append(outcome) }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var accepted: [String: Int] = [:]
        var failures: [ShardDeliveryError] = []
        for (part, outcome) in zip(parts, outcomes) {
            switch outcome {
            case .success(let n): accepted["\(part.shard)/\(shard.count)", default: 0] += n
            case .failure(let e): failures.append(e)
            }
        }
        guard failures.isEmpty else {
            let what = failures.map(\.description).joined(separator: "; ") + ". Nothing of this batch was written on this node"
            if failures.contains(where: \.permanent) {
                throw HTTPError(.badGateway, message: what + "; a retry will fail the same way until the nodes are set up alike")
            }
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: what + "; retry the whole batch"
                + (idempotencyKey == nil ? " (without an Idempotency-Key, the parts other shards already took are written again)"
                   : " with the same Idempotency-Key: the parts other shards already took are not written twice"))
        }
        return accepted
    }

    private func deliver(_ body: [UInt8], count: Int, path: String, to owner: Int, credentials: HTTPFields,
                         key: String?) async -> Result<Int, ShardDeliveryError> {
        let node = settings.node(owner)
        var outgoing = HTTPClientRequest(url: node + path)
        outgoing.method = .POST
        outgoing.headers.add(name: "content-type", value: "application/x-ndjson")
        for field in credentials { outgoing.headers.add(name: field.name.rawName, value: field.value) }
        outgoing.headers.add(name: Self.forwardedHeader.rawName, value: shard.description)
        outgoing.headers.add(name: Self.contentKeyHeader.rawName, value: contentKeyID)
        if let key { outgoing.headers.add(name: Self.idempotencyHeader.rawName, value: key) }
        outgoing.body = .bytes(ByteBuffer(bytes: body))
        let what = "shard \(owner)/\(shard.count) (\(node)\(path))"
        if let reason = knownDown(owner) {
            metrics.countDelivery(.ownerUnavailable)
            return .failure(ShardDeliveryError(description: "\(what) did not take its \(count) record(s): " + reason))
        }
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            // A batch may be large: a write gets longer than a decision (at least 10 s).
            response = try await client.execute(outgoing, timeout: .milliseconds(Int64(max(10_000, settings.forwardTimeoutMilliseconds))))
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            metrics.countDelivery(.ownerUnavailable)
            return .failure(ShardDeliveryError(description: "\(what) did not take its \(count) record(s): \(noteFailure(owner, error))"))
        }
        noteSuccess(owner)
        let status = Int(response.status.code)
        guard status == 200 else {
            metrics.countDelivery(.ownerUnavailable)
            // 409: the same part is being written there; 429, 5xx: busy or failing. Others: set up otherwise.
            let permanent = status != 409 && status != 429 && status < 500
            return .failure(ShardDeliveryError(
                description: "\(what) refused its \(count) record(s) (\(status): \(Self.errorMessage(answer)))"
                    + (permanent ? ": \(Self.configurationHint(status))" : ""),
                permanent: permanent))
        }
        guard let result = try? JSONDecoder().decode(IngestResult.self, from: Data(answer.readableBytesView)) else {
            return .failure(ShardDeliveryError(description: "\(what) answered 200 without an ingest result", permanent: true))
        }
        metrics.countDelivery(.forwarded, records: result.accepted)
        return .success(result.accepted)
    }

    /// The credentials a call came with, to call the other nodes with.
    func credentials(of request: Request) -> HTTPFields {
        var fields = HTTPFields()
        for name in [HTTPField.Name.authorization] + credentialHeaders {
            if let value = request.headers[name] { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    /// Hex SHA-256 of the caller's key, the shard, the path and the part: the same part of
    /// the same batch (a retry with the same `Idempotency-Key`) has the same key, and two
    /// batches with the same records but different keys do not.
    static func partKey(clientKey: String, shard: Int, path: String, body: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(data: Array(clientKey.utf8) + [0] + Array(String(shard).utf8) + [0] + Array(path.utf8) + [0])
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
    /// A retry will fail the same way (the nodes are set up otherwise).
    var permanent = false
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
