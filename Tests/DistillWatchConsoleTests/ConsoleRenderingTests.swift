@testable import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchConsole

/// Pages render from hostile data as text: account ids, user agents, notes and evidence are
/// attacker-controlled strings.
@Suite struct ConsoleRenderingTests {
    static let hostileID = "<script>alert(\"dw\")</script>"
    static let hostileAgent = "\"><img src=x onerror=alert(1)>"
    let t0 = Timestamp(rfc3339: "2026-03-01T00:00:00Z")!

    func hostileAccount() -> ScanReport.Account {
        ScanReport.Account(
            accountID: Self.hostileID, verdict: .block, score: 0.9, allowlisted: false, campaignID: "campaign-1",
            firstFlaggedAt: t0.adding(seconds: 3_600), exchangesBeforeFlag: 12, exchanges: 1_234_567, outputTokens: 9_876_543,
            signals: [ScanReport.Signal(name: "coverage_sweep", value: 0.5, detail: "targets <b>coding</b> & \(Self.hostileAgent)", contribution: 0.4)],
            analystLabel: nil, capabilities: ["coding": 0.75, "<svg onload=alert(1)>": 0.25], keys: nil)
    }

    func accountData() -> AccountData {
        AccountData(
            account: hostileAccount(), profile: nil,
            history: [HourlyTotals(hour: t0.hourIndex, exchanges: 10), HourlyTotals(hour: t0.hourIndex + 30, exchanges: 5)],
            membership: nil, decisions: [DecisionRecordView(at: t0, verdict: .block, score: 0.9, source: "decide", apiKeyID: Self.hostileAgent)],
            labels: [LabelRecordView(subject: .account, id: Self.hostileID, label: nil, note: "<i>note</i>", analyst: "alice", at: t0)],
            identifiers: [IdentifierSighting(kind: .userAgent, value: Self.hostileAgent, accountID: Self.hostileID, firstSeen: t0, lastSeen: t0, exchanges: 3)])
    }

    /// No markup from the data survives: every `<` of the hostile strings arrives as `&lt;`.
    func expectInert(_ html: String, _ what: String) {
        #expect(!html.contains("<script>alert"), "\(what): a script element from the data")
        #expect(!html.contains("<img src=x"), "\(what): an img element from the data")
        #expect(!html.contains("<svg onload"), "\(what): an svg element from the data")
        #expect(!html.contains("<b>coding</b>") && !html.contains("<i>note</i>"), "\(what): markup from the data")
        #expect(!html.lowercased().contains("<script"), "\(what): the console sends no script at all")
    }

    @Test func anAccountPageShowsHostileStringsAsText() throws {
        let renderer = try ConsoleRenderer()
        let chrome = ConsoleRenderer.Chrome(analyst: "alice", csrf: "c" + String(repeating: "0", count: 63), current: "")
        let html = renderer.account(accountData(), form: ConsoleForm(action: "/console/accounts/x/label", csrf: chrome.csrf), chrome: chrome)
        expectInert(html, "account page")
        #expect(html.contains("&lt;script&gt;alert(&quot;dw&quot;)&lt;/script&gt;"))
        #expect(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.contains("&lt;i&gt;note&lt;/i&gt;"))
        // Links to attacker-chosen ids are percent-encoded path segments.
        #expect(html.contains("/console/search?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"))
        // Numbers have thousands separators; times say UTC.
        #expect(html.contains("1,234,567") && html.contains("9,876,543"))
        #expect(html.contains("2026-03-01 01:00 UTC"))
        #expect(html.contains("name=\"csrf\" value=\"\(chrome.csrf)\""))
        // Mustache escapes with the console's rules too: a bidi override in an id is named.
        var data = accountData()
        data.account.accountID = "bidi\u{202E}gnp.exe"
        let bidi = renderer.account(data, form: nil, chrome: chrome)
        #expect(bidi.contains("bidi[U+202E]gnp.exe") && !bidi.contains("\u{202E}"))
    }

    /// The account page lists the countermeasures in force with their rules, and the audit
    /// table the directives each answer carried; a rule name is escaped like any string.
    @Test func anAccountPageShowsItsCountermeasures() throws {
        let renderer = try ConsoleRenderer()
        let chrome = ConsoleRenderer.Chrome(analyst: "alice", csrf: "c" + String(repeating: "0", count: 63), current: "")
        var data = accountData()
        data.account.directives = Countermeasures(merging: [
            AppliedDirective(directive: .withholdReasoning, rule: "throttle"),
            AppliedDirective(directive: .capMaxTokens(4_096), rule: "<b>pinned</b>"),
            AppliedDirective(directive: .rateLimit(requestsPerMinute: 1_200), rule: "throttle"),
        ]).entries
        data.decisions = [DecisionRecordView(at: t0, verdict: .throttle, score: 0.8, source: "envoy", apiKeyID: "gw",
                                             directives: ["rate_limit=1200/min", "refused:rate_limit"])]
        let html = renderer.account(data, form: nil, chrome: chrome)
        #expect(html.contains("<h2>Countermeasures</h2>"))
        #expect(html.contains("withhold_reasoning</span> <span class=\"stat-value\">rule: throttle"))
        #expect(html.contains("cap_max_tokens 4,096 tokens</span> <span class=\"stat-value\">rule: &lt;b&gt;pinned&lt;/b&gt;"))
        #expect(html.contains("rate_limit 1,200 a minute"))
        #expect(html.contains("<td>rate_limit=1200/min, refused:rate_limit</td>"))
        #expect(!html.contains("Sign-up risk"))
        data.account.signup = ScanReport.Signup(score: 0.6, factors: [
            ScanReport.Signal(name: "throwaway_domain", value: 1, detail: "signed up with disposable mail (<yopmail.com>)", contribution: 0.6)])
        let withSignup = renderer.account(data, form: nil, chrome: chrome)
        #expect(withSignup.contains("<h2>Sign-up risk 0.60</h2>") || withSignup.contains("<h2>Sign-up risk 0.6</h2>"))
        #expect(withSignup.contains("disposable mail (&lt;yopmail.com&gt;)"))
        expectInert(html, "account page with directives")
        // None in force: no section.
        #expect(!renderer.account(accountData(), form: nil, chrome: chrome).contains("<h2>Countermeasures</h2>"))
    }

    /// The provenance report renders as a page of its own, every untrusted value escaped.
    @Test func theProvenanceReportIsAPageWithEveryValueEscaped() throws {
        let renderer = try ConsoleRenderer()
        let source = ProvenanceReport.Source(accountID: Self.hostileID, campaignID: "campaign-2", requestID: Self.hostileAgent, model: "m",
                                             at: t0, containment: 0.91, jaccard: 0.5, agreement: 34)
        let report = ProvenanceReport(
            format: ProvenanceReport.formatName, generatedAt: t0,
            dataset: .init(path: "<b>leak</b>.jsonl", sha256: String(repeating: "a", count: 64), lines: 12, records: 10, problems: 2,
                           shapes: ["messages": 10]),
            index: .init(responses: 1_234_567, firstTime: t0, lastTime: t0.adding(seconds: 86_400), keyFingerprint: "abc"),
            thresholds: .init(minimumAgreement: 16, minimumContainment: 0.4), matchedRecords: 1, matchedShare: 0.1,
            precision: .init(background: (1_000, 0, 10), candidatePairs: 50, matchedRecords: 1),
            accounts: [.init(accountID: Self.hostileID, campaignID: "campaign-2", verdict: .block, records: 1, first: t0, last: t0)],
            campaigns: [.init(campaignID: "campaign-2", records: 1, accounts: 1)],
            records: [.init(position: 7, shape: "messages", sources: [source])], recordsListed: 1)
        let html = renderer.provenanceDocument(report)
        expectInert(html, "provenance")
        #expect(!html.contains("<b>leak</b>") && html.contains("&lt;b&gt;leak&lt;/b&gt;.jsonl"))
        #expect(html.contains("1,234,567") && html.contains("10.0%") && html.contains("34/64"))
        #expect(html.contains("0 of 1,000 pairs of this dataset"))
        #expect(html.contains("<style>") && !html.lowercased().contains("<script"))
        var none = report
        none.records = []
        #expect(renderer.provenanceDocument(none).contains("No record of the dataset reproduces an answer"))
    }

    /// Every `id` in a report is unique, whatever the account ids (`dup` and `dup-h` once
    /// gave a heading and a section the same id).
    @Test func reportIDsAreUnique() throws {
        let overview = OverviewData(asOf: t0, exchanges: 0, accounts: 0, verdictCounts: [:], traffic: [],
                                    flagged: FlaggedOverview(flaggedCount: 0, newlyFlaggedPerHour: [], top: []), campaigns: [], recentLabels: [],
                                    health: [], source: "")
        let accounts = ["dup", "dup-h", "h-account-dup", "a%b", "a_25b", ".."].map { id -> AccountData in
            var d = accountData()
            d.account.accountID = id
            return d
        }
        let html = try ConsoleRenderer().document(HTMLReport(title: "t", intro: "i", overview: overview, campaigns: [], accounts: accounts))
        var ids: [String] = []
        var rest = html[...]
        while let r = rest.range(of: " id=\"") {
            let value = rest[r.upperBound...].prefix { $0 != "\"" }
            ids.append(String(value))
            rest = rest[r.upperBound...]
        }
        let repeated = Dictionary(grouping: ids, by: { $0 }).filter { $0.value.count > 1 }.keys
        #expect(repeated.isEmpty, "ids used twice: \(repeated.sorted())")
    }

    @Test func aCampaignPagePagesItsMembersAndEscapesTheGraph() throws {
        let members = (0..<250).map { k in
            CampaignMemberRow(accountID: k == 7 ? Self.hostileID : String(format: "acct-%04d", k), verdict: .block, score: Double(k) / 1_000,
                              exchanges: k, outputTokens: k * 10, firstSeen: t0, firstFlaggedAt: t0, joinedAt: t0,
                              joinedBy: [.sharedPayment], label: nil)
        }
        let campaign = ScanReport.Campaign(
            campaignID: "campaign-1", score: 0.95, verdict: .block, accounts: members.map(\.accountID), firstSeen: t0,
            firstFlaggedAt: t0.adding(seconds: 7_200), lastSeen: t0.adding(seconds: 86_400 * 20), exchanges: 28_800_000,
            outputTokens: 1_000_000_000, capabilities: ["coding": 0.6], evidence: [ScanReport.Evidence(kind: "shared_payment", detail: "<u>x</u>", accounts: 250)],
            signals: nil, analystLabel: .confirmedAttack)
        let graph = CampaignEvidenceGraph(accounts: [Self.hostileID, "acct-0001"], evidence: [.init(kind: .sharedPayment, value: 0xABCDEF << 40)],
                                          edges: [(0, 0), (1, 0)], members: 250)
        let hours = (0..<(20 * 24)).map { HourlyTotals(hour: t0.hourIndex + Int64($0), exchanges: 60_000) }
        let data = CampaignData(campaign: campaign, timeline: hours, releases: [("sable-5", t0.adding(seconds: 86_400 * 3))],
                                members: members, graph: graph, labels: [])
        let renderer = try ConsoleRenderer()
        let chrome = ConsoleRenderer.Chrome(analyst: "alice", csrf: "x", current: "/console/campaigns")
        let page1 = renderer.campaign(data, page: 1, pageSize: 100, form: nil, chrome: chrome)
        expectInert(page1, "campaign page")
        #expect(page1.contains("members 1–100 of 250, page 1 of 3"))
        #expect(page1.contains("?page=2") && !page1.contains("rel=\"prev\""))
        // Highest score first: acct-0249 leads, acct-0000 is on page 3.
        #expect(page1.contains("acct-0249") && !page1.contains(">acct-0000<"))
        let page3 = renderer.campaign(data, page: 3, pageSize: 100, form: nil, chrome: chrome)
        #expect(page3.contains(">acct-0000<") && page3.contains("page 3 of 3") && !page3.contains("rel=\"next\""))
        // A 20-day span is drawn per day, with the release and first flag marked in text.
        #expect(page1.contains("exchanges per day (UTC)"))
        #expect(page1.contains("release: sable-5") && page1.contains("first flagged 2026-03-01 02:00 UTC"))
        #expect(page1.contains("payment #abcdef"))
        #expect(page1.contains("28,800,000") && page1.contains("confirmed attack"))
    }

    @Test func theReportFileIsSelfContained() throws {
        let overview = OverviewData(
            asOf: t0, exchanges: 3, accounts: 1, verdictCounts: [.block: 1], traffic: [HourlyTotals(hour: t0.hourIndex, exchanges: 3)],
            flagged: FlaggedOverview(flaggedCount: 1, newlyFlaggedPerHour: [], top: [hostileAccount()]), campaigns: [], recentLabels: [],
            health: [("Malformed lines", "0")], source: "test")
        let html = try ConsoleRenderer().document(HTMLReport(title: "t", intro: "i", overview: overview, campaigns: [], accounts: [accountData()]))
        expectInert(html, "report")
        #expect(html.contains("<style>") && !html.contains("<link rel=\"stylesheet\""))
        for attribute in ["src=\"http", "href=\"http", "src=\"//", "url(", "@import"] {
            #expect(!html.contains(attribute), "the report loads nothing: found \(attribute)")
        }
        // The overview links to the account's own section by an id that any account id makes valid.
        let anchor = ConsoleLinks.anchor(account: Self.hostileID)
        #expect(html.contains("id=\"\(anchor)\"") && html.contains("href=\"#\(anchor)\""))
        #expect(anchor.allSatisfy { $0.isLetter || $0.isNumber || "-_.~".contains($0) })
    }

    @Test func everyTemplateParses() throws {
        for (name, text) in ConsoleTemplates.all {
            #expect(throws: Never.self, "\(name)") { _ = try ConsoleRenderer.parse(text) }
        }
    }
}

@Suite struct ScreeningReportTests {
    let period = ScreeningReport.Period(from: Timestamp(rfc3339: "2026-03-01T00:00:00Z")!, to: Timestamp(rfc3339: "2026-04-01T00:00:00Z")!)
    let provenance = ScreeningReport.Provenance(inputDigest: "ab", inputs: [], policyDigest: "cd", engineVersion: "0.12.0", source: "scan")

    func report(signOffs: [String: ScreeningReport.SignOff] = [:]) -> ScreeningReport {
        let totals: [String: HourlyTotals] = [
            "=HYPERLINK(\"http://evil\")": HourlyTotals(hour: 0, exchanges: 50_000, outputTokens: 10, costMicroUSD: 0),
            "busy": HourlyTotals(hour: 0, exchanges: 20_000, outputTokens: 9_000_000, costMicroUSD: 12_500_000),
            "quiet": HourlyTotals(hour: 0, exchanges: 10, outputTokens: 10, costMicroUSD: 0),
            "spender": HourlyTotals(hour: 0, exchanges: 5, outputTokens: 5, costMicroUSD: 900_000_000),
        ]
        return ScreeningReport(period: period, thresholds: .init(exchanges: 10_000, outputTokens: 5_000_000, spendUSD: 500),
                               totals: totals, account: { id in
                                   id == "busy" ? ScanReport.Account(accountID: id, verdict: .throttle, score: 0.7, allowlisted: false, campaignID: "campaign-2",
                                                                     firstFlaggedAt: nil, exchangesBeforeFlag: nil, exchanges: 1, outputTokens: 1,
                                                                     signals: [.init(name: "coverage_sweep", value: 1, detail: "", contribution: 0.5)],
                                                                     analystLabel: nil, capabilities: ["coding": 0.8, "writing": 0.2], keys: nil) : nil
                               }, signOffs: signOffs, provenance: provenance)
    }

    @Test func accountsAboveAnyThresholdAreListedByVolume() {
        let r = report(signOffs: ["busy": .init(disposition: .restricted, note: "capped", analyst: "alice", at: period.from)])
        #expect(r.accounts.map(\.accountID) == ["=HYPERLINK(\"http://evil\")", "busy", "spender"])
        #expect(r.accounts[1].thresholdsMet == ["exchanges", "output_tokens"] && r.accounts[2].thresholdsMet == ["spend_usd"])
        #expect(r.accounts[1].purpose == "coding 80%, writing 20%" && r.accounts[1].campaignID == "campaign-2")
        #expect(r.accounts[0].purpose.hasPrefix("unknown"))
        #expect(r.summary.activeAccounts == 4 && r.summary.screenedAccounts == 3 && r.summary.flaggedScreened == 1 && r.summary.signedOff == 1)
    }

    @Test func theSameInputGivesTheSameBytes() throws {
        let a = try ScreeningOutput.json(report()), b = try ScreeningOutput.json(report())
        #expect(a == b)
        #expect(report().csv == report().csv)
        let renderer = try ConsoleRenderer()
        #expect(renderer.screeningDocument(report()) == renderer.screeningDocument(report()))
        #expect(a.contains("\"input_digest\" : \"ab\"") && a.contains("\"policy_digest\" : \"cd\"") && a.contains("\"engine_version\" : \"0.12.0\""))
        #expect(a.contains("\"from\" : \"2026-03-01T00:00:00.000Z\""))
    }

    @Test func csvCellsCannotRunAsFormulas() {
        let csv = report().csv
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""))
        #expect(!csv.split(separator: "\r\n").dropFirst().contains { $0.hasPrefix("=") })
        #expect(ScreeningReport.csvCell("-1+2") == "'-1+2" && ScreeningReport.csvCell("@SUM") == "'@SUM" && ScreeningReport.csvCell("a,b") == "\"a,b\"")
    }

    /// A cell holding CR LF (one Swift Character, equal to neither "\r" nor "\n"), or a
    /// quote with a combining mark on it, is quoted like any other; read back by an RFC 4180
    /// reader it is one cell, and no row starts with a formula.
    @Test func csvCellsHoldingLineBreaksOrMarkedQuotesStayOneCell() {
        let hostile = ["evil\r\n=WEBSERVICE(A3)", "a\"\u{301},b", "x\ry", "x\ny", "plain"]
        for value in hostile {
            let cell = ScreeningReport.csvCell(value)
            let rows = Self.readCSV(cell + "\r\n")
            #expect(rows == [[value]], "\(value.debugDescription) written as \(cell.debugDescription)")
        }
        #expect(ScreeningReport.csvCell("evil\r\n=X") == "\"evil\r\n=X\"")
        #expect(ScreeningReport.csvCell("\r\n=X") == "\"'\r\n=X\"")
    }

    /// RFC 4180's grammar, for reading back what the writer wrote: quoted fields may hold
    /// commas, CR, LF and doubled quotes; rows end at CR LF (or a lone CR or LF).
    static func readCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = String.UnicodeScalarView()
        var quoted = false, afterQuote = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? { if let p = pending { pending = nil; return p }; return scalars.next() }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let d = next() { if d == "\"" { field.append("\"") } else { quoted = false; afterQuote = true; pending = d } }
                    else { quoted = false }
                } else { field.append(c) }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            case ",": row.append(String(field)); field = .init(); afterQuote = false
            case "\r", "\n":
                if c == "\r", let d = next(), d != "\n" { pending = d }
                row.append(String(field)); rows.append(row); row = []; field = .init(); afterQuote = false
            default: field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(String(field)); rows.append(row) }
        return rows
    }

    @Test func periodsParseAsDatesOrTimes() {
        #expect(ScreeningPeriodParsing.parse("2026-03-31", endOfDay: true) == Timestamp(rfc3339: "2026-04-01T00:00:00Z"))
        #expect(ScreeningPeriodParsing.parse("2026-03-31", endOfDay: false) == Timestamp(rfc3339: "2026-03-31T00:00:00Z"))
        #expect(ScreeningPeriodParsing.parse("2026-03-31T12:00:00Z", endOfDay: true) == Timestamp(rfc3339: "2026-03-31T12:00:00Z"))
        #expect(ScreeningPeriodParsing.parse("yesterday", endOfDay: false) == nil)
        #expect(period.hours.count == 31 * 24)
    }
}

/// A timeline whose span is past 4,000 days (a stray exchange of 2000 among 2026 traffic)
/// is drawn in runs of days: the bars stopped at 4,000 days and the newest traffic, the
/// part an analyst looks at, was not drawn.
@Suite struct TimelineSpanTests {
    @Test func aLongSpanKeepsItsNewestTraffic() {
        let y2000 = Timestamp(rfc3339: "2000-01-01T00:00:00Z")!.hourIndex
        let y2026 = Timestamp(rfc3339: "2026-03-01T12:00:00Z")!.hourIndex
        let svg = SVGChart.timeline([HourlyTotals(hour: y2000, exchanges: 1), HourlyTotals(hour: y2026, exchanges: 777)], title: "t")
        #expect(svg.contains(": 777 exchanges</title>"), "the 2026 bar is drawn")
        #expect(svg.contains("exchanges per 3 days (UTC)"), "9,556 days in bars of 3")
        #expect(svg.components(separatedBy: "<rect class=\"bar\"").count - 1 == 2)
        // Within 4,000 days, one bar a day as before.
        let short = SVGChart.timeline([HourlyTotals(hour: y2026 - 24 * 100, exchanges: 1), HourlyTotals(hour: y2026, exchanges: 2)], title: "t")
        #expect(short.contains("exchanges per day (UTC)"))
    }
}
