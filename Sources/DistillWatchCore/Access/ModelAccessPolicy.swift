/// Who may use which model: per model (an exact name, or a prefix ending in `*`), the
/// countries and tiers allowed, as export controls on some frontier models now require
/// (Documentation/Countermeasures.md, "Model access").
///
/// A request is judged on every country known for it, and each must be allowed: the
/// address's (`country` of the exchange, or the gateway's), the one the customer declared
/// (`declared_country`), and the payment instrument's (`payment_country`, a DistillWatch
/// extension of the account record; extra fields are allowed by the format). An account
/// whose addresses contradict its declared country on a restricted model is flagged by the
/// `access_evasion` signal, with the evidence.
public struct ModelAccessRule: Sendable, Equatable {
    /// `frontier-large`, or `frontier-*` for every model whose name starts with `frontier-`.
    public var model: String
    /// ISO 3166-1 alpha-2 codes (upper case) allowed; nil: any country not denied.
    public var allowedCountries: Set<String>?
    public var deniedCountries: Set<String>
    /// Tiers (lower case) allowed; nil: any tier.
    public var allowedTiers: Set<String>?

    public init(model: String, allowedCountries: Set<String>? = nil, deniedCountries: Set<String> = [],
                allowedTiers: Set<String>? = nil) {
        self.model = model
        self.allowedCountries = allowedCountries
        self.deniedCountries = deniedCountries
        self.allowedTiers = allowedTiers
    }

    public func matches(model name: String) -> Bool {
        if model.hasSuffix("*") { return name.hasPrefix(model.dropLast()) }
        return name == model
    }

    /// Whether the rule restricts countries at all (evasion is judged on these rules only).
    public var restrictsCountries: Bool { allowedCountries != nil || !deniedCountries.isEmpty }

    public func allows(country: String) -> Bool {
        let c = country.uppercased()
        if deniedCountries.contains(c) { return false }
        if let allowedCountries { return allowedCountries.contains(c) }
        return true
    }

    public func allows(tier: String?) -> Bool {
        guard let allowedTiers else { return true }
        return allowedTiers.contains((tier ?? "").lowercased())
    }
}

/// Why a request for a restricted model is refused.
public struct ModelAccessDenial: Sendable, Equatable {
    public enum Basis: String, Sendable, Codable {
        case addressCountry = "address_country"
        case declaredCountry = "declared_country"
        case paymentCountry = "payment_country"
        case tier
    }

    public var model: String
    public var basis: Basis
    /// The country code or tier that is not allowed.
    public var value: String

    /// "model frontier-large is not available to accounts whose declared country is CN".
    public var description: String {
        let what: String
        switch basis {
        case .addressCountry: what = "requests from \(value)"
        case .declaredCountry: what = "accounts whose declared country is \(value)"
        case .paymentCountry: what = "accounts paying from \(value)"
        case .tier: what = value.isEmpty ? "accounts without a tier" : "the \(value) tier"
        }
        return "model \(model) is not available to \(what)"
    }
}

/// The rules, first match wins.
public struct ModelAccessPolicy: Sendable, Equatable {
    public var rules: [ModelAccessRule]

    public init(rules: [ModelAccessRule] = []) {
        self.rules = rules
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// The first rule for a model, if any restricts it.
    /// - Complexity: O(rules).
    public func rule(for model: String) -> ModelAccessRule? {
        rules.first { $0.matches(model: model) }
    }

    /// Whether an account may use `model` from where it is. Countries not known are not
    /// judged (a gateway that knows none refuses only on the tier).
    /// - Returns: nil when allowed, else the first basis that refuses (address, declared,
    ///   payment, tier).
    public func judge(model: String, addressCountry: String?, record: AccountRecord?) -> ModelAccessDenial? {
        guard let rule = rule(for: model) else { return nil }
        let checks: [(ModelAccessDenial.Basis, String?)] = [
            (.addressCountry, addressCountry), (.declaredCountry, record?.declaredCountry), (.paymentCountry, record?.paymentCountry),
        ]
        for (basis, country) in checks {
            if let country, !country.isEmpty, !rule.allows(country: country) {
                return ModelAccessDenial(model: model, basis: basis, value: country.uppercased())
            }
        }
        if !rule.allows(tier: record?.tier) {
            return ModelAccessDenial(model: model, basis: .tier, value: record?.tier?.lowercased() ?? "")
        }
        return nil
    }
}
