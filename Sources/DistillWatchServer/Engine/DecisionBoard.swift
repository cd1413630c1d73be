import DistillWatchCore
import Synchronization

/// The answers `decide` gives, published ahead of the questions, so that the answer path
/// never waits for the engine: after each slice of a batch, the writer republishes the
/// parts of what changed (an account's own part, a key's, a campaign's; see
/// ``AccountAnswer``), and `decide` composes them (``DetectionEngine/compose(_:_:)``).
///
/// The parts live in 64 shards of accounts and 16 of campaigns, each a dictionary behind
/// its own mutex. A decide call takes one account shard and at most one campaign shard,
/// each for one dictionary lookup; the writer takes a shard only to store parts it has
/// already computed (it computes them under the engine's lock, which `decide` never
/// takes once the board is complete). So a decide call never waits behind engine work,
/// only, at worst, behind another thread's dictionary store into the same shard.
///
/// - Complexity: lookups O(1) expected (two hash lookups); publishing O(parts).
///   Memory: about 200 bytes per account plus its contributing readings and keys.
final class DecisionBoard: Sendable {
    struct Entry: Sendable {
        var account: AccountAnswer
        var keys: [String: DetectionEngine.KeySummary] = [:]
    }

    final class AccountShard: Sendable {
        let entries = Mutex<[String: Entry]>([:])
    }

    final class CampaignShard: Sendable {
        let entries = Mutex<[Int32: CampaignAnswer]>([:])
    }

    private let accountShards: [AccountShard] = (0..<64).map { _ in AccountShard() }
    private let campaignShards: [CampaignShard] = (0..<16).map { _ in CampaignShard() }
    /// Every account the engine knows has been published: a miss means an unknown account.
    private let completeFlag = Atomic<Bool>(false)

    var isComplete: Bool { completeFlag.load(ordering: .acquiring) }
    func markComplete() { completeFlag.store(true, ordering: .releasing) }

    private func shard(_ accountID: String) -> AccountShard {
        accountShards[Int(UInt(bitPattern: accountID.hashValue) & 63)]
    }

    func entry(_ accountID: String) -> Entry? {
        shard(accountID).entries.withLock { $0[accountID] }
    }

    func campaign(_ number: Int32) -> CampaignAnswer? {
        campaignShards[Int(number & 15)].entries.withLock { $0[number] }
    }

    /// Stores parts, replacing older ones. Called under the engine's lock, so parts are
    /// stored in the order the engine produced them.
    func publish(accounts: [AccountAnswer], keys: [(accountID: String, key: DetectionEngine.KeySummary)], campaigns: [CampaignAnswer]) {
        for c in campaigns { campaignShards[Int(c.number & 15)].entries.withLock { $0[c.number] = c } }
        for a in accounts {
            shard(a.accountID).entries.withLock { entries in
                if entries[a.accountID] != nil { entries[a.accountID]!.account = a } else { entries[a.accountID] = Entry(account: a) }
            }
        }
        for (accountID, key) in keys {
            shard(accountID).entries.withLock { $0[accountID]?.keys[key.apiKeyID] = key }
        }
    }

    /// The answer the parts make: what ``LiveEngine`` would compute from the engine.
    func answer(_ entry: Entry, key: String?) -> LiveDecision {
        let campaignPart = entry.account.campaignNumber.flatMap(campaign)
        let (accountDecision, membership) = DetectionEngine.compose(entry.account, campaignPart)
        let keySummary = key.flatMap { entry.keys[$0] }
        let decision = key == nil ? accountDecision : DetectionEngine.compose(accountDecision, key: keySummary)
        var reasons = accountDecision.score > 0 ? entry.account.reasons : []
        if let keySummary, keySummary.score > 0 {
            // The key's own evidence first when it is what decides.
            let keyReasons = keySummary.readings.contributing
            reasons = keySummary.verdict >= accountDecision.verdict ? keyReasons + reasons : reasons + keyReasons
        }
        return LiveDecision(decision: decision, known: true, reasons: reasons, label: entry.account.label,
                            campaign: membership, key: keySummary, verified: entry.account.verified,
                            signupRisk: entry.account.signupRisk, accessRecord: entry.account.accessRecord)
    }
}
