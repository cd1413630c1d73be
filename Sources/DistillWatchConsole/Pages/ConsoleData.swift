import DistillWatchCore

/// Where a page links to: the console's URLs, or anchors inside one HTML report file (where
/// an account without its own section gets no link).
public struct ConsoleLinks: Sendable {
    public var campaign: @Sendable (String) -> String?
    public var account: @Sendable (String) -> String?
    /// A search for a value (the console only).
    public var search: (@Sendable (String) -> String)?

    public init(campaign: @escaping @Sendable (String) -> String?, account: @escaping @Sendable (String) -> String?,
                search: (@Sendable (String) -> String)? = nil) {
        self.campaign = campaign
        self.account = account
        self.search = search
    }

    /// `/console/campaigns/{id}` and `/console/accounts/{id}` (ids percent-encoded).
    public static let console = ConsoleLinks(
        campaign: { "/console/campaigns/" + ConsoleFormat.pathSegment($0) },
        account: { "/console/accounts/" + ConsoleFormat.pathSegment($0) },
        search: { "/console/search?q=" + ConsoleFormat.pathSegment($0) })

    /// The `id` attribute a report section gets for an account (`account-` and the id
    /// percent-encoded, so any id gives a valid, unique fragment; headings inside a section
    /// take `h-` before it, which no anchor starts with).
    public static func anchor(account id: String) -> String { "account-" + ConsoleFormat.pathSegment(id).replacingPercent() }
    public static func anchor(campaign id: String) -> String { "campaign-section-" + ConsoleFormat.pathSegment(id).replacingPercent() }
}

extension String {
    /// `%` is valid in a fragment but not in every id selector; `_25` keeps ids unique.
    func replacingPercent() -> String {
        var out = ""
        for c in self { if c == "%" { out += "_" } else if c == "_" { out += "__" } else { out.append(c) } }
        return out
    }
}

/// An analyst's label as the console lists it (from the store's label events).
public struct LabelRecordView: Sendable, Equatable {
    public enum Subject: String, Sendable { case account, campaign }
    public var subject: Subject
    public var id: String
    /// `nil` for a note without a label.
    public var label: AnalystLabel?
    public var note: String?
    public var analyst: String?
    public var at: Timestamp

    public init(subject: Subject, id: String, label: AnalystLabel?, note: String?, analyst: String?, at: Timestamp) {
        self.subject = subject
        self.id = id
        self.label = label
        self.note = note
        self.analyst = analyst
        self.at = at
    }
}

/// One entry of the decision audit log, as the account page lists it.
public struct DecisionRecordView: Sendable, Equatable {
    public var at: Timestamp
    public var verdict: Verdict
    public var score: Double
    public var source: String
    public var apiKeyID: String?
    /// The directives the answer carried (`cap_max_tokens=4096`, `refused:rate_limit`).
    public var directives: [String]

    public init(at: Timestamp, verdict: Verdict, score: Double, source: String, apiKeyID: String?, directives: [String] = []) {
        self.directives = directives
        self.at = at
        self.verdict = verdict
        self.score = score
        self.source = source
        self.apiKeyID = apiKeyID
    }
}

/// A state-changing form: where it posts and the CSRF token it carries.
public struct ConsoleForm: Sendable {
    public var action: String
    public var csrf: String
    public init(action: String, csrf: String) {
        self.action = action
        self.csrf = csrf
    }
}

/// What the overview shows (served by the console; the HTML report's first section).
public struct OverviewData: Sendable {
    public var asOf: Timestamp
    public var exchanges: Int
    public var accounts: Int
    public var verdictCounts: [Verdict: Int]
    /// All traffic per hour from the stored history (or the scanned file).
    public var traffic: [HourlyTotals]
    /// Flagged accounts (verdict review or worse): how many, when first flagged, the top.
    public var flagged: FlaggedOverview
    public var campaigns: [CampaignListing]
    public var recentLabels: [LabelRecordView]
    /// Ingest health as (name, value) pairs: accepted, rejected, late, quarantined…
    public var health: [(String, String)]
    /// Where the figures come from, e.g. "live engine, history kept 90 days".
    public var source: String

    public init(asOf: Timestamp, exchanges: Int, accounts: Int, verdictCounts: [Verdict: Int], traffic: [HourlyTotals],
                flagged: FlaggedOverview, campaigns: [CampaignListing], recentLabels: [LabelRecordView],
                health: [(String, String)], source: String) {
        self.asOf = asOf
        self.exchanges = exchanges
        self.accounts = accounts
        self.verdictCounts = verdictCounts
        self.traffic = traffic
        self.flagged = flagged
        self.campaigns = campaigns
        self.recentLabels = recentLabels
        self.health = health
        self.source = source
    }
}

/// What a campaign page shows.
public struct CampaignData: Sendable {
    public var campaign: ScanReport.Campaign
    /// The members' exchanges per hour over the campaign's life (stored history).
    public var timeline: [HourlyTotals]
    /// When the timeline was summed (the console refreshes it in the background), if not now.
    public var timelineAt: Timestamp?
    /// Model releases to mark on the timeline.
    public var releases: [(model: String, firstSeen: Timestamp)]
    /// Every member; the page sorts and pages them.
    public var members: [CampaignMemberRow]
    public var graph: CampaignEvidenceGraph?
    public var labels: [LabelRecordView]

    public init(campaign: ScanReport.Campaign, timeline: [HourlyTotals], timelineAt: Timestamp? = nil, releases: [(model: String, firstSeen: Timestamp)],
                members: [CampaignMemberRow], graph: CampaignEvidenceGraph?, labels: [LabelRecordView]) {
        self.campaign = campaign
        self.timeline = timeline
        self.timelineAt = timelineAt
        self.releases = releases
        self.members = members
        self.graph = graph
        self.labels = labels
    }
}

/// What an account page shows.
public struct AccountData: Sendable {
    public var account: ScanReport.Account
    public var profile: AccountActivityProfile?
    /// The account's own hours from the stored history.
    public var history: [HourlyTotals]
    public var membership: CampaignMembership?
    public var decisions: [DecisionRecordView]
    public var labels: [LabelRecordView]
    /// Addresses and API keys the account used, from the stored sightings: (kind, value,
    /// exchanges, last seen).
    public var identifiers: [IdentifierSighting]

    public init(account: ScanReport.Account, profile: AccountActivityProfile?, history: [HourlyTotals],
                membership: CampaignMembership?, decisions: [DecisionRecordView], labels: [LabelRecordView],
                identifiers: [IdentifierSighting]) {
        self.account = account
        self.profile = profile
        self.history = history
        self.membership = membership
        self.decisions = decisions
        self.labels = labels
        self.identifiers = identifiers
    }
}
