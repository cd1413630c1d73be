extension CountermeasureSubject {
    /// The subject a decision makes: exempt when the verdict is `allow` and the account is
    /// allowlisted or labelled legitimate (new evidence that flags it again ends that).
    public init(decision d: Decision, readings: [SignalReading], verified: Bool, campaign: CampaignMembership?,
                label: AnalystLabel?, signupRisk: Double = 0) {
        self.init(verdict: d.verdict, score: d.score, readings: readings, verified: verified,
                  flaggedCampaignMember: campaign?.verdict.isFlagged == true,
                  exempt: d.verdict == .allow && (d.allowlisted || label == .legitimate), signupRisk: signupRisk)
    }
}

extension DetectionEngine {
    /// The countermeasures the policy calls for on an account as of the engine's state
    /// (none for an account never seen).
    /// - Complexity: O(signals + rules × readings), plus the account's campaign lookup.
    public func countermeasures(for accountID: String) -> Countermeasures {
        countermeasures(for: accountID, readings: readings(for: accountID).contributing,
                        campaign: campaignMembership(of: accountID))
    }

    /// The same, with the account's contributing readings and campaign membership already
    /// at hand (the report has them).
    func countermeasures(for accountID: String, readings: [SignalReading], campaign: CampaignMembership?) -> Countermeasures {
        guard let i = slot(ofAccount: accountID) else { return .none }
        let subject = CountermeasureSubject(
            decision: decision(for: accountID), readings: readings,
            verified: records[Int(i)]?.verified == true, campaign: campaign, label: states[Int(i)].label,
            signupRisk: signupRisk(at: Int(i)).score)
        return policy.countermeasures.countermeasures(for: subject)
    }
}
