import DistillWatchCore

/// What Envoy's external authorization filter sends an HTTP authorization service
/// (`envoy.extensions.filters.http.ext_authz.v3.ExtAuthz` with `http_service`), read into
/// an account and the exchange the request stands for.
///
/// Source: Envoy's API reference for `ext_authz.v3` (`HttpService`, `AuthorizationRequest`,
/// `BufferSettings`) and `source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc`:
/// the check request has the client's method, `path_prefix` + the client's path (query
/// included), the client's `authorization`, `host` and the headers `allowed_headers` lets
/// through, the headers of `authorization_request.headers_to_add` (which replace a client
/// header of the same name), and, with `with_request_body`, the client's body (cut at
/// `max_request_bytes` when `allow_partial_message`, then `x-envoy-auth-partial-body: true`).
///
/// The account is, in order: the configured account header (set by an authentication
/// filter before ext_authz, e.g. `x-account-id`); else the client's own API key
/// (`authorization: Bearer …`, or `x-api-key` when that is not DistillWatch's key header),
/// by its digest (the server's is `key-` and 16 hex digits of its SHA-256, FIPS 180-4), so
/// each key is an account and no key is stored. The key's digest is the exchange's
/// `api_key_id` either way.
public struct EnvoyCheckRequest: Sendable {
    /// The header names (lowercase) Envoy's check request is read with.
    public struct Naming: Sendable, Equatable {
        /// Carries the account, set by the gateway's authentication (default `x-account-id`).
        public var accountHeader: String
        /// Carries DistillWatch's own `decide` token, added by `headers_to_add` (default
        /// `x-api-key`); never read as the client's key.
        public var keyHeader: String

        public init(accountHeader: String = "x-account-id", keyHeader: String = "x-api-key") {
            self.accountHeader = accountHeader.lowercased()
            self.keyHeader = keyHeader.lowercased()
        }
    }

    /// The account, or `nil` when the request names none (no account header, no client key).
    public var accountID: String?
    /// The digest of the client's API key, when it sent one.
    public var apiKeyID: String?
    /// The client's original path (the check path less the prefix).
    public var path: String
    /// What the forwarded request says about the exchange (time and account are set by
    /// ``exchange(at:sketcher:)``).
    public var model: String?
    public var maxTokens: Int?
    public var temperature: Double?
    public var stream: Bool?
    public var messageCount: Int?
    public var toolCount: Int?
    public var prefill: Bool?
    public var reasoningEffort: String?
    public var endUserID: String?
    public var prompt: String?
    public var system: String?
    public var clientIP: String?
    public var userAgent: String?
    public var requestID: String?
    /// The body was cut by Envoy (`x-envoy-auth-partial-body: true`) or is not a JSON object:
    /// only the headers were read.
    public var bodyUnread: Bool = false

    /// Reads a check request.
    /// - Parameters:
    ///   - path: the check request's path, with `prefix` still in front.
    ///   - headers: header names in lowercase, each with its first value.
    ///   - body: the forwarded body (empty without `with_request_body`).
    ///   - keyDigest: names a client API key without keeping it (a cryptographic hash: the
    ///     digests of two keys must not meet).
    /// - Complexity: O(n) in the body's bytes; only the last user message and the system
    ///   text are materialised.
    public init(path: String, prefix: String, headers: [String: String], body: UnsafeBufferPointer<UInt8>,
                naming: Naming = Naming(), keepText: Bool, keyDigest: (String) -> String) {
        self.path = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
        if self.path.isEmpty { self.path = "/" }
        var clientKey: String?
        if let auth = headers["authorization"] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let key = parts[1].trimmingPrefix(while: { $0 == " " })
                if !key.isEmpty { clientKey = String(key) }
            }
        }
        if clientKey == nil, naming.keyHeader != "x-api-key", let key = headers["x-api-key"], !key.isEmpty {
            clientKey = key  // Anthropic-style clients send their key here
        }
        if let clientKey { apiKeyID = keyDigest(clientKey) }
        if let account = headers[naming.accountHeader]?.trimmingCharacters(in: .whitespaces), !account.isEmpty {
            accountID = account
        } else {
            accountID = apiKeyID
        }
        // x-forwarded-for's first entry is the client as the edge proxy saw it; Envoy's own
        // x-envoy-external-address is the trusted one when the edge is Envoy.
        if let external = headers["x-envoy-external-address"], !external.isEmpty {
            clientIP = external
        } else if let forwarded = headers["x-forwarded-for"] {
            clientIP = forwarded.split(separator: ",").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        userAgent = headers["user-agent"]
        requestID = headers["x-request-id"]
        guard body.count > 0 else { return }
        if headers["x-envoy-auth-partial-body"] == "true" {
            bodyUnread = true
            return
        }
        do throws(RecordError) {
            try readBody(body, keepText: keepText)
        } catch {
            bodyUnread = true
            model = nil; maxTokens = nil; temperature = nil; stream = nil; messageCount = nil; toolCount = nil
            prefill = nil; reasoningEffort = nil; endUserID = nil; prompt = nil; system = nil
        }
    }

    /// The request fields of an OpenAI chat completion or response, or an Anthropic message.
    private mutating func readBody(_ body: UnsafeBufferPointer<UInt8>, keepText: Bool) throws(RecordError) {
        var s = JSONScanner(body)
        s.skipWhitespace()
        guard s.peek() == UInt8(ascii: "{") else { throw RecordError("the body is not a JSON object") }
        let r = try ChatRequest.read(&s, field: "body", keepText: keepText)
        model = r.model
        maxTokens = r.maxTokens
        temperature = r.temperature
        stream = r.stream
        reasoningEffort = r.reasoningEffort
        endUserID = r.user
        toolCount = r.toolCount
        messageCount = r.messages?.count
        prefill = r.messages?.endsWithAssistant
        prompt = r.messages?.lastUserText
        system = r.system
    }

    /// The exchange the request stands for, received at `time`: a request without its
    /// answer (no tokens out, no status), as a gateway sees it before serving it. `nil`
    /// without an account, or when a value is out of the format's limits.
    public func exchange(at time: Timestamp, sketcher: ContentSketcher?) -> Exchange? {
        guard let accountID else { return nil }
        var e = Exchange(time: time, accountID: accountID)
        e.requestID = requestID
        e.apiKeyID = apiKeyID
        e.model = model
        e.operation = "chat"
        e.maxTokens = maxTokens
        e.temperature = temperature
        e.stream = stream
        e.messageCount = messageCount
        e.toolCount = toolCount
        e.prefill = prefill
        e.reasoningEffort = reasoningEffort
        e.endUserID = endUserID
        e.clientIP = clientIP
        e.userAgent = userAgent
        if let sketcher, let prompt {
            // Tool definitions make it agentic whatever the words say (``ContentSketcher/features(prompt:system:toolCount:)``).
            e.content = sketcher.features(prompt: prompt, system: system, toolCount: toolCount)
        }
        // A value outside the limits (an 8 KB user agent) is left out; the request still counts.
        return e.withoutValuesOutsideLimits()?.exchange
    }
}
