import DistillWatchCore
import Foundation

/// Which of LiteLLM's identity fields names the DistillWatch account, in order of
/// preference, and which values are LiteLLM placeholders rather than identities.
///
/// LiteLLM attaches the caller's key metadata to every guardrail call (`request_data`) and
/// every logged call (`StandardLoggingPayload.metadata`): `user_api_key_org_id`,
/// `user_api_key_team_id`, `user_api_key_user_id`, `user_api_key_alias`,
/// `user_api_key_hash`, and the request's end user (`user_api_key_end_user_id`, the OpenAI
/// `user` field, `end_user` in the logging payload). The first field in ``order`` with a
/// real value names the account.
///
/// Placeholders fall through to the next field: LiteLLM 1.106.2 logs master-key traffic
/// with `user_api_key_user_id: "default_user_id"` and `user_api_key_hash:
/// "litellm_proxy_master_key"`, so with the master key every end user would otherwise be
/// one account, and labelling it would block everyone.
///
/// The default order is the billing identity first (organisation, team, user, key alias,
/// key hash), then the end user: `user` is chosen by the client, so it names the account
/// only when no key identity does (master-key deployments, where the gateway operator
/// sets it). A client with its own virtual key cannot split itself into many accounts by
/// changing `user`.
public struct LiteLLMIdentity: Sendable, Equatable {
    /// One identity field.
    public enum Field: String, Sendable, CaseIterable {
        case orgID = "org_id"
        case teamID = "team_id"
        case userID = "user_id"
        case keyAlias = "key_alias"
        case keyHash = "key_hash"
        /// The request's end user (OpenAI `user`): chosen by the client.
        case endUserID = "end_user_id"
        /// `additional_provider_specific_params.account_id` of a guardrail call, set in the
        /// guardrail's configuration or per request: chosen by whoever configures it.
        case param = "param"
    }

    /// The values of the identity fields of one call; empty strings count as absent.
    public struct Values: Sendable, Equatable {
        public var orgID: String?
        public var teamID: String?
        public var userID: String?
        public var keyAlias: String?
        public var keyHash: String?
        public var endUserID: String?
        public var param: String?

        public init(orgID: String? = nil, teamID: String? = nil, userID: String? = nil, keyAlias: String? = nil,
                    keyHash: String? = nil, endUserID: String? = nil, param: String? = nil) {
            self.orgID = orgID
            self.teamID = teamID
            self.userID = userID
            self.keyAlias = keyAlias
            self.keyHash = keyHash
            self.endUserID = endUserID
            self.param = param
        }

        public subscript(field: Field) -> String? {
            switch field {
            case .orgID: return orgID
            case .teamID: return teamID
            case .userID: return userID
            case .keyAlias: return keyAlias
            case .keyHash: return keyHash
            case .endUserID: return endUserID
            case .param: return param
            }
        }
    }

    public static let defaultOrder: [Field] = [.orgID, .teamID, .userID, .keyAlias, .keyHash, .endUserID]
    /// LiteLLM's own placeholder identities (1.106.2): the user id of master-key traffic,
    /// and the key "hash" it logs for the master key.
    public static let builtInPlaceholders: Set<String> = ["default_user_id", "litellm_proxy_master_key"]

    public var order: [Field]
    /// Values that never name an account: ``builtInPlaceholders`` plus any configured
    /// (e.g. the SHA-256 of the master key, as `user_api_key_hash` shows it in requests).
    public var placeholders: Set<String>

    public init(order: [Field] = LiteLLMIdentity.defaultOrder, extraPlaceholders: Set<String> = []) {
        self.order = order
        self.placeholders = Self.builtInPlaceholders.union(extraPlaceholders)
    }

    /// The account `values` name, and the field that named it; `nil` when every field in
    /// ``order`` is absent, empty or a placeholder.
    /// - Complexity: O(fields).
    public func account(_ values: Values) -> (id: String, field: Field)? {
        for field in order {
            if let v = values[field], !v.isEmpty, !placeholders.contains(v) { return (v, field) }
        }
        return nil
    }

    /// Whether a value is a real identity (present, not empty, not a placeholder).
    public func isIdentity(_ value: String?) -> Bool {
        guard let value else { return false }
        return !value.isEmpty && !placeholders.contains(value)
    }

    /// Why no account was found, for errors and audit entries: the fields tried and what
    /// each held.
    public func whyNoAccount(_ values: Values) -> String {
        let tried = order.map { field -> String in
            guard let v = values[field], !v.isEmpty else { return "\(field.rawValue) absent" }
            return "\(field.rawValue) is the placeholder \"\(v)\""
        }
        return "names no account (" + tried.joined(separator: ", ") + ")"
    }

    /// Parses a comma-separated or listed order (`org_id, team_id, ...`).
    /// - Throws: a message naming the unknown field and the known ones.
    public static func parseOrder(_ names: [String]) throws(LiteLLMIdentityError) -> [Field] {
        var fields: [Field] = []
        for raw in names {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard let field = Field(rawValue: name) else { throw LiteLLMIdentityError(unknownField: name) }
            if !fields.contains(field) { fields.append(field) }
        }
        guard !fields.isEmpty else { throw LiteLLMIdentityError(message: "the LiteLLM account field order is empty") }
        return fields
    }
}

/// An unusable LiteLLM identity setting.
public struct LiteLLMIdentityError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(message: String) { description = message }
    init(unknownField name: String) {
        description = "unknown LiteLLM account field \"\(name)\" (known: "
            + LiteLLMIdentity.Field.allCases.map(\.rawValue).joined(separator: ", ") + ")"
    }
}
