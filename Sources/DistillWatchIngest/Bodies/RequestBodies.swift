import DistillWatchCore
import Foundation

// The JSON request bodies of `distillwatch serve`, decoded here rather than in the server
// so that the fuzz targets (Fuzz/) exercise the very decoders the routes use without
// building the server.

/// `POST /v1/decide`.
/// What a gateway may tell about the request it is about to serve. Only `account_id` is
/// required; the rest is kept for the audit log's `request_id` and ignored by the verdict
/// (the engine learns from exchanges, which carry the outcome).
public struct DecideRequest: Decodable, Sendable {
    public var accountID: String
    /// The API key the request uses: its own verdict (a leaked or resold key) raises the
    /// account's for this key only.
    public var apiKeyID: String?
    public var requestID: String?
    public var clientIP: String?
    public var userAgent: String?
    public var model: String?
    public var maxTokens: Int?
    public var temperature: Double?
    public var prompt: String?
    /// The request's last message is the assistant's (for `deny_prefill`).
    public var prefill: Bool?
    /// The request asks for extended thinking or a reasoning effort.
    public var thinking: Bool?
    /// Look without counting the request against the account's `rate_limit` (an analyst's
    /// question, not a request about to be served).
    public var dryRun: Bool?
    /// The client address's country (ISO 3166-1 alpha-2), for the model access policy.
    public var country: String?

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case apiKeyID = "api_key_id"
        case requestID = "request_id"
        case clientIP = "client_ip"
        case userAgent = "user_agent"
        case model
        case maxTokens = "max_tokens"
        case temperature, prompt, prefill, thinking, country
        case dryRun = "dry_run"
    }
}

extension DecideRequest {
    /// Foundation's decoder, except that a number `max_tokens` cannot hold is an error
    /// naming it (``KeyedDecodingContainer/decodeWholeNumberIfPresent(forKey:)``).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accountID = try c.decode(String.self, forKey: .accountID)
        apiKeyID = try c.decodeIfPresent(String.self, forKey: .apiKeyID)
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID)
        clientIP = try c.decodeIfPresent(String.self, forKey: .clientIP)
        userAgent = try c.decodeIfPresent(String.self, forKey: .userAgent)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        maxTokens = try c.decodeWholeNumberIfPresent(forKey: .maxTokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        prefill = try c.decodeIfPresent(Bool.self, forKey: .prefill)
        thinking = try c.decodeIfPresent(Bool.self, forKey: .thinking)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun)
        country = try c.decodeIfPresent(String.self, forKey: .country)
    }
}

extension KeyedDecodingContainer {
    /// An optional `Int`, where Foundation's `JSONDecoder` reports a number that is not one
    /// (`1.5`, `1e300`) as "The given data was not valid JSON." with no field: here the
    /// error names the field and the number.
    /// - Throws: `DecodingError.dataCorrupted` at `key` for a fraction or a whole number
    ///   beyond 64 bits; Foundation's error for a value that is not a number.
    public func decodeWholeNumberIfPresent(forKey key: Key) throws -> Int? {
        do {
            return try decodeIfPresent(Int.self, forKey: key)
        } catch let integerError {
            guard let number = try? decodeIfPresent(Double.self, forKey: key) else { throw integerError }
            let problem = number.rounded(.towardZero) == number
                ? "should be a whole number from -2^63 to 2^63 - 1, got \(number)" : "should be a whole number, got \(number)"
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: problem)
        }
    }
}

/// `POST /v1/accounts/{id}/verify`: the provider's identity service or an analyst records
/// that the account passed (or, with `"verified": false`, no longer passes) identity
/// verification.
public struct VerifyRequest: ClosedRequestBody, Sendable {
    public static let fieldNames = ["verified", "method", "note"]

    /// Default true.
    public var verified: Bool?
    /// How it was verified (`id_document`, `organisation`, `payment`, ...), for the record.
    public var method: String?
    public var note: String?

    public init(verified: Bool? = nil, method: String? = nil, note: String? = nil) {
        self.verified = verified
        self.method = method
        self.note = note
    }
}

/// `POST /v1/reasoning`: a gateway applying `summarize_reasoning` or `withhold_reasoning`
/// asks for the text to serve instead of the reasoning, and reports how many reasoning
/// tokens it did not serve.
/// Open to fields it does not know and to `null` (the LiteLLM guardrail sends
/// `"request_id": null` when the call has none): a gateway's body, not an analyst's.
public struct ReasoningRequest: Decodable, Sendable {
    public var accountID: String
    public var requestID: String?
    /// `summarize` or `withhold`.
    public var treatment: String
    /// The reasoning text (needed to summarise; never stored).
    public var reasoning: String?
    /// Reasoning tokens not served (the answer's usage), for the withheld-tokens counter.
    public var reasoningTokens: Int?

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case requestID = "request_id"
        case treatment, reasoning
        case reasoningTokens = "reasoning_tokens"
    }
}

extension ReasoningRequest {
    /// Foundation's decoder, except that a number `reasoning_tokens` cannot hold is an
    /// error naming it (``KeyedDecodingContainer/decodeWholeNumberIfPresent(forKey:)``).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accountID = try c.decode(String.self, forKey: .accountID)
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID)
        treatment = try c.decode(String.self, forKey: .treatment)
        reasoning = try c.decodeIfPresent(String.self, forKey: .reasoning)
        reasoningTokens = try c.decodeWholeNumberIfPresent(forKey: .reasoningTokens)
    }
}

/// `POST /v1/accounts/{id}/label` and `POST /v1/campaigns/{id}/label`: an analyst's label.
public struct LabelRequest: ClosedRequestBody, Sendable {
    public static let fieldNames = ["label", "note"]

    public var label: String
    public var note: String?

    /// The label asked for.
    /// - Throws: ``BodyError`` naming the field when it is not a label.
    public func analystLabel() throws(BodyError) -> AnalystLabel {
        switch label {
        case "confirmed_attack": return .confirmedAttack
        case "legitimate": return .legitimate
        default:
            throw BodyError("field \"label\": must be \"confirmed_attack\" or \"legitimate\", got \"\(label)\"")
        }
    }
}



extension DecideRequest {
    /// Reads a `POST /v1/decide` body on the fast path: one pass of ``JSONScanner`` over
    /// the bytes, no `Data` copy and no `Decoder` machinery (Foundation's `JSONDecoder` was
    /// about 60% of the route's own CPU under load).
    ///
    /// It answers only for the plain shape, a UTF-8 JSON object whose fields each
    /// appear once with a value of their type (`null` for an optional one), and returns
    /// `nil` for anything else (a byte order mark, a name given twice at any depth, `null` or a missing
    /// `account_id`, a number where an integer is wanted that is not one, an exponent,
    /// malformed JSON):
    /// then ``JSONBodyDecoder`` decides, so that what is accepted, the values read and
    /// every error message stay Foundation's. Unknown fields are skipped, as Foundation
    /// does. `DecideRequestScanTests` compares the two on valid and hostile bodies.
    /// - Complexity: O(n) in the body size; allocates only the strings read.
    public static func scanned(_ raw: UnsafeRawBufferPointer) -> DecideRequest? {
        let bytes = raw.bindMemory(to: UInt8.self)
        guard let first = bytes.first, first != 0xEF else { return nil }
        var scanner = JSONScanner(bytes)
        var account: String?
        var request = DecideRequest(accountID: "")
        var seen: UInt16 = 0
        var otherNames: [String] = []
        func once(_ bit: UInt16) throws(RecordError) {
            guard seen & bit == 0 else { throw RecordError("duplicate field") }
            seen |= bit
        }
        func string(_ s: inout JSONScanner) throws(RecordError) -> String? {
            if s.consumeNull() { return nil }
            guard s.peek() == 0x22 else { throw RecordError("not a string") }
            return try s.readString()
        }
        func bool(_ s: inout JSONScanner) throws(RecordError) -> Bool? {
            s.consumeNull() ? nil : try s.readBool()
        }
        do {
            try scanner.forEachMember { (key, s) throws(RecordError) in
                if keyEquals(key, "account_id") {
                    try once(1)
                    guard let value = try string(&s) else { throw RecordError("account_id") }
                    account = value
                } else if keyEquals(key, "api_key_id") {
                    try once(2); request.apiKeyID = try string(&s)
                } else if keyEquals(key, "request_id") {
                    try once(4); request.requestID = try string(&s)
                } else if keyEquals(key, "client_ip") {
                    try once(8); request.clientIP = try string(&s)
                } else if keyEquals(key, "user_agent") {
                    try once(16); request.userAgent = try string(&s)
                } else if keyEquals(key, "model") {
                    try once(32); request.model = try string(&s)
                } else if keyEquals(key, "prompt") {
                    try once(64); request.prompt = try string(&s)
                } else if keyEquals(key, "country") {
                    try once(128); request.country = try string(&s)
                } else if keyEquals(key, "max_tokens") {
                    try once(256)
                    if !s.consumeNull() {
                        guard case .integer(let n) = try s.readNumber() else { throw RecordError("max_tokens") }
                        request.maxTokens = Int(n)
                    }
                } else if keyEquals(key, "temperature") {
                    try once(512)
                    if !s.consumeNull() {
                        // Exponents are left to Foundation, which refuses some that RFC 8259
                        // allows (`0E7`): the fast path must not accept what it would not.
                        let start = s.position
                        let number = try s.readNumber()
                        for k in start..<s.position where s.bytes[k] | 0x20 == UInt8(ascii: "e") {
                            throw RecordError("temperature")
                        }
                        switch number {
                        case .integer(let n):
                            // Foundation reads a whole number beyond 2^53 through its text.
                            guard n.magnitude <= 1 << 53 else { throw RecordError("temperature") }
                            request.temperature = Double(n)
                        case .fraction(let v): request.temperature = v
                        }
                    }
                } else if keyEquals(key, "prefill") {
                    try once(1024); request.prefill = try bool(&s)
                } else if keyEquals(key, "thinking") {
                    try once(2048); request.thinking = try bool(&s)
                } else if keyEquals(key, "dry_run") {
                    try once(4096); request.dryRun = try bool(&s)
                } else {
                    // A name given twice, here or inside, is the slow path's to refuse.
                    let name = String(decoding: key, as: UTF8.self)
                    if otherNames.contains(name) { throw RecordError("duplicate field") }
                    otherNames.append(name)
                    if try s.skipValueFindingRepeatedName() != nil { throw RecordError("duplicate field") }
                }
            }
        } catch {
            return nil
        }
        guard let account else { return nil }
        request.accountID = account
        return request
    }
}
