/// Per-account request rate limits for the `rate_limit` directive, by the generic cell rate
/// algorithm (GCRA; ITU-T I.371, the virtual-scheduling form): each account keeps one
/// time, its theoretical arrival time (TAT). A limit of `n` a minute spaces requests
/// `60,000 / n` ms apart and lets up to `n` arrive at once after a quiet minute.
///
/// Pure: time is a parameter. One entry (an id and 8 bytes) per account that was limited
/// within the last minute; ``prune(before:)`` drops the others.
public struct RequestRateLimiter: Sendable {
    /// The outcome for one request.
    public enum Outcome: Sendable, Equatable {
        case admitted
        /// Refused; the next request would be admitted this many milliseconds from now.
        case limited(retryAfterMilliseconds: Int64)
    }

    private var arrival: [String: Int64] = [:]

    public init() {}

    /// Accounts with an entry.
    public var count: Int { arrival.count }

    /// Counts a request from `accountID` against `requestsPerMinute`, and says whether it
    /// is within the limit. A refused request is not counted.
    /// - Complexity: O(1) expected.
    public mutating func admit(_ accountID: String, requestsPerMinute: Int, at time: Timestamp) -> Outcome {
        let (outcome, next) = look(accountID, requestsPerMinute: requestsPerMinute, at: time)
        if outcome == .admitted { arrival[accountID] = next }
        return outcome
    }

    /// What ``admit(_:requestsPerMinute:at:)`` would answer, without counting the request.
    /// - Complexity: O(1) expected.
    public func peek(_ accountID: String, requestsPerMinute: Int, at time: Timestamp) -> Outcome {
        look(accountID, requestsPerMinute: requestsPerMinute, at: time).outcome
    }

    private func look(_ accountID: String, requestsPerMinute: Int, at time: Timestamp) -> (outcome: Outcome, next: Int64) {
        let now = time.millisecondsSinceEpoch
        let rate = Int64(max(1, requestsPerMinute))
        let interval = max(1, 60_000 / rate)
        let tolerance = interval * (rate - 1)
        let tat = max(arrival[accountID] ?? now, now)
        if tat - now > tolerance {
            return (.limited(retryAfterMilliseconds: tat - tolerance - now), tat)
        }
        return (.admitted, tat + interval)
    }

    /// Drops the entries of accounts that would be admitted in full at `time` (their TAT
    /// is past): an account's next request starts afresh either way.
    /// - Complexity: O(entries).
    public mutating func prune(before time: Timestamp) {
        let now = time.millisecondsSinceEpoch
        arrival = arrival.filter { $0.value > now }
    }
}

/// What a gateway knows about a request when it applies directives. Unknown facts are nil.
public struct GatewayRequestFacts: Sendable, Equatable {
    /// The last message is the assistant's (a prefilled answer).
    public var prefill: Bool?
    /// The `max_tokens` (or `max_completion_tokens`) asked for.
    public var maxTokens: Int?
    /// Extended thinking or a reasoning effort was asked for.
    public var thinking: Bool?
    /// The model asked for, and the client address's country (ISO 3166-1 alpha-2), for the
    /// model access policy.
    public var model: String?
    public var addressCountry: String?

    public init(prefill: Bool? = nil, maxTokens: Int? = nil, thinking: Bool? = nil, model: String? = nil,
                addressCountry: String? = nil) {
        self.model = model
        self.addressCountry = addressCountry
        self.prefill = prefill
        self.maxTokens = maxTokens
        self.thinking = thinking
    }
}

/// Why a gateway refuses a request, from the directives.
public enum GatewayRefusal: Sendable, Equatable {
    case blocked
    case verificationRequired
    case prefillDenied
    case rateLimited(retryAfterMilliseconds: Int64)
    /// The model access policy does not make the model available to the account.
    case modelNotAvailable(ModelAccessDenial)

    /// The HTTP status a gateway answers: 403, except 429 for a rate limit.
    public var status: Int {
        if case .rateLimited = self { return 429 }
        return 403
    }

    /// The directive that refused, or `model_access` for the model access policy.
    public var name: String {
        switch self {
        case .blocked: return Directive.Kind.block.rawValue
        case .verificationRequired: return Directive.Kind.requireVerification.rawValue
        case .prefillDenied: return Directive.Kind.denyPrefill.rawValue
        case .rateLimited: return Directive.Kind.rateLimit.rawValue
        case .modelNotAvailable: return "model_access"
        }
    }

    /// An OpenAI-style error `code`: `distillwatch_blocked`, `verification_required`,
    /// `prefill_not_allowed`, `rate_limit_exceeded`.
    public var code: String {
        switch self {
        case .blocked: return "distillwatch_blocked"
        case .verificationRequired: return "verification_required"
        case .prefillDenied: return "prefill_not_allowed"
        case .rateLimited: return "rate_limit_exceeded"
        case .modelNotAvailable: return "model_not_available"
        }
    }
}

extension Countermeasures {
    /// The refusal the directives call for on a request with these facts, before the rate
    /// limit (which the caller checks only when nothing else refuses, so that a refused
    /// request does not use up the account's rate). Order: block, verification, prefill.
    /// - Complexity: O(directives).
    public func refusal(for request: GatewayRequestFacts) -> GatewayRefusal? {
        if contains(.block) { return .blocked }
        if contains(.requireVerification) { return .verificationRequired }
        if contains(.denyPrefill), request.prefill == true { return .prefillDenied }
        return nil
    }
}
