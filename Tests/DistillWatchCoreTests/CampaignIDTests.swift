import Testing
@testable import DistillWatchCore

/// One campaign, one id: only the engine's own spelling of `campaign-N` names a campaign
/// (an analyst's `campaign-01` once dismissed campaign 1 without revoking what was shared
/// of it, which the sharing records keep under `campaign-1`).
@Suite struct CampaignIDTests {
    @Test func onlyTheEnginesSpellingNamesACampaign() {
        #expect(CampaignID.of(number: 7) == "campaign-7")
        for n in [1, 9, 10, 42, 1_000_000] { #expect(CampaignID.number(of: CampaignID.of(number: n)) == n) }
        for alias in ["campaign-01", "campaign-+1", "campaign- 1", "campaign-1 ", "campaign-0", "campaign--1", "campaign-",
                      "Campaign-1", "campaign-1x", "campaign-١", "campaign-99999999999999999999", "run:campaign-1"] {
            #expect(CampaignID.number(of: alias) == nil, "\(alias)")
        }
    }
}
