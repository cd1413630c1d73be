/// The behaviour signals the engine computes for every account.
///
/// Each signal has a value in [0, 1] (0: nothing unusual, 1: as strong as this signal gets)
/// and a human-readable detail built from the same numbers. Documentation/Signals.md
/// explains each one and how the default policy weighs it.
public enum SignalKind: String, CaseIterable, Sendable, Codable, Hashable {
    /// Exchanges per day against what the account's tier and age lead one to expect.
    case volume
    /// Output tokens per day against the tier's expectation: harvesting wants long answers.
    case outputVolume = "output_volume"
    /// Activity in nearly every hour of the day, every day (share of hours active, entropy
    /// of the hour-of-day histogram).
    case roundTheClock = "round_the_clock"
    /// Machine-like regularity of the gaps between requests (low coefficient of variation).
    case timingRegularity = "timing_regularity"
    /// Request parameters pinned for harvesting: max_tokens at the model maximum, thinking
    /// always on, one fixed temperature, single-turn requests.
    case parameterFingerprint = "parameter_fingerprint"
    /// Share of the account's traffic that moved to a newly released model within 24 h of
    /// the model's first appearance in the traffic.
    case modelPivot = "model_pivot"
    /// Rate-limit pressure: share of requests answered 429, and minutes spent just under
    /// the tier's per-minute limit.
    case rateLimitPressure = "rate_limit_pressure"

    // Content signals (from prompt sketches; Documentation/Content.md).

    /// Share of prompts asking for step-by-step reasoning or a visible chain of thought.
    case cotElicitation = "cot_elicitation"
    /// Share of prompts asking to score, rate or compare answers: a reward model.
    case rubricGrading = "rubric_grading"
    /// Share of prompts asking to rewrite a question so that it becomes acceptable.
    case sensitiveRewriting = "sensitive_rewriting"
    /// Share of prompts asking to generate many diverse problems or examples.
    case syntheticDataGeneration = "synthetic_data_generation"
    /// Share of traffic in template families that many other accounts also use.
    case templateSharing = "template_sharing"
    /// Many distinct tasks with almost no repetition: a systematic sweep.
    case coverageSweep = "coverage_sweep"

    // Round two (Documentation/Signals.md, "Relays, replays, quotas, plans, jumps").

    /// Requests relayed for other products: many distinct system prompts interleaved, from
    /// an account that is not a verified platform passing its own end users.
    case relay
    /// Signed reasoning blocks replayed from another account's exchange or from an older
    /// session (`reasoning_replay_of`).
    case reasoningReplay = "reasoning_replay"
    /// A newly opened account that goes straight to its tier's per-minute limit.
    case quotaRacing = "quota_racing"
    /// Usage worth far more than the account's flat subscription price (`cost_usd`
    /// against `plan_price_usd`).
    case planValue = "plan_value"
    /// A jump in daily volume against the account's own earlier days (a leaked key, a
    /// takeover); extreme jumps reach `block` on their own.
    case suddenChange = "sudden_change"
    /// One API key used from many countries and networks within the same hour: re-shared
    /// or resold to many people. Judged per key (an account's own reading is its traffic
    /// without key ids).
    case keySharing = "key_sharing"

    // Indicator sharing (Documentation/Sharing.md).

    /// The account's traffic or record matched indicators another provider published about
    /// a distillation campaign: prompt-template families and system prompts (keyed
    /// fingerprints) count in full; addresses, networks, user agents and client stacks only
    /// corroborate (alone they stay below `review`).
    case sharedIndicator = "shared_indicator"

    // Model access (Documentation/Countermeasures.md, "Model access").

    /// Traffic to a model the provider restricts by country, from addresses in a country
    /// the model is not available in while the account declared one it is (or paying from
    /// such a country): evasion of an export-control restriction, usually through proxies.
    case accessEvasion = "access_evasion"

    /// The data family the signal needs; listed in `signals_without_data` when no record
    /// carried it.
    public var family: DataFamily {
        switch self {
        case .volume: return .volume
        case .outputVolume: return .tokens
        case .roundTheClock, .timingRegularity: return .timing
        case .parameterFingerprint: return .parameters
        case .modelPivot: return .models
        case .rateLimitPressure: return .status
        case .cotElicitation, .rubricGrading, .sensitiveRewriting, .syntheticDataGeneration,
             .templateSharing, .coverageSweep, .relay:
            return .content
        case .reasoningReplay: return .reasoningReplay
        case .quotaRacing: return .accounts
        case .planValue: return .cost
        case .suddenChange: return .volume
        case .keySharing: return .network
        case .sharedIndicator: return .sharedIndicators
        case .accessEvasion: return .network
        }
    }

    /// Number of signals.
    public static let count = 21

    /// The signals judged per API key when exchanges carry `api_key_id`.
    public static let perKey: [SignalKind] = [.suddenChange, .keySharing]
}

/// One value per signal, indexed by ``SignalKind/ordinal``.
public typealias SignalValues = InlineArray<21, Double>

/// Families of input data that signals depend on (spec: "say in its report which signal
/// families had no data").
public enum DataFamily: String, CaseIterable, Sendable, Codable, Hashable {
    case volume
    case timing
    /// `output_tokens`
    case tokens
    /// `max_tokens`, `temperature`, `thinking`, `message_count`, `tool_count`
    case parameters
    /// `model`
    case models
    /// `status`
    case status
    /// account records (age, tier)
    case accounts
    /// `client_ip`
    case network
    /// `prompt` text
    case content
    /// `reasoning_replay_of` (revision 1.1)
    case reasoningReplay = "reasoning_replay"
    /// `cost_usd` on exchanges and `plan_price_usd` on accounts (revision 1.1)
    case cost
    /// indicators imported from other providers (`distillwatch share import`)
    case sharedIndicators = "shared_indicators"
}

extension DataFamily {
    /// This family's bit in a set of families kept as a `UInt16` (a switch, not a search
    /// of `allCases`: the engine reads it on every exchange).
    var bit: UInt16 {
        switch self {
        case .volume: return 1 << 0
        case .timing: return 1 << 1
        case .tokens: return 1 << 2
        case .parameters: return 1 << 3
        case .models: return 1 << 4
        case .status: return 1 << 5
        case .accounts: return 1 << 6
        case .network: return 1 << 7
        case .content: return 1 << 8
        case .reasoningReplay: return 1 << 9
        case .cost: return 1 << 10
        case .sharedIndicators: return 1 << 11
        }
    }
}
