import AsyncHTTPClient
import DistillWatchCore
import Foundation
import NIOCore
import NIOHTTP1

/// A TAXII 2.1 client for one collection (OASIS TAXII 2.1, 2021, §5.3 and §5.4): reads
/// its objects page by page (`limit`, `next`, `added_after`) and adds objects, over
/// async-http-client, with retries.
///
/// - Incremental reads: ``pull(addedAfter:)`` returns the last `X-TAXII-Date-Added-Last`
///   it saw; pass it back next time to get only what was added since.
/// - Retries: connection failures, 429 and 5xx are retried up to ``retries`` times with
///   exponential backoff (1 s, 2 s, 4 s, ...), honouring `Retry-After` up to 60 s.
/// - Limits: a response over ``maxResponseBytes`` and a pull over ``maxObjects`` are errors.
public struct TAXIIClient: Sendable {
    public enum Authentication: Sendable, Equatable {
        case none
        /// `Authorization: Bearer <token>` (DistillWatch's own server).
        case bearer(String)
        /// `Authorization: Basic` (medallion and most TAXII servers).
        case basic(user: String, password: String)
        /// `Authorization: Token <key>` (taxii2-client's TokenAuth, some servers' API keys).
        case token(String)
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public static let mediaType = "application/taxii+json;version=2.1"

    /// The collection's URL, ending in `/` (`https://host/api1/collections/<id>/`).
    public let collectionURL: String
    public var authentication: Authentication
    public var timeout: TimeAmount = .seconds(30)
    public var retries = 3
    public var pageLimit = 500
    public var maxResponseBytes = 64 << 20
    public var maxObjects = 1_000_000
    public var maxPages = 10_000
    let client: HTTPClient

    /// A client for collection `collectionID` under the API root `apiRoot`
    /// (`https://host/api1/`).
    public init(apiRoot: String, collectionID: String, authentication: Authentication = .none, client: HTTPClient = .shared) {
        var root = apiRoot
        if !root.hasSuffix("/") { root += "/" }
        collectionURL = root + "collections/" + collectionID + "/"
        self.authentication = authentication
        self.client = client
    }

    /// What a pull gave: the objects, and the last `date_added` to continue from.
    public struct Pulled: @unchecked Sendable {
        public var objects: [[String: Any]]
        public var lastAdded: String?
        public var pages: Int
        /// Why the pull ended while the server still said `more` (`nil` when it read all):
        /// a page that brought nothing, ``maxPages`` pages, or a `next` token over 1,000
        /// bytes. The objects are what was read up to then.
        public var stoppedEarly: String?
    }

    /// Reads every object added after `addedAfter` (all, when `nil`), following `next`.
    /// - Throws: ``Failure`` naming the URL and status when the server refuses, or when
    ///   the answer is not a TAXII envelope.
    public func pull(addedAfter: String? = nil) async throws -> Pulled {
        var pulled = Pulled(objects: [], lastAdded: addedAfter, pages: 0)
        var next: String?
        repeat {
            var query = "limit=\(pageLimit)"
            if let after = addedAfter { query += "&added_after=" + Self.escape(after) }
            if let next { query += "&next=" + Self.escape(next) }
            let (status, headers, body) = try await send(.GET, collectionURL + "objects/?" + query, body: nil)
            guard status == .ok else { throw Failure("GET \(collectionURL)objects/: \(status.code) \(Self.summary(body))") }
            guard let envelope = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
                throw Failure("GET \(collectionURL)objects/: not a TAXII envelope (\(Self.summary(body)))")
            }
            let objects = (envelope["objects"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
            pulled.objects += objects
            pulled.pages += 1
            // The cursor is kept and sent back: only a plausible time is taken.
            if let last = headers.first(name: "X-TAXII-Date-Added-Last"), last.utf8.count <= 40, Timestamp(rfc3339: last) != nil {
                pulled.lastAdded = last
            }
            guard pulled.objects.count <= maxObjects else { throw Failure("\(collectionURL): more than \(maxObjects) objects in one pull") }
            let following = envelope["more"] as? Bool == true ? (envelope["next"] as? String) : nil
            // A page that brings nothing ends the pull, and so do ``maxPages`` pages (a server
            // that says "more" forever cannot hold the client). The same `next` may come
            // back on every page: medallion keeps one token per query.
            if let following {
                if objects.isEmpty { pulled.stoppedEarly = "the server said more, but its page \(pulled.pages) held no object"; break }
                if pulled.pages >= maxPages { pulled.stoppedEarly = "\(maxPages) pages read, the most one pull reads"; break }
                if following.utf8.count > 1_000 {
                    pulled.stoppedEarly = "the server's next token is \(following.utf8.count) bytes, over the 1,000 sent back"
                    break
                }
            }
            next = following
        } while next != nil
        return pulled
    }

    /// Adds objects to the collection (one envelope) and returns the status resource.
    public func add(objects: [[String: Any]]) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: ["objects": objects], options: [.withoutEscapingSlashes])
        let (status, _, answer) = try await send(.POST, collectionURL + "objects/", body: body)
        guard status == .accepted || status == .ok else { throw Failure("POST \(collectionURL)objects/: \(status.code) \(Self.summary(answer))") }
        guard let resource = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] else {
            throw Failure("POST \(collectionURL)objects/: the answer is not a status resource (\(Self.summary(answer)))")
        }
        return resource
    }

    private func send(_ method: HTTPMethod, _ url: String, body: Data?) async throws -> (HTTPResponseStatus, HTTPHeaders, Data) {
        var attempt = 0
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers.add(name: "Accept", value: Self.mediaType)
            switch authentication {
            case .none: break
            case .bearer(let t): request.headers.add(name: "Authorization", value: "Bearer " + t)
            case .token(let t): request.headers.add(name: "Authorization", value: "Token " + t)
            case .basic(let user, let password):
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
            }
            if let body {
                request.headers.add(name: "Content-Type", value: Self.mediaType)
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            var retryAfter: Double?
            do {
                let response = try await client.execute(request, timeout: timeout)
                // The whole body within the timeout too (a server trickling bytes).
                let limit = maxResponseBytes, seconds = timeout.nanoseconds
                let bytes = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                    group.addTask { try await response.body.collect(upTo: limit) }
                    group.addTask {
                        try await Task.sleep(nanoseconds: UInt64(max(0, seconds)))
                        return nil
                    }
                    defer { group.cancelAll() }
                    guard let first = try await group.next(), let body = first else {
                        throw Failure("\(method) \(url): the body did not arrive within \(seconds / 1_000_000_000) s")
                    }
                    return body
                }
                let data = Data(bytes.readableBytesView)
                let retryable = response.status == .tooManyRequests || response.status.code >= 500
                if !retryable || attempt >= retries { return (response.status, response.headers, data) }
                retryAfter = Self.retryDelay(response.headers.first(name: "Retry-After"))
            } catch {
                if attempt >= retries { throw Failure("\(method) \(url): \(error)") }
            }
            attempt += 1
            let wait = retryAfter ?? Double(1 << min(attempt - 1, 6))
            try await Task.sleep(for: .milliseconds(Int(min(60, wait) * 1000)))
        }
    }

    /// The seconds a `Retry-After` header asks to wait, at most 60: its delay-seconds form,
    /// a non-negative decimal integer (RFC 9110 §10.2.3). Anything else (an HTTP date, a
    /// negative, fractional or infinite number, digits past 10) is `nil`: the backoff is
    /// used. A server's header never reaches a conversion that could trap.
    static func retryDelay(_ header: String?) -> Double? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text.utf8.count <= 10,
              text.utf8.allSatisfy({ $0 &- 0x30 < 10 }), let seconds = Int(text) else { return nil }
        return Double(min(seconds, 60))
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    static func summary(_ body: Data) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.isEmpty ? "(no body)" : text
    }
}
