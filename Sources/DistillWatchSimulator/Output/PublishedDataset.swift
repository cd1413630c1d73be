import DistillWatchCore
import DistillWatchIngest
import Foundation

/// A "published" distillation dataset for provenance checks (Documentation/Provenance.md):
/// answers a campaign harvested from the simulated provider, some verbatim, some cut, some
/// partly paraphrased, in the common instruction-tuning shapes, mixed with unrelated records
/// written from the same grammars but never served (hard negatives: same style, same
/// topics).
///
/// Written beside the scenario as `published-dataset.jsonl` and, for evaluation,
/// `published-dataset-truth.jsonl` (each record's position, transform, and the request id
/// and account of its source; null for unrelated records).
///
/// Harvested answers are drawn by reservoir sampling (Vitter's algorithm R) over the
/// campaign's served exchanges as the traffic streams: O(records) memory.
public struct PublishedDataset: Sendable {
    public static let fileName = "published-dataset.jsonl"
    public static let truthFileName = "published-dataset-truth.jsonl"

    struct Harvested: Sendable {
        var requestID: String
        var accountID: String
        var prompt: String
        var response: String
    }

    /// The campaign whose answers are published.
    public let campaign: String
    let accounts: Set<String>
    public let harvestedRecords: Int
    public let unrelatedRecords: Int
    private var reservoir: [Harvested] = []
    private var seen = 0
    private var rng: SplitMix64

    /// - Parameters:
    ///   - plan: the scenario; its first attack campaign is published.
    ///   - records: harvested records wanted; `unrelated` as many again by default.
    /// - Returns: nil when the scenario has no attack campaign.
    public init?(plan: ScenarioPlan, records: Int, unrelated: Int? = nil) {
        guard let campaign = plan.labels.first(where: { $0.label == .attack && $0.campaign != nil })?.campaign else { return nil }
        self.campaign = campaign
        accounts = Set(plan.labels.filter { $0.campaign == campaign }.map(\.accountID))
        harvestedRecords = max(0, records)
        unrelatedRecords = max(0, unrelated ?? records)
        rng = SplitMix64(seed: plan.seed ^ 0x9B1_15E7)
    }

    /// Offers one exchange of the traffic (kept when it is the campaign's and has an answer).
    mutating func observe(_ e: Exchange) {
        guard accounts.contains(e.accountID), let response = e.response, let id = e.requestID else { return }
        seen += 1
        let h = Harvested(requestID: id, accountID: e.accountID, prompt: e.prompt ?? "", response: response)
        if reservoir.count < harvestedRecords {
            reservoir.append(h)
        } else {
            let j = rng.below(seen)
            if j < harvestedRecords { reservoir[j] = h }
        }
    }

    /// Writes the dataset and its truth into `directory`.
    /// - Returns: records written (harvested, unrelated).
    public func write(directory: String) throws -> (harvested: Int, unrelated: Int) {
        var rng = self.rng
        enum Source { case harvested(Harvested, String), unrelated }
        var items: [(prompt: String, response: String, source: Source)] = []
        for h in reservoir {
            let roll = rng.nextUnit()
            if roll < 0.4 {
                items.append((h.prompt, h.response, .harvested(h, "verbatim")))
            } else if roll < 0.7 {
                let words = h.response.split(separator: " ", omittingEmptySubsequences: false)
                let keep = max(10, Int(Double(words.count) * (0.5 + 0.3 * rng.nextUnit())))
                items.append((h.prompt, words.prefix(keep).joined(separator: " "), .harvested(h, "truncated")))
            } else {
                items.append((h.prompt, Self.paraphrase(h.response, share: 0.1 + 0.1 * rng.nextUnit(), &rng), .harvested(h, "paraphrased")))
            }
        }
        let kinds: [TaskKind] = [.codingQuestion, .agentStep, .math, .reasoningPuzzle, .mundaneChat, .documentExtraction, .harnessTask]
        for _ in 0..<unrelatedRecords {
            let kind = rng.pick(kinds)
            let task = rng.next()
            var phrasing = SplitMix64(seed: rng.next())
            items.append((PromptGrammar.prompt(kind, task: task, phrasing: &phrasing),
                          ResponseGrammar.answer(kind, task: task, seed: rng.next(), words: 60 + rng.below(340)), .unrelated))
        }
        // Shuffled (Fisher–Yates), so position says nothing.
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, rng.below(i + 1)) }

        var data = Data(), truth = Data()
        for (k, item) in items.enumerated() {
            let record: [String: Any]
            switch k % 3 {
            case 0: record = ["messages": [["role": "user", "content": item.prompt], ["role": "assistant", "content": item.response]]]
            case 1: record = ["instruction": item.prompt, "input": "", "output": item.response]
            default: record = ["conversations": [["from": "human", "value": item.prompt], ["from": "gpt", "value": item.response]]]
            }
            data.append(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]))
            data.append(0x0A)
            var t: [String: Any] = ["position": k + 1]
            switch item.source {
            case .harvested(let h, let transform):
                t["transform"] = transform
                t["source_request_id"] = h.requestID
                t["account_id"] = h.accountID
                t["campaign"] = campaign
            case .unrelated:
                t["transform"] = "unrelated"
                t["source_request_id"] = NSNull()
                t["account_id"] = NSNull()
            }
            truth.append(try JSONSerialization.data(withJSONObject: t, options: [.sortedKeys]))
            truth.append(0x0A)
        }
        do {
            try data.write(to: URL(fileURLWithPath: directory + "/" + Self.fileName))
            try truth.write(to: URL(fileURLWithPath: directory + "/" + Self.truthFileName))
        } catch {
            throw IngestError(source: directory, "cannot write the published dataset: \(error.localizedDescription)")
        }
        return (reservoir.count, unrelatedRecords)
    }

    /// Replaces about `share` of the words with near-synonyms or fillers, and drops one
    /// sentence in four: what a rewriting pass over harvested answers does.
    static func paraphrase(_ text: String, share: Double, _ rng: inout SplitMix64) -> String {
        let sentences = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out: [String] = []
        for s in sentences {
            if sentences.count > 3, rng.chance(0.25) { continue }
            out.append(s.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
                guard rng.chance(share) else { return String(word) }
                if let synonym = synonyms[word.lowercased()] { return rng.pick(synonym) }
                return rng.pick(fillers) + " " + word
            }.joined(separator: " "))
        }
        return out.joined(separator: "\n")
    }

    static let synonyms: [String: [String]] = [
        "the": ["this", "that"], "so": ["hence", "therefore"], "check": ["verify", "test"], "step": ["stage", "phase"],
        "sort": ["order", "arrange"], "group": ["cluster", "bucket"], "filter": ["screen", "select"], "merge": ["combine", "join"],
        "then": ["afterwards", "next"], "because": ["since", "as"], "gives": ["yields", "produces"], "keeping": ["holding", "leaving"],
        "below": ["under", "beneath"], "with": ["using", "via"], "case:": ["scenario:", "situation:"], "result": ["outcome", "answer"],
    ]
    static let fillers = ["basically", "clearly", "now", "also", "simply", "indeed"]
}
