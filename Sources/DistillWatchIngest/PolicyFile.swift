import DistillWatchCore
import Yams

/// A problem in a policy file: where it is and what to do about it.
public struct PolicyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: String
    public var line: Int?
    public var message: String

    public var description: String {
        if let line { return "\(source):\(line): \(message)" }
        return "\(source): \(message)"
    }
}

/// Loads a YAML policy that overrides parts of the built-in ``Policy/default``.
///
/// ```yaml
/// weights:            # any subset of the signals
///   volume: 0.5
///   model_pivot: 0.6
/// thresholds: {review: 0.5, throttle: 0.75, block: 0.9}
/// minimum_exchanges: 20
/// allowlist:
///   accounts: [acct-partner-1]
///   payment_fingerprints: [pf-7a1c]
///   email_domains: [partner.example]
/// tiers:
///   free: {daily_exchanges: 40, daily_output_tokens: 40000, requests_per_minute: 20}
/// default_tier: {daily_exchanges: 400}
/// model_max_tokens: {frontier-large: 32000}
/// pivot_window_hours: 24
/// release_grace_hours: 24
/// verified_organisation_factor: 0.5
/// campaigns:
///   enabled: true
///   link_threshold: 1.0
///   attach_threshold: 0.6
///   minimum_accounts: 3
///   evidence_weights: {shared_payment: 0.8, signup_burst: 0.4}
///   signal_weights: {proxy_rotation: 0.8}
///   common_email_domains: [example-mail.com]    # added to the built-in list
/// countermeasures:
///   enabled: true
///   rules:              # replaces the built-in rules when given
///     - name: throttle
///       when: {verdict: throttle}
///       apply: [withhold_reasoning, {cap_max_tokens: 4096}, {rate_limit: 20}]
/// ```
/// Unknown keys are errors (a misspelt weight would otherwise be silently ignored).
public enum PolicyFile {
    public static func load(yaml text: String, source: String = "policy", base: Policy = .default) throws -> Policy {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.yamlProblem(error, source: source)
        }
        var policy = base
        guard let root else { return policy }
        guard let mapping = root.mapping else {
            throw PolicyFileError(source: source, line: line(root), message: "the policy must be a mapping of settings")
        }
        let reader = Reader(source: source)
        for (keyNode, value) in mapping {
            let key = try reader.string(keyNode)
            switch key {
            case "weights":
                for (k, v) in try reader.mapping(value, "weights") {
                    let name = try reader.string(k)
                    guard let kind = SignalKind(rawValue: name) else {
                        throw reader.error(k, "unknown signal \"\(name)\"; known: \(SignalKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    policy.setWeight(try reader.unitInterval(v, "weights.\(name)"), for: kind)
                }
            case "thresholds":
                for (k, v) in try reader.mapping(value, "thresholds") {
                    let name = try reader.string(k)
                    let x = try reader.unitInterval(v, "thresholds.\(name)")
                    switch name {
                    case "review": policy.thresholds.review = x
                    case "throttle": policy.thresholds.throttle = x
                    case "block": policy.thresholds.block = x
                    default: throw reader.error(k, "unknown threshold \"\(name)\"; known: review, throttle, block")
                    }
                }
                let t = policy.thresholds
                guard t.review <= t.throttle, t.throttle <= t.block else {
                    throw reader.error(value, "thresholds must satisfy review <= throttle <= block (got \(t.review), \(t.throttle), \(t.block))")
                }
            case "minimum_exchanges":
                policy.minimumExchanges = try reader.nonNegativeInt(value, key)
            case "allowlist":
                for (k, v) in try reader.mapping(value, "allowlist") {
                    let name = try reader.string(k)
                    let items = Set(try reader.strings(v, "allowlist.\(name)"))
                    switch name {
                    case "accounts": policy.allowlist.accounts = items
                    case "payment_fingerprints": policy.allowlist.paymentFingerprints = items
                    case "email_domains": policy.allowlist.emailDomains = Set(items.map { $0.lowercased() })
                    default: throw reader.error(k, "unknown allowlist \"\(name)\"; known: accounts, payment_fingerprints, email_domains")
                    }
                }
            case "tiers":
                // Tier names match accounts' tiers without regard to case, so two spellings
                // of one name would be one tier, set twice.
                var spelled: [String: String] = [:]
                for (k, v) in try reader.mapping(value, "tiers") {
                    let written = try reader.string(k)
                    let name = written.lowercased()
                    if let earlier = spelled[name] {
                        throw reader.error(k, "tier \"\(written)\" is tier \"\(earlier)\" again (tier names match in any case)")
                    }
                    spelled[name] = written
                    let base = policy.tiers[name] ?? policy.defaultTier
                    policy.tiers[name] = try reader.tier(v, base: base, "tiers.\(name)")
                }
            case "default_tier":
                policy.defaultTier = try reader.tier(value, base: policy.defaultTier, key)
            case "model_max_tokens":
                for (k, v) in try reader.mapping(value, key) {
                    policy.modelMaxTokens[try reader.string(k)] = try reader.nonNegativeInt(v, "model_max_tokens")
                }
            case "pivot_window_hours":
                policy.pivotWindowHours = try reader.positiveNumber(value, key)
            case "release_grace_hours":
                policy.releaseGraceHours = try reader.nonNegativeNumber(value, key)
            case "shared_template_accounts":
                let n = try reader.nonNegativeInt(value, key)
                guard n >= 2 else { throw reader.error(value, "\(key) must be at least 2, got \(n)") }
                policy.sharedTemplateAccounts = Double(n)
            case "verified_organisation_factor":
                policy.verifiedOrganisationFactor = try reader.unitInterval(value, key)
            case "campaigns":
                policy.campaigns = try reader.campaigns(value, base: policy.campaigns)
            case "countermeasures":
                policy.countermeasures = try reader.countermeasures(value, base: policy.countermeasures)
            case "signup":
                policy.signup = try reader.signup(value, base: policy.signup)
            case "model_access":
                policy.modelAccess = try reader.modelAccess(value)
            default:
                throw reader.error(keyNode, "unknown setting \"\(key)\"; known: weights, thresholds, minimum_exchanges, "
                    + "allowlist, tiers, default_tier, model_max_tokens, pivot_window_hours, release_grace_hours, "
                    + "shared_template_accounts, verified_organisation_factor, campaigns, countermeasures, signup, model_access")
            }
        }
        return policy
    }

    /// Yams' error as one line: the file's line, then the problem and its context, without
    /// Yams' own position prefix.
    static func yamlProblem(_ error: YamlError, source: String) -> PolicyFileError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let why = context.map { " (\($0.text))" } ?? ""
            return PolicyFileError(source: source, line: mark.line, message: "not valid YAML: \(problem)\(why), column \(mark.column)")
        case .duplicatedKeysInMapping(let keys, let context):
            // Yams marks the first of the two; the second is what to look at.
            let key = keys.first ?? "?"
            let first = context.mark.line
            let second = repeatedKeyLine(key, firstLine: first, column: context.mark.column, in: context.text)
            let names = keys.map { "\"\($0)\"" }.joined(separator: ", ")
            return PolicyFileError(source: source, line: second ?? first,
                                   message: "\(names) \(keys.count == 1 ? "is" : "are") given more than once in one mapping"
                                    + (second != nil ? " (first on line \(first))" : "") + "; each setting once")
        default:
            return PolicyFileError(source: source, line: nil, message: "not valid YAML: \(error)")
        }
    }

    /// The line after `firstLine` where `key` starts a block mapping entry at `column` (both
    /// from 1, as Yams counts), or `nil` (a flow mapping, a quoted key written otherwise).
    static func repeatedKeyLine(_ key: String, firstLine: Int, column: Int, in text: String) -> Int? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index + 1 > firstLine {
            let bytes = Array(line.utf8)
            guard bytes.count >= column, bytes[..<(column - 1)].allSatisfy({ $0 == 0x20 || $0 == 0x2D }) else { continue }
            let rest = String(decoding: bytes[(column - 1)...], as: UTF8.self)
            if rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':") { return index + 1 }
        }
        return nil
    }

    private static func line(_ node: Node) -> Int? {
        node.mark.map { $0.line }
    }

    private struct Reader {
        let source: String

        func error(_ node: Node, _ message: String) -> PolicyFileError {
            PolicyFileError(source: source, line: node.mark?.line, message: message)
        }

        func string(_ node: Node) throws -> String {
            guard let s = node.scalar?.string else { throw error(node, "expected a name") }
            return s
        }

        func mapping(_ node: Node, _ field: String) throws -> [(Node, Node)] {
            guard let m = node.mapping else { throw error(node, "\(field) must be a mapping") }
            return Array(m)
        }

        func strings(_ node: Node, _ field: String) throws -> [String] {
            guard let seq = node.sequence else { throw error(node, "\(field) must be a list") }
            return try seq.map { item in
                guard let s = item.scalar?.string else { throw error(item, "\(field) must hold strings") }
                return s
            }
        }

        /// The text of a plain (unquoted) scalar meant as a number or a boolean. A quoted one
        /// is YAML's string: every other YAML reader takes `"0.5"` for text, so a policy that
        /// works here only by reading it as a number is refused, naming the quotes.
        func unquoted(_ node: Node, _ field: String, _ expected: String) throws -> String? {
            guard let scalar = node.scalar else { return nil }
            switch scalar.style {
            case .singleQuoted, .doubleQuoted, .literal, .folded:
                throw error(node, "\(field) must be \(expected), not the quoted text \"\(scalar.string)\" (write it without quotes)")
            default:
                return scalar.string
            }
        }

        func number(_ node: Node, _ field: String) throws -> Double {
            guard let s = try unquoted(node, field, "a number"), let x = Double(s), x.isFinite else {
                throw error(node, "\(field) must be a number")
            }
            return x
        }

        func unitInterval(_ node: Node, _ field: String) throws -> Double {
            let x = try number(node, field)
            guard (0...1).contains(x) else { throw error(node, "\(field) must be between 0 and 1, got \(x)") }
            return x
        }

        /// Rates, volumes and hours: positive, and at most 10^12 (more is a typo: no tier
        /// expects a trillion requests a minute, and larger values would only saturate).
        func positiveNumber(_ node: Node, _ field: String) throws -> Double {
            let x = try number(node, field)
            guard x > 0 else { throw error(node, "\(field) must be greater than 0, got \(x)") }
            guard x <= 1e12 else { throw error(node, "\(field) must be at most 1000000000000, got \(x)") }
            return x
        }

        func nonNegativeNumber(_ node: Node, _ field: String) throws -> Double {
            let x = try number(node, field)
            guard x >= 0 else { throw error(node, "\(field) must not be negative, got \(x)") }
            guard x <= 1e12 else { throw error(node, "\(field) must be at most 1000000000000, got \(x)") }
            return x
        }

        func nonNegativeInt(_ node: Node, _ field: String) throws -> Int {
            guard let s = try unquoted(node, field, "a whole number"), let x = Int(s), x >= 0 else {
                throw error(node, "\(field) must be a whole number of at least 0")
            }
            return x
        }

        func bool(_ node: Node, _ field: String) throws -> Bool {
            switch try unquoted(node, field, "true or false")?.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: throw error(node, "\(field) must be true or false")
            }
        }

        func campaigns(_ node: Node, base: CampaignPolicy) throws -> CampaignPolicy {
            var c = base
            for (k, v) in try mapping(node, "campaigns") {
                let name = try string(k)
                let field = "campaigns.\(name)"
                switch name {
                case "enabled": c.enabled = try bool(v, field)
                case "link_threshold": c.linkThreshold = try positiveNumber(v, field)
                case "attach_threshold": c.attachThreshold = try positiveNumber(v, field)
                case "minimum_accounts":
                    let n = try nonNegativeInt(v, field)
                    guard n >= 2 else { throw error(v, "\(field) must be at least 2, got \(n)") }
                    c.minimumAccounts = n
                case "evidence_weights":
                    for (ek, ev) in try mapping(v, field) {
                        let kindName = try string(ek)
                        guard let kind = LinkEvidenceKind(rawValue: kindName) else {
                            throw error(ek, "unknown evidence \"\(kindName)\"; known: \(LinkEvidenceKind.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        c.setWeight(try nonNegativeNumber(ev, "\(field).\(kindName)"), for: kind)
                    }
                case "signal_weights":
                    for (sk, sv) in try mapping(v, field) {
                        let kindName = try string(sk)
                        guard let kind = CampaignSignalKind(rawValue: kindName) else {
                            throw error(sk, "unknown campaign signal \"\(kindName)\"; known: \(CampaignSignalKind.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        c.setWeight(try unitInterval(sv, "\(field).\(kindName)"), for: kind)
                    }
                case "common_email_domains":
                    c.commonEmailDomains.formUnion(try strings(v, field).map { $0.lowercased() })
                default:
                    throw error(k, "unknown campaign setting \"\(name)\"; known: enabled, link_threshold, attach_threshold, "
                        + "minimum_accounts, evidence_weights, signal_weights, common_email_domains")
                }
            }
            guard c.attachThreshold <= c.linkThreshold else {
                throw error(node, "campaigns.attach_threshold (\(c.attachThreshold)) must not exceed campaigns.link_threshold (\(c.linkThreshold))")
            }
            return c
        }

        /// `model_access: [{model: "frontier-*", allowed_countries: [US, GB], denied_countries:
        /// [...], allowed_tiers: [enterprise]}, ...]`: first match wins; country codes are ISO
        /// 3166-1 alpha-2.
        func modelAccess(_ node: Node) throws -> ModelAccessPolicy {
            guard let items = node.sequence else { throw error(node, "model_access must be a list of {model, allowed_countries, denied_countries, allowed_tiers}") }
            var rules: [ModelAccessRule] = []
            for (n, item) in items.enumerated() {
                let field = "model_access[\(n)]"
                var rule = ModelAccessRule(model: "")
                var model: String?
                for (k, v) in try mapping(item, field) {
                    let name = try string(k)
                    switch name {
                    case "model":
                        let m = try string(v)
                        guard !m.isEmpty, m != "*" else { throw error(v, "\(field).model must name a model or a prefix such as frontier-*") }
                        model = m
                    case "allowed_countries": rule.allowedCountries = Set(try countries(v, "\(field).\(name)"))
                    case "denied_countries": rule.deniedCountries = Set(try countries(v, "\(field).\(name)"))
                    case "allowed_tiers": rule.allowedTiers = Set(try strings(v, "\(field).\(name)").map { $0.lowercased() })
                    default:
                        throw error(k, "\(field): unknown key \"\(name)\"; known: model, allowed_countries, denied_countries, allowed_tiers")
                    }
                }
                guard let model else { throw error(item, "\(field) needs a model") }
                rule.model = model
                guard rule.restrictsCountries || rule.allowedTiers != nil else {
                    throw error(item, "\(field) (\(model)) restricts nothing: give allowed_countries, denied_countries or allowed_tiers")
                }
                if let allowed = rule.allowedCountries, !allowed.isDisjoint(with: rule.deniedCountries) {
                    throw error(item, "\(field) (\(model)) both allows and denies \(allowed.intersection(rule.deniedCountries).sorted().joined(separator: ", "))")
                }
                rules.append(rule)
            }
            return ModelAccessPolicy(rules: rules)
        }

        /// ISO 3166-1 alpha-2 codes, upper-cased.
        func countries(_ node: Node, _ field: String) throws -> [String] {
            guard let seq = node.sequence else { throw error(node, "\(field) must be a list of country codes") }
            return try seq.map { item in
                guard let s = item.scalar?.string, s.utf8.count == 2, s.utf8.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else {
                    throw error(item, "\(field) must hold two-letter ISO 3166-1 codes such as US, got \"\(item.scalar?.string ?? "?")\"")
                }
                return s.uppercased()
            }
        }

        /// `signup: {weights: {...}, burst_accounts: 10, pathway_tiers: [...],
        /// throwaway_email_domains: [...]}` (the domains add to the built-in list; the tiers
        /// replace the default ones).
        func signup(_ node: Node, base: SignupPolicy) throws -> SignupPolicy {
            var p = base
            for (k, v) in try mapping(node, "signup") {
                let name = try string(k)
                let field = "signup.\(name)"
                switch name {
                case "weights":
                    for (wk, wv) in try mapping(v, field) {
                        let factorName = try string(wk)
                        guard let factor = SignupRisk.Factor(rawValue: factorName) else {
                            throw error(wk, "unknown sign-up factor \"\(factorName)\"; known: \(SignupRisk.Factor.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        p.weights[factor] = try unitInterval(wv, "\(field).\(factorName)")
                    }
                case "burst_accounts":
                    let n = try nonNegativeInt(v, field)
                    guard (3...1_000_000).contains(n) else { throw error(v, "\(field) must be from 3 to 1000000, got \(n)") }
                    p.burstAccounts = n
                case "pathway_tiers":
                    p.pathwayTiers = Set(try strings(v, field).map { $0.lowercased() })
                case "throwaway_email_domains":
                    p.throwawayDomains.formUnion(try strings(v, field).map { $0.lowercased() })
                default:
                    throw error(k, "unknown sign-up setting \"\(name)\"; known: weights, burst_accounts, pathway_tiers, throwaway_email_domains")
                }
            }
            return p
        }

        /// `countermeasures: {enabled: true, rules: [...]}`; `rules`, when given, replaces
        /// the built-in rules entirely (`distillwatch policy show` prints them to start from).
        func countermeasures(_ node: Node, base: CountermeasurePolicy) throws -> CountermeasurePolicy {
            var c = base
            for (k, v) in try mapping(node, "countermeasures") {
                let name = try string(k)
                switch name {
                case "enabled": c.enabled = try bool(v, "countermeasures.enabled")
                case "rules":
                    guard let items = v.sequence else { throw error(v, "countermeasures.rules must be a list of rules") }
                    var rules: [CountermeasureRule] = []
                    var names: Set<String> = []
                    for (n, item) in items.enumerated() {
                        let rule = try countermeasureRule(item, field: "countermeasures.rules[\(n)]")
                        guard names.insert(rule.name).inserted else {
                            throw error(item, "countermeasures.rules[\(n)]: the name \"\(rule.name)\" is used by an earlier rule")
                        }
                        rules.append(rule)
                    }
                    c.rules = rules
                default:
                    throw error(k, "unknown countermeasures setting \"\(name)\"; known: enabled, rules")
                }
            }
            return c
        }

        /// One rule: `{name: ..., when: {verdict:, score:, signal:, family:, at_least:,
        /// campaign:, unverified:}, apply: [directive or {directive: number}, ...]}`.
        func countermeasureRule(_ node: Node, field: String) throws -> CountermeasureRule {
            var name: String?
            var rule = CountermeasureRule(name: "", directives: [])
            var sawApply = false
            for (k, v) in try mapping(node, field) {
                let key = try string(k)
                switch key {
                case "name":
                    let n = try string(v)
                    guard !n.isEmpty, n.utf8.count <= 200 else { throw error(v, "\(field).name must be 1 to 200 bytes") }
                    name = n
                case "when":
                    for (ck, cv) in try mapping(v, "\(field).when") {
                        let condition = try string(ck)
                        let where_ = "\(field).when.\(condition)"
                        switch condition {
                        case "verdict":
                            let text = try string(cv)
                            guard let verdict = Verdict(rawValue: text) else {
                                throw error(cv, "\(where_) must be one of allow, review, throttle, block, got \"\(text)\"")
                            }
                            rule.verdict = verdict
                        case "score": rule.score = try unitInterval(cv, where_)
                        case "signal":
                            let text = try string(cv)
                            guard let kind = SignalKind(rawValue: text) else {
                                throw error(cv, "\(where_): unknown signal \"\(text)\"; known: \(SignalKind.allCases.map(\.rawValue).joined(separator: ", "))")
                            }
                            rule.signal = kind
                        case "family":
                            let text = try string(cv)
                            guard let family = DataFamily(rawValue: text) else {
                                throw error(cv, "\(where_): unknown family \"\(text)\"; known: \(DataFamily.allCases.map(\.rawValue).joined(separator: ", "))")
                            }
                            rule.family = family
                        case "at_least": rule.atLeast = try unitInterval(cv, where_)
                        case "campaign": rule.campaign = try bool(cv, where_)
                        case "unverified": rule.unverified = try bool(cv, where_)
                        case "signup_risk": rule.signupRisk = try unitInterval(cv, where_)
                        default:
                            throw error(ck, "\(field): unknown condition \"\(condition)\"; known: verdict, score, signal, family, at_least, campaign, unverified, signup_risk")
                        }
                    }
                case "apply":
                    sawApply = true
                    guard let items = v.sequence else { throw error(v, "\(field).apply must be a list of directives") }
                    rule.directives = try items.map { try directive($0, field: "\(field).apply") }
                default:
                    throw error(k, "\(field): unknown key \"\(key)\"; known: name, when, apply")
                }
            }
            guard let name else { throw error(node, "\(field) needs a name (it is quoted in answers and the audit log)") }
            rule.name = name
            guard sawApply else { throw error(node, "\(field) (\"\(name)\") needs apply: a list of directives") }
            if let problem = rule.problem { throw error(node, "\(field) (\"\(name)\") \(problem)") }
            return rule
        }

        /// `withhold_reasoning`, or `{cap_max_tokens: 4096}`, `{rate_limit: 20}` (also
        /// `{rate_limit: 20/min}`).
        func directive(_ node: Node, field: String) throws -> Directive {
            let known = Directive.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            if let text = node.scalar?.string {
                guard let kind = Directive.Kind(rawValue: text) else {
                    throw error(node, "\(field): unknown directive \"\(text)\"; known: \(known)")
                }
                guard let d = Directive(kind: kind, parameter: nil) else {
                    throw error(node, "\(field): \(text) needs a number, as {\(text): N}")
                }
                return d
            }
            guard let m = node.mapping, m.count == 1, let (k, v) = m.first else {
                throw error(node, "\(field): a directive is a name or a one-key mapping such as {cap_max_tokens: 4096}")
            }
            let text = try string(k)
            guard let kind = Directive.Kind(rawValue: text) else {
                throw error(k, "\(field): unknown directive \"\(text)\"; known: \(known)")
            }
            guard kind.takesParameter else { throw error(k, "\(field): \(text) takes no number; write it as a plain name") }
            var number = v.scalar?.string ?? ""
            if kind == .rateLimit, number.hasSuffix("/min") { number.removeLast(4) }
            guard let n = Int(number.trimmingASCIISpaces), let d = Directive(kind: kind, parameter: n) else {
                throw error(v, "\(field).\(text) must be a whole number from 1 to \(Directive.maximumParameter)\(kind == .rateLimit ? " (requests a minute)" : " (tokens)")")
            }
            return d
        }

        func tier(_ node: Node, base: Policy.TierProfile, _ field: String) throws -> Policy.TierProfile {
            var t = base
            var outputTokensGiven = false
            for (k, v) in try mapping(node, field) {
                let name = try string(k)
                switch name {
                case "daily_exchanges": t.dailyExchanges = try positiveNumber(v, "\(field).\(name)")
                case "daily_output_tokens":
                    t.dailyOutputTokens = try positiveNumber(v, "\(field).\(name)")
                    outputTokensGiven = true
                case "requests_per_minute": t.requestsPerMinute = try positiveNumber(v, "\(field).\(name)")
                default:
                    throw error(k, "unknown tier setting \"\(name)\"; known: daily_exchanges, daily_output_tokens, requests_per_minute")
                }
            }
            // Documented default (Policy.md): 1,000 output tokens per expected exchange, so a
            // tier that changes only its exchanges does not keep the old volume of tokens.
            if !outputTokensGiven, t.dailyExchanges != base.dailyExchanges { t.dailyOutputTokens = 1_000 * t.dailyExchanges }
            return t
        }
    }
}
