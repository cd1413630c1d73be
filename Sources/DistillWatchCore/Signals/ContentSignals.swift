import RealModule

/// The content signals: pure functions of an account's ``ContentState``.
///
/// Each needs 20 prompts with content before it speaks (the coverage sweep 50). Values:
/// - `cot_elicitation`: share of prompts with a chain-of-thought cue, 0 up to 15%, 1 from 75%
///   (a person asks for reasoning now and then; a harvester always does);
/// - `rubric_grading`: share with grading cues, 1 from 40%;
/// - `sensitive_rewriting`: share with rewriting cues, 1 from 25%;
/// - `synthetic_data_generation`: share with generation meta-prompts, 1 from 35%;
/// - `template_sharing`: share of traffic in template families used by at least
///   `policy.sharedTemplateAccounts` accounts around mostly distinct content (a task list
///   split across accounts), 0 up to 20%, 1 from 80%;
/// - `coverage_sweep`: novelty (distinct signature material per prompt), 0 up to 15% and 1
///   from 50%, times one minus twice the near-duplicate rate, times a volume factor reaching
///   1 at 5,000 prompts.
enum ContentSignals {
    static let minimumPrompts: Int32 = 20
    static let minimumPromptsForSweep: Int32 = 50

    /// Fills the content signals of `v` from the account's content state, read where it
    /// lies (`inout` only for the account's address; nothing is written). Always inlined,
    /// so that the state is copied only when it holds enough prompts to be read: passed as
    /// `s.content`, the content state (624 bytes) was copied on every exchange, content or
    /// not (callgrind, 1 December 2026); passed by value from
    /// ``BehaviourSignals/values(inPlace:_:unkeyed:)``, the whole account (1,656 bytes) was
    /// (2 December 2026).
    @inline(__always)
    static func fill(_ v: inout SignalValues, _ s: inout AccountState, _ c: SignalContext) {
        guard s.content.exchanges >= minimumPrompts else { return }
        fill(&v, enough: &s, c)
    }

    /// ``fill(_:_:_:)`` for an account whose content state has enough prompts. Takes the
    /// whole account by address (`inout`; nothing is written): given `s.content`, the caller
    /// copied it before testing the count, and given the account by value, it copied the
    /// account.
    static func fill(_ v: inout SignalValues, enough account: inout AccountState, _ c: SignalContext) {
        let s = account.content
        v[SignalKind.cotElicitation.ordinal] = clamp((s.cueShare(0) - 0.15) / 0.6)
        v[SignalKind.rubricGrading.ordinal] = clamp(s.cueShare(1) / 0.4)
        v[SignalKind.sensitiveRewriting.ordinal] = clamp(s.cueShare(2) / 0.25)
        v[SignalKind.syntheticDataGeneration.ordinal] = clamp(s.cueShare(3) / 0.35)
        v[SignalKind.templateSharing.ordinal] = clamp((sharedTemplateShare(s) - 0.2) / 0.6)
        v[SignalKind.coverageSweep.ordinal] = coverageSweep(s).value
    }

    static func clamp(_ x: Double) -> Double { max(0, min(1, x)) }

    static func sharedTemplateShare(_ s: ContentState) -> Double {
        s.exchanges > 0 ? Double(s.sharedTemplateExchanges) / Double(s.exchanges) : 0
    }

    struct Coverage {
        var value = 0.0
        var novelty = 0.0
        var nearDuplicateRate = 0.0
        var lexicalDiversity = 0.0
    }

    static func coverageSweep(_ s: ContentState) -> Coverage {
        var c = Coverage()
        guard s.exchanges > 0 else { return c }
        let n = Double(s.exchanges)
        c.novelty = min(1, s.novelty.estimate / (16 * n))
        c.nearDuplicateRate = Double(s.nearDuplicates) / n
        if s.vocabularySamples > 1 {
            // Herdan's C: log(vocabulary) / log(tokens), on the sampled slice.
            c.lexicalDiversity = min(1, Double.log(max(1, s.vocabulary.estimate)) / Double.log(Double(s.vocabularySamples)))
        }
        guard s.exchanges >= minimumPromptsForSweep else { return c }
        let volume = clamp(Double.log10(n / 50) / 2)
        // Novelty is about 1/n for a repeated prompt, 0.3 to 0.6 for varied tasks inside a
        // wrapper as long as the task, and near 1 for free-form prompts.
        c.value = clamp((c.novelty - 0.15) / 0.35) * clamp(1 - 2 * c.nearDuplicateRate) * volume
        return c
    }

    static func detail(_ kind: SignalKind, _ s: ContentState, _ c: SignalContext) -> String {
        guard s.exchanges > 0 else { return "no prompt text" }
        let excerpt = s.cueExcerpt.map { "; e.g. \"\($0)\"" } ?? ""
        switch kind {
        case .cotElicitation:
            return "\(Wording.percent(s.cueShare(0), digits: 0)) of \(s.exchanges) prompts ask for step-by-step reasoning or a visible chain of thought\(excerpt)"
        case .rubricGrading:
            return "\(Wording.percent(s.cueShare(1), digits: 0)) of \(s.exchanges) prompts ask to score, rate or compare answers\(excerpt)"
        case .sensitiveRewriting:
            return "\(Wording.percent(s.cueShare(2), digits: 0)) of \(s.exchanges) prompts ask to rewrite a question so it becomes acceptable\(excerpt)"
        case .syntheticDataGeneration:
            return "\(Wording.percent(s.cueShare(3), digits: 0)) of \(s.exchanges) prompts ask to generate many diverse problems or examples\(excerpt)"
        case .templateSharing:
            return "\(Wording.percent(sharedTemplateShare(s), digits: 0)) of \(s.exchanges) prompts use template families shared by "
                + "\(Wording.rounded(c.policy.sharedTemplateAccounts)) or more accounts with distinct content in each (a split task list); "
                + "\(Wording.percent(Double(s.sameTemplateAsPrevious) / Double(s.exchanges), digits: 0)) repeat the previous prompt's template"
        case .coverageSweep:
            let cov = coverageSweep(s)
            let mix = s.capabilityShares.filter { $0.1 >= 0.05 }.sorted { $0.1 > $1.1 }
                .map { "\($0.0.rawValue) \(Wording.percent($0.1, digits: 0))" }.joined(separator: ", ")
            return "\(s.exchanges) prompts, novelty \(Wording.rounded(cov.novelty, digits: 2)), near-duplicates "
                + "\(Wording.percent(cov.nearDuplicateRate, digits: 0)), lexical diversity \(Wording.rounded(cov.lexicalDiversity, digits: 2)); targets: \(mix)"
        default:
            return ""
        }
    }
}
