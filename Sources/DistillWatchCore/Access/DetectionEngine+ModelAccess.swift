extension DetectionEngine {
    /// Counts an exchange to a country-restricted model, and whether it contradicts the
    /// account's declared country: from an address in a country the model is not available
    /// in while the declared country is one where it is; and notes payment from such a
    /// country. - Complexity: O(rules) string comparisons.
    static func noteModelAccess(_ s: inout AccountState, model: String, country: String?, record: AccountRecord?,
                                policy: Policy) {
        guard let rule = policy.modelAccess.rule(for: model), rule.restrictsCountries else { return }
        s.restrictedExchanges &+= 1
        guard let declared = record?.declaredCountry, !declared.isEmpty, rule.allows(country: declared) else { return }
        if let paying = record?.paymentCountry, !paying.isEmpty, !rule.allows(country: paying) {
            s.evasivePayment = true
        }
        if let country, !country.isEmpty, country.uppercased() != declared.uppercased(), !rule.allows(country: country) {
            s.evasiveExchanges &+= 1
            s.evasiveCountry = Self.packCountry(country)
        }
    }

    static func packCountry(_ code: String) -> UInt16 {
        let b = Array(code.uppercased().utf8.prefix(2))
        guard b.count == 2 else { return 0 }
        return UInt16(b[0]) << 8 | UInt16(b[1])
    }

    static func unpackCountry(_ packed: UInt16) -> String {
        packed == 0 ? "?" : String(decoding: [UInt8(packed >> 8), UInt8(packed & 0xFF)], as: UTF8.self)
    }

    /// The part of an account's record the model access policy judges (none without rules).
    public func accessRecord(for accountID: String) -> AccountRecord? {
        slot(ofAccount: accountID).flatMap { accessRecord(at: Int($0)) }
    }

    func accessRecord(at i: Int) -> AccountRecord? {
        guard !policy.modelAccess.isEmpty, let r = records[i] else { return nil }
        return AccountRecord(accountID: r.accountID, tier: r.tier, declaredCountry: r.declaredCountry, paymentCountry: r.paymentCountry)
    }

    /// Whether the account may use `model`, judged on its record and a request's address
    /// country (``ModelAccessPolicy/judge(model:addressCountry:record:)``).
    public func modelAccess(for accountID: String, model: String, addressCountry: String?) -> ModelAccessDenial? {
        guard !policy.modelAccess.isEmpty else { return nil }
        let record = slot(ofAccount: accountID).flatMap { records[Int($0)] }
        return policy.modelAccess.judge(model: model, addressCountry: addressCountry, record: record)
    }
}

extension BehaviourSignals {
    /// Evasion of a model's country restriction: 0 below 3 contradicting exchanges, then the
    /// share of the account's restricted-model exchanges that contradict its declared country,
    /// 1 from half; 0.8 at least when it pays from a country the model is not available in.
    static func accessEvasion(_ s: AccountState) -> Double {
        var value = 0.0
        if s.evasiveExchanges >= 3, s.restrictedExchanges > 0 {
            value = min(1, Double(s.evasiveExchanges) / Double(s.restrictedExchanges) / 0.5)
        }
        if s.evasivePayment, s.restrictedExchanges > 0 { value = max(value, 0.8) }
        return value
    }

    static func accessEvasionDetail(_ s: AccountState, record: AccountRecord?) -> String {
        guard s.restrictedExchanges > 0 else { return "no exchange to a country-restricted model" }
        let declared = record?.declaredCountry?.uppercased() ?? "no country"
        var parts: [String] = []
        if s.evasiveExchanges > 0 {
            parts.append("\(s.evasiveExchanges) of its \(s.restrictedExchanges) exchanges to country-restricted models came from "
                + "addresses in \(DetectionEngine.unpackCountry(s.evasiveCountry)) (most recent), where they are not available, "
                + "while it declared \(declared)")
        }
        if s.evasivePayment, let paying = record?.paymentCountry {
            parts.append("it pays from \(paying.uppercased()), where they are not available, while it declared \(declared)")
        }
        return parts.isEmpty ? "\(s.restrictedExchanges) exchanges to country-restricted models, none contradicting its declared country"
            : parts.joined(separator: "; ")
    }
}
