/// One countermeasure a gateway applies to an account's requests: a measured response
/// short of blocking, so that a provider can act early on a suspect and an honest customer
/// flagged by mistake keeps working.
///
/// The reasoning directives come first because they are what hurts a distilling student
/// most for what they cost a customer: in a 2026 study of nine output-level defences,
/// removing the chain of thought was the only one that badly hurt the student (about 31%
/// against 68% on MATH-500), while the answer itself still reaches the customer.
/// Documentation/Countermeasures.md lists, for each, what it costs an honest customer and
/// which gateway applies it and how.
public enum Directive: Sendable, Hashable {
    /// Serve a summary of the model's reasoning instead of the reasoning itself (from the
    /// provider's summariser model, or a fixed notice when none is configured).
    case summarizeReasoning
    /// Serve the answer without the reasoning (the model still reasons).
    case withholdReasoning
    /// Turn extended thinking off in the request (`thinking`, `reasoning_effort`).
    case disableThinking
    /// Lower the request's `max_tokens` (and `max_completion_tokens`) to at most this many
    /// tokens.
    case capMaxTokens(Int)
    /// Refuse a request whose last message is the assistant's (a prefilled answer, which
    /// steers the model past its own reasoning or refusals).
    case denyPrefill
    /// Refuse requests until the account passes identity verification.
    case requireVerification
    /// Refuse requests beyond this many a minute.
    case rateLimit(requestsPerMinute: Int)
    /// Refuse every request.
    case block

    /// A directive's name without its parameter, as policy files and answers spell it.
    public enum Kind: String, CaseIterable, Sendable, Codable, Hashable, Comparable {
        case summarizeReasoning = "summarize_reasoning"
        case withholdReasoning = "withhold_reasoning"
        case disableThinking = "disable_thinking"
        case capMaxTokens = "cap_max_tokens"
        case denyPrefill = "deny_prefill"
        case requireVerification = "require_verification"
        case rateLimit = "rate_limit"
        case block

        /// Position in escalation order (the order of `allCases`).
        public var rank: Int { Self.allCases.firstIndex(of: self)! }

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rank < rhs.rank }

        /// Whether the directive takes a number (`cap_max_tokens: 4096`, `rate_limit: 20`).
        public var takesParameter: Bool { self == .capMaxTokens || self == .rateLimit }
    }

    public var kind: Kind {
        switch self {
        case .summarizeReasoning: return .summarizeReasoning
        case .withholdReasoning: return .withholdReasoning
        case .disableThinking: return .disableThinking
        case .capMaxTokens: return .capMaxTokens
        case .denyPrefill: return .denyPrefill
        case .requireVerification: return .requireVerification
        case .rateLimit: return .rateLimit
        case .block: return .block
        }
    }

    /// The number a directive carries: tokens for `cap_max_tokens`, requests per minute
    /// for `rate_limit`; nil for the others.
    public var parameter: Int? {
        switch self {
        case .capMaxTokens(let n), .rateLimit(let n): return n
        default: return nil
        }
    }

    /// The largest number a directive may carry: 10^9 tokens or requests a minute (more is
    /// a typo, and a gateway's integer fields must hold it).
    public static let maximumParameter = 1_000_000_000

    /// Builds a directive from its kind and number.
    /// - Returns: nil when a parameter is missing, not wanted, or outside
    ///   1...``maximumParameter``.
    public init?(kind: Kind, parameter: Int?) {
        if kind.takesParameter {
            guard let parameter, (1...Self.maximumParameter).contains(parameter) else { return nil }
            self = kind == .capMaxTokens ? .capMaxTokens(parameter) : .rateLimit(requestsPerMinute: parameter)
            return
        }
        guard parameter == nil else { return nil }
        switch kind {
        case .summarizeReasoning: self = .summarizeReasoning
        case .withholdReasoning: self = .withholdReasoning
        case .disableThinking: self = .disableThinking
        case .denyPrefill: self = .denyPrefill
        case .requireVerification: self = .requireVerification
        case .block: self = .block
        case .capMaxTokens, .rateLimit: return nil
        }
    }

    /// `withhold_reasoning`, `cap_max_tokens=4096`, `rate_limit=20/min`: one token, as the
    /// Envoy header and log lines carry it.
    public var token: String {
        switch self {
        case .capMaxTokens(let n): return "cap_max_tokens=\(n)"
        case .rateLimit(let n): return "rate_limit=\(n)/min"
        default: return kind.rawValue
        }
    }
}

/// A directive and the rule of the policy that called for it, for the answer, the report
/// and the audit log.
public struct AppliedDirective: Sendable, Equatable {
    public var directive: Directive
    /// The name of the ``CountermeasureRule`` that produced it (the strictest, when several
    /// did).
    public var rule: String

    public init(directive: Directive, rule: String) {
        self.directive = directive
        self.rule = rule
    }
}

/// The directives that apply to an account, merged: each kind at most once, the strictest
/// number kept (the lowest `cap_max_tokens`, the lowest `rate_limit`), `withhold_reasoning`
/// replacing `summarize_reasoning`, and `block` alone when present (nothing else matters
/// to a refused request).
public struct Countermeasures: Sendable, Equatable {
    /// In escalation order (``Directive/Kind/allCases``).
    public private(set) var applied: [AppliedDirective]

    public static let none = Countermeasures(applied: [])

    private init(applied: [AppliedDirective]) {
        self.applied = applied
    }

    /// Merges directives as described above.
    /// - Complexity: O(n log n) in the number of directives.
    public init(merging items: some Sequence<AppliedDirective>) {
        var strictest: [Directive.Kind: AppliedDirective] = [:]
        for item in items {
            let kind = item.directive.kind
            if let held = strictest[kind] {
                // A lower number is stricter; for the others the first rule keeps the credit.
                if let new = item.directive.parameter, let old = held.directive.parameter, new < old {
                    strictest[kind] = item
                }
            } else {
                strictest[kind] = item
            }
        }
        if let block = strictest[.block] {
            applied = [block]
            return
        }
        if strictest[.withholdReasoning] != nil { strictest[.summarizeReasoning] = nil }
        applied = strictest.values.sorted { $0.directive.kind < $1.directive.kind }
    }

    public var directives: [Directive] { applied.map(\.directive) }
    public var isEmpty: Bool { applied.isEmpty }

    public func contains(_ kind: Directive.Kind) -> Bool {
        applied.contains { $0.directive.kind == kind }
    }

    /// The cap on `max_tokens`, if one applies.
    public var maxTokens: Int? {
        for a in applied { if case .capMaxTokens(let n) = a.directive { return n } }
        return nil
    }

    /// The rate limit in requests a minute, if one applies.
    public var requestsPerMinute: Int? {
        for a in applied { if case .rateLimit(let n) = a.directive { return n } }
        return nil
    }

    /// What to do with reasoning text: withhold, summarise, or serve it.
    public var reasoning: ReasoningTreatment {
        if contains(.withholdReasoning) { return .withhold }
        if contains(.summarizeReasoning) { return .summarize }
        return .serve
    }

    /// `withhold_reasoning, cap_max_tokens=4096`: the directives as one header value.
    public var headerValue: String {
        applied.map(\.directive.token).joined(separator: ", ")
    }
}

/// What a gateway does with the reasoning in an answer.
public enum ReasoningTreatment: String, Sendable, Codable {
    case serve
    case summarize
    case withhold
}

/// A directive as answers and reports write it:
/// `{"directive": "cap_max_tokens", "max_tokens": 4096, "rule": "throttle"}`.
public struct DirectiveEntry: Sendable, Codable, Equatable {
    public var directive: Directive.Kind
    /// For `cap_max_tokens`: the most output tokens a request may ask for.
    public var maxTokens: Int?
    /// For `rate_limit`: requests a minute.
    public var requestsPerMinute: Int?
    /// The policy rule that called for it.
    public var rule: String

    public init(_ applied: AppliedDirective) {
        directive = applied.directive.kind
        switch applied.directive {
        case .capMaxTokens(let n): maxTokens = n
        case .rateLimit(let n): requestsPerMinute = n
        default: break
        }
        rule = applied.rule
    }

    enum CodingKeys: String, CodingKey {
        case directive
        case maxTokens = "max_tokens"
        case requestsPerMinute = "requests_per_minute"
        case rule
    }
}

extension Countermeasures {
    /// The directives as answers and reports write them.
    public var entries: [DirectiveEntry] { applied.map(DirectiveEntry.init) }
}
