/// What `distillwatch provenance check` found: the share of a suspect dataset's records that
/// reproduce answers this provider served, to which accounts and campaigns, when, how
/// closely, and how often an unrelated text would match (`distillwatch.provenance/1`).
public struct ProvenanceReport: Sendable, Codable, Equatable {
    public static let formatName = "distillwatch.provenance/1"

    public struct Dataset: Sendable, Codable, Equatable {
        public var path: String
        /// SHA-256 of the file's bytes, so the report names exactly what was checked.
        public var sha256: String
        /// Lines (or array elements) read, records with an answer, and records refused.
        public var lines: Int
        public var records: Int
        public var problems: Int
        public var shapes: [String: Int]

        public init(path: String, sha256: String, lines: Int, records: Int, problems: Int, shapes: [String: Int]) {
            self.path = path
            self.sha256 = sha256
            self.lines = lines
            self.records = records
            self.problems = problems
            self.shapes = shapes
        }
    }

    public struct Index: Sendable, Codable, Equatable {
        public var responses: Int
        public var firstTime: Timestamp?
        public var lastTime: Timestamp?
        public var keyFingerprint: String?

        public init(responses: Int, firstTime: Timestamp?, lastTime: Timestamp?, keyFingerprint: String?) {
            self.responses = responses
            self.firstTime = firstTime
            self.lastTime = lastTime
            self.keyFingerprint = keyFingerprint
        }

        enum CodingKeys: String, CodingKey {
            case responses
            case firstTime = "first_time"
            case lastTime = "last_time"
            case keyFingerprint = "key_fingerprint"
        }
    }

    public struct Thresholds: Sendable, Codable, Equatable {
        public var minimumAgreement: Int
        public var minimumContainment: Double

        enum CodingKeys: String, CodingKey {
            case minimumAgreement = "minimum_agreement"
            case minimumContainment = "minimum_containment"
        }
    }

    /// How often an unrelated text would match, measured in this run (see
    /// ``ProvenanceMatcher/backgroundRate(pairs:seed:)``).
    public struct Precision: Sendable, Codable, Equatable {
        /// Pairs of the dataset's own distinct records that share an LSH band (as the check's
        /// candidates do) compared, and how many reached the thresholds.
        public var backgroundPairs: Int
        public var backgroundMatches: Int
        /// Of the pairs compared, those sharing an LSH band.
        public var backgroundPairsSharingBand: Int
        /// The 95% upper bound on the chance that an unrelated pair matches.
        public var falseMatchRateUpper95: Double
        /// Candidate pairs the check confirmed on all bins.
        public var candidatePairs: Int
        /// `falseMatchRateUpper95 × candidatePairs`: the matches chance alone would explain,
        /// at most, in this check.
        public var expectedFalseMatchesUpper95: Double
        public var statement: String

        enum CodingKeys: String, CodingKey {
            case backgroundPairs = "background_pairs"
            case backgroundMatches = "background_matches"
            case backgroundPairsSharingBand = "background_pairs_sharing_band"
            case falseMatchRateUpper95 = "false_match_rate_upper_95"
            case candidatePairs = "candidate_pairs"
            case expectedFalseMatchesUpper95 = "expected_false_matches_upper_95"
            case statement
        }
    }

    /// One served answer a record matched.
    public struct Source: Sendable, Codable, Equatable {
        public var accountID: String
        public var campaignID: String?
        public var requestID: String?
        public var model: String?
        public var at: Timestamp
        public var containment: Double
        public var jaccard: Double
        /// Bins of 64 that agreed.
        public var agreement: Int

        enum CodingKeys: String, CodingKey {
            case accountID = "account_id"
            case campaignID = "campaign_id"
            case requestID = "request_id"
            case model, at, containment, jaccard, agreement
        }
    }

    public struct Record: Sendable, Codable, Equatable {
        /// The record's line (JSON Lines) or element (JSON array), from 1.
        public var position: Int
        public var shape: String
        /// The best matches, most contained first.
        public var sources: [Source]
    }

    public struct Account: Sendable, Codable, Equatable {
        public var accountID: String
        public var campaignID: String?
        public var verdict: Verdict?
        /// Dataset records whose best match was served to this account.
        public var records: Int
        public var first: Timestamp
        public var last: Timestamp

        enum CodingKeys: String, CodingKey {
            case accountID = "account_id"
            case campaignID = "campaign_id"
            case verdict, records, first, last
        }
    }

    public struct Campaign: Sendable, Codable, Equatable {
        public var campaignID: String
        public var records: Int
        public var accounts: Int

        enum CodingKeys: String, CodingKey {
            case campaignID = "campaign_id"
            case records, accounts
        }
    }

    public var format: String
    public var generatedAt: Timestamp
    public var dataset: Dataset
    public var index: Index
    public var thresholds: Thresholds
    public var matchedRecords: Int
    /// `matchedRecords / dataset.records`.
    public var matchedShare: Double
    public var precision: Precision
    public var accounts: [Account]
    public var campaigns: [Campaign]
    /// The matched records (at most `recordsListed`, by position).
    public var records: [Record]
    public var recordsListed: Int

    enum CodingKeys: String, CodingKey {
        case format
        case generatedAt = "generated_at"
        case dataset, index, thresholds
        case matchedRecords = "matched_records"
        case matchedShare = "matched_share"
        case precision, accounts, campaigns, records
        case recordsListed = "records_listed"
    }
}

extension ProvenanceReport.Precision {
    /// The 95% upper bound of a binomial proportion: exact for no success (`1 - 0.05^(1/n)`),
    /// Wilson's score interval otherwise (Wilson, JASA 1927).
    public static func upper95(successes k: Int, trials n: Int) -> Double {
        guard n > 0 else { return 1 }
        if k == 0 { return 1 - Double.pow(0.05, 1 / Double(n)) }
        let z = 1.959963984540054, p = Double(k) / Double(n), nn = Double(n)
        let centre = p + z * z / (2 * nn)
        let margin = z * (p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot()
        return min(1, (centre + margin) / (1 + z * z / nn))
    }

    public init(background: (compared: Int, matched: Int, sharingBand: Int), candidatePairs: Int, matchedRecords: Int) {
        backgroundPairs = background.compared
        backgroundMatches = background.matched
        backgroundPairsSharingBand = background.sharingBand
        falseMatchRateUpper95 = Self.upper95(successes: background.matched, trials: background.compared)
        self.candidatePairs = candidatePairs
        expectedFalseMatchesUpper95 = falseMatchRateUpper95 * Double(candidatePairs)
        let rate = Wording.rounded(falseMatchRateUpper95, digits: 6)
        let expected = Wording.rounded(expectedFalseMatchesUpper95, digits: 2)
        let first = "\(Wording.number(background.matched)) of \(Wording.number(background.compared)) pairs of this dataset's own distinct records, not both matched "
            + "(\(Wording.number(background.sharingBand)) of them sharing an LSH band, as the check's candidates do), reached the thresholds, "
            + "so an unrelated candidate pair matches with probability at most \(rate) (95% upper bound); "
        let second = "the check confirmed \(Wording.number(candidatePairs)) candidate pairs, so chance alone explains at most about \(expected) "
            + "of the \(Wording.number(matchedRecords)) matched records."
        statement = first + second
    }
}

extension ProvenanceReport {
    /// Who was served one answer (from the index).
    public struct Served: Sendable, Equatable {
        public var accountID: String
        public var requestID: String?
        public var model: String?
        public var at: Timestamp

        public init(accountID: String, requestID: String?, model: String?, at: Timestamp) {
            self.accountID = accountID
            self.requestID = requestID
            self.model = model
            self.at = at
        }
    }

    /// The report of a finished check.
    /// - Parameters:
    ///   - recordShapes: each dataset record's position and shape.
    ///   - owner: for each sketch the matcher holds, the index of its dataset record (a
    ///     record with several answers has several sketches).
    ///   - served: who was served each matched response id.
    ///   - accounts: what a scan report says of the accounts (verdict and campaign), if one
    ///     was given.
    /// - Complexity: O(records + matches log matches).
    public static func assemble(
        dataset: Dataset, index: Index, matcher: ProvenanceMatcher, recordShapes: [(position: Int, shape: String)],
        owner: [Int], served: [Int64: Served], accounts known: [String: (verdict: Verdict, campaignID: String?)],
        background: (compared: Int, matched: Int, sharingBand: Int), generatedAt: Timestamp, recordsListed: Int = 1_000
    ) -> ProvenanceReport {
        var best: [Int: [ProvenanceMatcher.Match]] = [:]
        for (sketch, list) in matcher.matches.enumerated() where !list.isEmpty {
            best[owner[sketch], default: []].append(contentsOf: list)
        }
        var records: [Record] = []
        var accountTally: [String: Account] = [:]
        var campaignRecords: [String: Int] = [:]
        var campaignAccounts: [String: Set<String>] = [:]
        for recordIndex in best.keys.sorted() {
            let sorted = best[recordIndex]!.sorted { ($0.containment, $0.agreement, -$0.response) > ($1.containment, $1.agreement, -$1.response) }
            var seen: Set<Int64> = []
            let sources: [Source] = sorted.compactMap { m in
                guard seen.insert(m.response).inserted, let s = served[m.response] else { return nil }
                return Source(accountID: s.accountID, campaignID: known[s.accountID]?.campaignID, requestID: s.requestID, model: s.model,
                              at: s.at, containment: rounded(m.containment), jaccard: rounded(m.jaccard), agreement: m.agreement)
            }.prefix(matcher.matchesPerRecord).map { $0 }
            guard let top = sources.first else { continue }
            let shape = recordShapes[recordIndex]
            records.append(Record(position: shape.position, shape: shape.shape, sources: sources))
            var a = accountTally[top.accountID] ?? Account(accountID: top.accountID, campaignID: top.campaignID,
                                                          verdict: known[top.accountID]?.verdict, records: 0, first: top.at, last: top.at)
            a.records += 1
            a.first = min(a.first, top.at)
            a.last = max(a.last, top.at)
            accountTally[top.accountID] = a
            if let c = top.campaignID {
                campaignRecords[c, default: 0] += 1
                campaignAccounts[c, default: []].insert(top.accountID)
            }
        }
        let matched = records.count
        return ProvenanceReport(
            format: formatName, generatedAt: generatedAt, dataset: dataset, index: index,
            thresholds: Thresholds(minimumAgreement: matcher.thresholds.minimumAgreement,
                                   minimumContainment: matcher.thresholds.minimumContainment),
            matchedRecords: matched, matchedShare: dataset.records > 0 ? rounded(Double(matched) / Double(dataset.records)) : 0,
            precision: Precision(background: background, candidatePairs: matcher.candidatePairs, matchedRecords: matched),
            accounts: accountTally.values.sorted { ($0.records, $1.accountID) > ($1.records, $0.accountID) },
            campaigns: campaignRecords.map { Campaign(campaignID: $0.key, records: $0.value, accounts: campaignAccounts[$0.key]?.count ?? 0) }
                .sorted { ($0.records, $1.campaignID) > ($1.records, $0.campaignID) },
            records: Array(records.prefix(recordsListed)), recordsListed: min(records.count, recordsListed))
    }

    /// The report in a few lines for a terminal.
    public var text: String {
        var out = "provenance: \(Wording.number(matchedRecords)) of \(Wording.number(dataset.records)) records of \(dataset.path) "
            + "(\(Wording.percent(matchedShare))) reproduce answers served, among \(Wording.counted(index.responses, "indexed response"))\n"
        if dataset.problems > 0 { out += "  \(Wording.counted(dataset.problems, "record")) of the file could not be used (see the JSON report)\n" }
        for a in accounts.prefix(20) {
            let campaign = a.campaignID.map { ", \($0)" } ?? ""
            let verdict = a.verdict.map { ", verdict \($0.rawValue)" } ?? ""
            out += "  \(a.accountID)\(campaign)\(verdict): \(Wording.counted(a.records, "record")), served \(a.first.rfc3339) to \(a.last.rfc3339)\n"
        }
        if accounts.count > 20 { out += "  … and \(accounts.count - 20) more accounts\n" }
        for c in campaigns.prefix(10) {
            out += "  \(c.campaignID): \(Wording.counted(c.records, "record")) from \(Wording.counted(c.accounts, "account"))\n"
        }
        out += "  precision: " + precision.statement + "\n"
        return out
    }
}
