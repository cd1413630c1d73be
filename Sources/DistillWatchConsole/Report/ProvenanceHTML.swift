import DistillWatchCore

/// The provenance report (``ProvenanceReport``) as HTML: a section of its own, and a
/// self-contained file (`provenance check --html`), in the console's style, with every value
/// escaped by the console's rules (the dataset's path and the accounts are untrusted text).
struct ProvenanceView {
    struct Row { var cells: [String] }
    var title: String
    var facts: [Stat]
    var statement: String
    var accounts: [Row]
    var campaigns: [Row]
    var records: [Row]
    var recordsNote: String
}

extension ConsoleRenderer {
    /// The report as a section (`<section id="provenance-section">`).
    /// - Complexity: O(accounts + campaigns + records listed).
    public func provenanceSection(_ r: ProvenanceReport) -> String {
        let facts = [
            Stat(name: "Dataset", value: r.dataset.path),
            Stat(name: "SHA-256", value: r.dataset.sha256),
            Stat(name: "Records checked", value: ConsoleFormat.number(r.dataset.records)),
            Stat(name: "Records matched", value: "\(ConsoleFormat.number(r.matchedRecords)) (\(ConsoleFormat.percent(r.matchedShare)))"),
            Stat(name: "Records not usable", value: ConsoleFormat.number(r.dataset.problems)),
            Stat(name: "Answers indexed", value: ConsoleFormat.number(r.index.responses)),
            Stat(name: "Answers served", value: [r.index.firstTime, r.index.lastTime].compactMap { t in t.map { ConsoleFormat.time($0) } }
                .joined(separator: " to ")),
            Stat(name: "Thresholds", value: "\(r.thresholds.minimumAgreement) of 64 bins agree, containment at least "
                 + ConsoleFormat.decimal(r.thresholds.minimumContainment)),
        ]
        let accounts = r.accounts.map { a in
            ProvenanceView.Row(cells: [a.accountID, a.campaignID ?? "–", a.verdict?.rawValue ?? "–", ConsoleFormat.number(a.records),
                                       ConsoleFormat.time(a.first), ConsoleFormat.time(a.last)])
        }
        let campaigns = r.campaigns.map {
            ProvenanceView.Row(cells: [$0.campaignID, ConsoleFormat.number($0.records), ConsoleFormat.number($0.accounts)])
        }
        let records = r.records.compactMap { rec -> ProvenanceView.Row? in
            guard let s = rec.sources.first else { return nil }
            return ProvenanceView.Row(cells: [ConsoleFormat.number(rec.position), rec.shape, s.accountID, s.requestID ?? "–",
                                              ConsoleFormat.time(s.at), ConsoleFormat.decimal(s.containment), "\(s.agreement)/64"])
        }
        let note = r.matchedRecords > r.records.count
            ? "The first \(ConsoleFormat.number(r.records.count)) of \(ConsoleFormat.number(r.matchedRecords)) matched records, by position."
            : "Every matched record, by position."
        return section("provenance", ProvenanceView(
            title: "Provenance of \(r.dataset.path)", facts: facts, statement: r.precision.statement, accounts: accounts,
            campaigns: campaigns, records: records, recordsNote: note))
    }

    /// The report as one self-contained HTML file (inline CSS, no script).
    public func provenanceDocument(_ r: ProvenanceReport) -> String {
        section("layout", Page(title: "Provenance of \(r.dataset.path)", stylesheet: nil, inlineStyle: ConsoleStyle.css, nav: nil,
                               reportTitle: "Provenance", flash: nil, body: provenanceSection(r),
                               footer: "Report \(r.format), generated \(ConsoleFormat.time(r.generatedAt))."))
    }
}

extension ConsoleTemplates {
    static let provenance = #"""
<section id="provenance-section" aria-labelledby="provenance-heading">
<h1 id="provenance-heading">{{title}}</h1>
<ul class="stats">{{#facts}}<li><span class="stat-name">{{name}}</span> <span class="stat-value">{{value}}</span></li>{{/facts}}</ul>
<h2>How often an unrelated text would match</h2>
<p>{{statement}}</p>
{{^empty(accounts)}}
<h2>Accounts</h2>
<div class="scroll"><table><caption>Accounts served the matched answers, most records first</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Campaign</th><th scope="col">Verdict</th><th scope="col" class="num">Records</th><th scope="col">First served</th><th scope="col">Last served</th></tr></thead>
<tbody>{{#accounts}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/accounts}}</tbody></table></div>
{{/empty(accounts)}}
{{^empty(campaigns)}}
<h2>Campaigns</h2>
<div class="scroll"><table><caption>Campaigns of those accounts (from the scan report given)</caption>
<thead><tr><th scope="col">Campaign</th><th scope="col" class="num">Records</th><th scope="col" class="num">Accounts</th></tr></thead>
<tbody>{{#campaigns}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/campaigns}}</tbody></table></div>
{{/empty(campaigns)}}
{{^empty(records)}}
<h2>Matched records</h2>
<p class="meta">{{recordsNote}}</p>
<div class="scroll"><table><caption>Each record and the answer it reproduces most closely</caption>
<thead><tr><th scope="col" class="num">Record</th><th scope="col">Shape</th><th scope="col">Account</th><th scope="col">Request</th><th scope="col">Served</th><th scope="col" class="num">Containment</th><th scope="col" class="num">Bins</th></tr></thead>
<tbody>{{#records}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/records}}</tbody></table></div>
{{/empty(records)}}
{{#empty(records)}}<p>No record of the dataset reproduces an answer in the index.</p>{{/empty(records)}}
</section>
"""#
}
