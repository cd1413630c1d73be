import DistillWatchCore

/// A scan run stored in ClickHouse (`scan --store`, `distillwatch campaigns`), as the
/// console's list of runs shows it: its shards' latest finished attempts.
public struct StoredRun: Sendable, Equatable {
    public var id: String
    /// `all` for an unsharded scan, `k/N` for each shard that finished.
    public var shards: [String]
    /// The campaign step (`distillwatch campaigns`) ran for it.
    public var campaignStep: Bool
    /// Summed over the shards (the campaign step's re-read not counted).
    public var exchanges: Int
    public var accounts: Int
    /// Flagged by the shards on their own (the run's page merges the campaign step's).
    public var flaggedByShards: Int
    /// Campaigns: the campaign step's when it ran, else the shards'.
    public var campaigns: Int
    public var finished: Timestamp?

    public init(id: String, shards: [String], campaignStep: Bool, exchanges: Int, accounts: Int, flaggedByShards: Int,
                campaigns: Int, finished: Timestamp?) {
        self.id = id
        self.shards = shards
        self.campaignStep = campaignStep
        self.exchanges = exchanges
        self.accounts = accounts
        self.flaggedByShards = flaggedByShards
        self.campaigns = campaigns
        self.finished = finished
    }
}

/// One run's results read back from ClickHouse: its campaigns and flagged accounts, as one
/// process would have reported them (the campaign step's verdicts for the accounts it re-ran).
public struct StoredRunReport: Sendable {
    public var run: StoredRun
    /// What the run read (the source URL without its password, the shape, the window).
    public var source: String
    public var campaigns: [ScanReport.Campaign]
    /// The highest-scored flagged accounts, at most the page's limit.
    public var accounts: [ScanReport.Account]
    /// Flagged accounts in all (beyond `accounts` when the limit cut them).
    public var flaggedCount: Int

    public init(run: StoredRun, source: String, campaigns: [ScanReport.Campaign], accounts: [ScanReport.Account], flaggedCount: Int) {
        self.run = run
        self.source = source
        self.campaigns = campaigns
        self.accounts = accounts
        self.flaggedCount = flaggedCount
    }
}

struct RunRowView: Sendable {
    var id: String
    var href: String
    var shards: String
    var step: String
    var exchanges: String
    var accounts: String
    var flagged: String
    var campaigns: String
    var finished: String
}

struct RunsView: Sendable {
    var database: String
    var rows: [RunRowView]
}

struct RunView: Sendable {
    var id: String
    var summary: String
    var source: String
    var stats: [Stat]
    var campaigns: [CampaignRowView]
    var accounts: [AccountRowView]
    var moreAccounts: String?
}

extension ConsolePages {
    /// The runs page: one row per run, newest first.
    static func runs(_ runs: [StoredRun], database: String) -> RunsView {
        RunsView(database: database, rows: runs.map { r in
            RunRowView(id: r.id, href: "/console/runs/" + ConsoleFormat.pathSegment(r.id),
                       shards: r.shards.joined(separator: ", "), step: r.campaignStep ? "yes" : "no",
                       exchanges: ConsoleFormat.number(r.exchanges), accounts: ConsoleFormat.number(r.accounts),
                       flagged: ConsoleFormat.number(r.flaggedByShards), campaigns: ConsoleFormat.number(r.campaigns),
                       finished: ConsoleFormat.time(r.finished))
        })
    }

    /// A run's page. Rows link nowhere: a run's accounts and campaigns live in ClickHouse,
    /// not in this node's engine.
    static func run(_ r: StoredRunReport) -> RunView {
        let links = ConsoleLinks(campaign: { _ in nil }, account: { _ in nil })
        let shards = r.run.shards.filter { $0 != "campaigns" }
        let summary = (shards == ["all"] ? "One unsharded scan" : "\(shards.count) shards (\(shards.joined(separator: ", ")))")
            + (r.run.campaignStep ? ", joined by the campaign step: verdicts as one process would give them."
                : r.run.shards == ["all"] ? "." : "; the campaign step has not run: campaigns across shards are missing.")
        return RunView(
            id: r.run.id, summary: summary, source: r.source,
            stats: [Stat(name: "Exchanges", value: ConsoleFormat.number(r.run.exchanges)),
                    Stat(name: "Accounts", value: ConsoleFormat.number(r.run.accounts)),
                    Stat(name: "Flagged accounts", value: ConsoleFormat.number(r.flaggedCount)),
                    Stat(name: "Campaigns", value: ConsoleFormat.number(r.campaigns.count)),
                    Stat(name: "Finished", value: ConsoleFormat.time(r.run.finished))],
            campaigns: r.campaigns.map { campaignRow(CampaignListing($0), links: links) },
            accounts: r.accounts.map { accountRow($0, links: links) },
            moreAccounts: r.flaggedCount > r.accounts.count
                ? "The \(ConsoleFormat.number(r.accounts.count)) highest-scored of \(ConsoleFormat.number(r.flaggedCount)) flagged accounts; query dw_verdicts for the rest."
                : nil)
    }
}

extension ConsoleTemplates {
    static let runs = #"""
<h1>Runs</h1>
<p class="meta">Scans stored in ClickHouse ({{database}}) by <code>scan --store</code> and <code>distillwatch campaigns</code>, newest first.</p>
{{^empty(rows)}}
<div class="scroll"><table>
<caption>Runs and their shards' latest finished attempts</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Shards</th><th scope="col">Campaign step</th><th scope="col" class="num">Exchanges</th><th scope="col" class="num">Accounts</th><th scope="col" class="num">Flagged by the shards</th><th scope="col" class="num">Campaigns</th><th scope="col">Finished</th></tr></thead>
<tbody>{{#rows}}<tr><th scope="row"><a href="{{href}}">{{id}}</a></th><td>{{shards}}</td><td>{{step}}</td><td class="num">{{exchanges}}</td><td class="num">{{accounts}}</td><td class="num">{{flagged}}</td><td class="num">{{campaigns}}</td><td>{{finished}}</td></tr>{{/rows}}</tbody>
</table></div>
{{/empty(rows)}}
{{#empty(rows)}}<p>No run is stored yet: <code>scan --store clickhouse://HOST:PORT/DB --run ID</code> writes one.</p>{{/empty(rows)}}
"""#

    static let run = #"""
<h1>Run {{id}}</h1>
<p class="meta">{{summary}} Read from {{source}}.</p>
{{> stats}}
<section aria-labelledby="run-campaigns-h">
<h2 id="run-campaigns-h">Campaigns</h2>
{{^empty(campaigns)}}
<div class="scroll"><table>
<caption>Campaigns of the run, highest score first</caption>
{{> campaignHead}}
<tbody>{{#campaigns}}{{> campaignRow}}{{/campaigns}}</tbody>
</table></div>
{{/empty(campaigns)}}
{{#empty(campaigns)}}<p>No campaign found.</p>{{/empty(campaigns)}}
</section>
<section aria-labelledby="run-accounts-h">
<h2 id="run-accounts-h">Flagged accounts</h2>
{{^empty(accounts)}}
<div class="scroll"><table>
<caption>Flagged accounts of the run, highest score first</caption>
{{> accountHead}}
<tbody>{{#accounts}}{{> accountRow}}{{/accounts}}</tbody>
</table></div>
{{#moreAccounts}}<p>{{moreAccounts}}</p>{{/moreAccounts}}
{{/empty(accounts)}}
{{#empty(accounts)}}<p>No account is flagged.</p>{{/empty(accounts)}}
</section>
"""#
}

extension ConsoleRenderer {
    /// The console's list of runs stored in ClickHouse (`console_clickhouse`).
    public func runs(_ runs: [StoredRun], database: String, chrome: Chrome) -> String {
        page(title: "Runs", chrome: chrome, body: section("runs", ConsolePages.runs(runs, database: database)))
    }

    /// One stored run's campaigns and flagged accounts.
    public func run(_ report: StoredRunReport, chrome: Chrome) -> String {
        page(title: "Run \(report.run.id)", chrome: chrome, body: section("run", ConsolePages.run(report)))
    }
}
