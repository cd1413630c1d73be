import DistillWatchCore

// View models: plain structs of pre-formatted, not yet escaped strings that the Mustache
// templates render (double braces escape every value; only the SVG charts, which escape
// their own text, go in triple braces). Built by the functions in `ConsolePages`.

struct Badge: Sendable {
    var text: String
    var cls: String
    init(_ v: Verdict?) {
        text = ConsoleFormat.verdict(v)
        cls = "badge verdict-\(v?.rawValue ?? "none")"
    }
}

struct Stat: Sendable {
    var name: String
    var value: String
}

struct AccountRowView: Sendable {
    var id: String
    var href: String?
    var badge: Badge
    var score: String
    var exchanges: String
    var outputTokens: String
    var firstFlag: String
    var campaign: String?
    var campaignHref: String?
    var label: String
    var joined: String?
}

struct CampaignRowView: Sendable {
    var id: String
    var href: String?
    var badge: Badge
    var score: String
    var members: String
    var exchanges: String
    var outputTokens: String
    var firstFlag: String
    var label: String
}

struct LabelView: Sendable {
    var at: String
    var subject: String
    var id: String
    var href: String?
    var label: String
    var analyst: String
    var note: String
}

struct SignalView: Sendable {
    var name: String
    var value: String
    var contribution: String
    var detail: String
    var contributes: Bool
}

struct EvidenceView: Sendable {
    var kind: String
    var detail: String
    var accounts: String
}

struct CapabilityView: Sendable {
    var name: String
    var share: String
    var bar: String
}

struct FormView: Sendable {
    var action: String
    var csrf: String
}

struct PagerView: Sendable {
    var text: String
    var previous: String?
    var next: String?
}

struct OverviewView: Sendable {
    var asOf: String
    var source: String
    var stats: [Stat]
    var verdicts: [Stat]
    var health: [Stat]
    var trafficChart: String
    var flaggedChart: String
    var campaigns: [CampaignRowView]
    var accounts: [AccountRowView]
    var labels: [LabelView]
    var moreAccounts: String?
}

struct SortLink: Sendable {
    var name: String
    var href: String
    var ariaSort: String
}

struct OptionView: Sendable {
    var value: String
    var text: String
    var selected: Bool
}

struct CampaignListView: Sendable {
    var rows: [CampaignRowView]
    var sortLinks: [SortLink]
    var verdictOptions: [OptionView]
    var labelOptions: [OptionView]
    var sort: String
    var count: String
}

struct CampaignView: Sendable {
    var id: String
    var anchor: String
    var badge: Badge
    var score: String
    var label: String
    var stats: [Stat]
    var timeline: String
    var timelineAt: String?
    var members: [AccountRowView]
    var pager: PagerView?
    var evidence: [EvidenceView]
    var signals: [SignalView]
    var capabilities: [CapabilityView]
    var graph: String?
    var labels: [LabelView]
    var form: FormView?
    var memberNote: String?
}

struct AccountView: Sendable {
    var id: String
    var anchor: String
    var badge: Badge
    var score: String
    var label: String
    var stats: [Stat]
    var signals: [SignalView]
    var keys: [Stat]
    /// The countermeasures in force: the directive (with its number) and the rule.
    var directives: [Stat]
    /// The sign-up risk ("score 0.6") and its factors.
    var signupScore: String?
    var signup: [Stat]
    var hourOfDay: String?
    var lastDay: String?
    var daily: String
    var parameters: [Stat]
    var record: [Stat]
    var campaign: String?
    var campaignHref: String?
    var campaignDetail: String?
    var linkKeys: [String]
    var identifiers: [IdentifierView]
    var decisions: [DecisionView]
    var labels: [LabelView]
    var form: FormView?
    var capabilities: [CapabilityView]
}

struct IdentifierView: Sendable {
    var kind: String
    var value: String
    /// The console's search for the value (none in a report file).
    var href: String?
    var exchanges: String
    var lastSeen: String
}

struct DecisionView: Sendable {
    var at: String
    var badge: Badge
    var score: String
    var source: String
    var key: String
    /// The directives the answer carried, and `refused:…` when one refused the request.
    var directives: String
}
