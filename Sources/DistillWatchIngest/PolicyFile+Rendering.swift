import DistillWatchCore

extension PolicyFile {
    /// Writes `policy` as a policy file that ``load(yaml:source:base:)`` reads back to an
    /// equal policy: every setting the file format has, with a comment saying what it does.
    ///
    /// `Examples/policy.yaml` is `render(.default)` (`distillwatch policy show` prints it,
    /// and a test checks that the two agree), so the example restates every default.
    ///
    /// - Parameter policy: the policy to write. Its `campaigns.common_email_domains` is
    ///   written as the domains it has beyond the built-in list, because the file format adds
    ///   to that list rather than replacing it.
    /// - Returns: YAML text, keys in a fixed order, lists and maps sorted, so two renders of
    ///   one policy are byte-identical.
    /// - Complexity: O(n log n) in the number of allowlist entries, tiers and models.
    public static func render(_ policy: Policy) -> String {
        var out = """
        # A DistillWatch policy. Every key is optional: what a file leaves out keeps the
        # built-in default. This file restates every default; it is written by
        #   distillwatch policy show > Examples/policy.yaml
        # Use a policy with
        #   distillwatch scan traffic.jsonl.gz --accounts accounts.jsonl --policy policy.yaml
        # Documentation/Policy.md explains each setting.

        # Weight of each behaviour and content signal: the score one signal at full strength
        # gives on its own, in [0, 1] (Documentation/Signals.md).
        weights:

        """
        for kind in SignalKind.allCases {
            out += "  \(kind.rawValue): \(Wording.decimal(policy.weight(kind)))\n"
        }
        out += """

        # Score at or above which each verdict applies (review <= throttle <= block).
        thresholds:
          review: \(Wording.decimal(policy.thresholds.review))
          throttle: \(Wording.decimal(policy.thresholds.throttle))
          block: \(Wording.decimal(policy.thresholds.block))

        # No account is flagged before it has sent this many exchanges.
        minimum_exchanges: \(policy.minimumExchanges)

        # Accounts that are always allowed (reported as allowlisted when their score is high).
        allowlist:
          accounts: \(list(policy.allowlist.accounts))
          payment_fingerprints: \(list(policy.allowlist.paymentFingerprints))
          email_domains: \(list(policy.allowlist.emailDomains))

        # What each customer tier is expected to use; volume signals compare against it.
        # Tier names are matched case-insensitively against the account record's `tier`.
        tiers:

        """
        for name in policy.tiers.keys.sorted() {
            out += "  \(scalar(name)): \(tier(policy.tiers[name]!))\n"
        }
        out += """
        # For accounts with no record or a tier not listed above.
        default_tier: \(tier(policy.defaultTier))

        # Output limit per model; a model not listed uses the largest max_tokens seen for it.
        model_max_tokens:\(policy.modelMaxTokens.isEmpty ? " {}" : "")

        """
        for model in policy.modelMaxTokens.keys.sorted() {
            out += "  \(scalar(model)): \(policy.modelMaxTokens[model]!)\n"
        }
        out += """

        # A model first seen this long after the traffic began counts as newly released, and
        # traffic moving to it within pivot_window_hours counts as a pivot.
        release_grace_hours: \(Wording.decimal(policy.releaseGraceHours))
        pivot_window_hours: \(Wording.decimal(policy.pivotWindowHours))

        # A prompt template family used by at least this many accounts counts as shared
        # (whole number, at least 2).
        shared_template_accounts: \(Wording.decimal(policy.sharedTemplateAccounts))

        # What a verified organisation's behaviour signals (volume, output volume,
        # round-the-clock, timing, model pivot, rate limits) count of their value, in [0, 1];
        # what it asks for counts in full (Documentation/Signals.md, "Hard negatives").
        verified_organisation_factor: \(Wording.decimal(policy.verifiedOrganisationFactor))

        # Campaign detection (Documentation/Campaigns.md): linking accounts into campaigns.
        campaigns:
          enabled: \(policy.campaigns.enabled)
          link_threshold: \(Wording.decimal(policy.campaigns.linkThreshold))      # evidence two accounts need to be linked
          attach_threshold: \(Wording.decimal(policy.campaigns.attachThreshold))    # evidence a small group needs to join a flagged campaign
          minimum_accounts: \(policy.campaigns.minimumAccounts)      # a linked group is scored as a campaign from this many accounts
          evidence_weights:

        """
        for kind in LinkEvidenceKind.allCases {
            out += "    \(kind.rawValue): \(Wording.decimal(policy.campaigns.weight(kind)))\n"
        }
        out += "  signal_weights:\n"
        for kind in CampaignSignalKind.allCases {
            out += "    \(kind.rawValue): \(Wording.decimal(policy.campaigns.weight(kind)))\n"
        }
        let extraDomains = policy.campaigns.commonEmailDomains.subtracting(CampaignPolicy.default.commonEmailDomains)
        out += "  # Added to the \(CampaignPolicy.default.commonEmailDomains.count) built-in mail providers whose sharing is no evidence.\n"
        out += "  common_email_domains: \(list(extraDomains))\n"
        out += """

        # Countermeasures (Documentation/Countermeasures.md): the directives gateways apply to
        # flagged accounts. Every rule whose conditions all hold applies; the strictest of
        # each directive wins. Conditions: verdict (at least; default review), score (at
        # least), signal or family with at_least, campaign (member of a flagged campaign),
        # unverified, signup_risk (at least). Only a rule with verdict: block may apply block.
        # Rules given here replace these built-in ones.
        countermeasures:
          enabled: \(policy.countermeasures.enabled)
          rules:

        """
        for rule in policy.countermeasures.rules {
            out += "    - name: \(scalar(rule.name))\n"
            out += "      when: {\(conditions(rule))}\n"
            out += "      apply: [\(rule.directives.map(directive).joined(separator: ", "))]\n"
        }
        let s = policy.signup
        out += """

        # Sign-up risk (Documentation/Countermeasures.md, "Before the first request"): how an
        # account record is scored when it arrives. Weights in [0, 1] per factor; a burst reads
        # 1 at burst_accounts accounts opened on one domain within an hour; the disposable-mail
        # domains add to the \(SignupPolicy.builtInThrowawayDomains.count) built in.
        signup:
          weights: {\(SignupRisk.Factor.allCases.map { "\($0.rawValue): \(Wording.decimal(s.weight($0)))" }.joined(separator: ", "))}
          burst_accounts: \(s.burstAccounts)
          pathway_tiers: \(list(s.pathwayTiers))
          throwaway_email_domains: \(list(s.throwawayDomains))

        # Model access (Documentation/Countermeasures.md, "Model access"): per model (a name,
        # or a prefix ending in *), the countries (ISO 3166-1 alpha-2) and tiers allowed; the
        # first matching rule applies. Empty: every model for everyone.
        model_access:\(policy.modelAccess.isEmpty ? " []" : "")

        """
        for rule in policy.modelAccess.rules {
            var parts = ["model: \(scalar(rule.model))"]
            if let a = rule.allowedCountries { parts.append("allowed_countries: \(list(a))") }
            if !rule.deniedCountries.isEmpty { parts.append("denied_countries: \(list(rule.deniedCountries))") }
            if let t = rule.allowedTiers { parts.append("allowed_tiers: \(list(t))") }
            out += "  - {\(parts.joined(separator: ", "))}\n"
        }
        return out
    }

    private static func conditions(_ rule: CountermeasureRule) -> String {
        var parts = ["verdict: \(rule.verdict.rawValue)"]
        if let score = rule.score { parts.append("score: \(Wording.decimal(score))") }
        if let signal = rule.signal { parts.append("signal: \(signal.rawValue)") }
        if let family = rule.family { parts.append("family: \(family.rawValue)") }
        if rule.signal != nil || rule.family != nil { parts.append("at_least: \(Wording.decimal(rule.atLeast))") }
        if rule.campaign { parts.append("campaign: true") }
        if rule.unverified { parts.append("unverified: true") }
        if let risk = rule.signupRisk { parts.append("signup_risk: \(Wording.decimal(risk))") }
        return parts.joined(separator: ", ")
    }

    private static func directive(_ d: Directive) -> String {
        guard let n = d.parameter else { return d.kind.rawValue }
        return "{\(d.kind.rawValue): \(n)}"
    }

    private static func tier(_ t: Policy.TierProfile) -> String {
        "{daily_exchanges: \(Wording.decimal(t.dailyExchanges)), daily_output_tokens: \(Wording.decimal(t.dailyOutputTokens)), "
            + "requests_per_minute: \(Wording.decimal(t.requestsPerMinute))}"
    }

    private static func list(_ items: Set<String>) -> String {
        "[" + items.sorted().map(scalar).joined(separator: ", ") + "]"
    }

    /// A string as a YAML scalar: plain when it cannot be mistaken for anything else,
    /// otherwise double-quoted with JSON escapes (a subset of YAML's double-quoted style,
    /// YAML 1.2 §7.3.1).
    static func scalar(_ s: String) -> String {
        let plainBytes = s.utf8.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x2E
        }
        let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]
        let first = s.utf8.first
        let startsLikeNumber = first.map { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E } ?? true
        if plainBytes, !startsLikeNumber, !reserved.contains(s.lowercased()) { return s }
        var quoted = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0xFEFF || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    quoted += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}
