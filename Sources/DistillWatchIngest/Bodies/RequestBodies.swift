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

/// `POST /v1/accounts/{id}/verify`: the provider's identity service or an analyst records
/// that the account passed (or, with `"verified": false`, no longer passes) identity
/// verification.
public struct VerifyRequest: Decodable, Sendable {
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

/// `POST /v1/accounts/{id}/label` and `POST /v1/campaigns/{id}/label`: an analyst's label.
public struct LabelRequest: Decodable, Sendable {
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


