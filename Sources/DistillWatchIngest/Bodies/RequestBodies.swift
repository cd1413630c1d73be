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

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case apiKeyID = "api_key_id"
        case requestID = "request_id"
        case clientIP = "client_ip"
        case userAgent = "user_agent"
        case model
        case maxTokens = "max_tokens"
        case temperature, prompt
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


