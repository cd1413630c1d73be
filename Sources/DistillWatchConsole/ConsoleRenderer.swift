import DistillWatchCore
import Mustache

/// Renders the console's pages and the HTML report from the templates in
/// `ConsoleTemplates` (swift-mustache). Templates are parsed once, at `init`.
///
/// - Complexity: linear in the size of the view models; a campaign page renders one page
///   of members (100 rows by default), whatever the campaign's size.
public struct ConsoleRenderer: Sendable {
    let library: MustacheLibrary

    /// - Throws: a parser error if a template is malformed (a programming error; the test
    ///   suite renders every template).
    public init() throws {
        Self.registerEscaping
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in ConsoleTemplates.all { templates[name] = try Self.parse(text) }
        library = MustacheLibrary(templates: templates)
    }

    /// Every template escapes with ``ConsoleFormat/escape(_:)`` (HTML's five characters, XML's
    /// forbidden controls, bidirectional controls shown by name), not Mustache's default.
    static func parse(_ text: String) throws -> MustacheTemplate {
        Self.registerEscaping
        return try MustacheTemplate(string: "{{% CONTENT_TYPE: \(ConsoleHTML.name)}}" + text)
    }

    static let registerEscaping: Void = MustacheContentTypes.register(ConsoleHTML(), named: ConsoleHTML.name)

    /// The stylesheet, as served at `/console/assets/console.css`.
    public static var stylesheet: String { ConsoleStyle.css }

    func section(_ name: String, _ view: Any) -> String {
        library.render(view, withTemplate: name) ?? ""
    }

    /// The navigation bar's state for a signed-in analyst.
    public struct Chrome: Sendable {
        public var analyst: String
        public var csrf: String
        public var current: String
        public var query: String
        public var flash: String?
        /// The console reads runs from ClickHouse (`console_clickhouse`): the menu shows Runs.
        public var runs: Bool
        public init(analyst: String, csrf: String, current: String, query: String = "", flash: String? = nil, runs: Bool = false) {
            self.analyst = analyst
            self.csrf = csrf
            self.current = current
            self.query = query
            self.flash = flash
            self.runs = runs
        }
    }

    struct NavLink { var href: String; var text: String; var current: Bool }
    struct Nav { var links: [NavLink]; var csrf: String; var analyst: String; var query: String }
    struct Page {
        var title: String
        var stylesheet: String?
        var inlineStyle: String?
        var nav: Nav?
        var reportTitle: String?
        var flash: String?
        var body: String
        var footer: String
    }

    static let sections: [(String, String)] = [
        ("/console", "Overview"), ("/console/campaigns", "Campaigns"), ("/console/screening", "Screening"), ("/console/search", "Search"),
    ]

    func page(title: String, chrome: Chrome?, body: String, footer: String = "") -> String {
        let nav = chrome.map { c in
            Nav(links: (Self.sections + (c.runs ? [("/console/runs", "Runs")] : [])).map { NavLink(href: $0.0, text: $0.1, current: $0.0 == c.current) },
                csrf: c.csrf, analyst: c.analyst, query: c.query)
        }
        return section("layout", Page(title: title, stylesheet: "/console/assets/console.css", inlineStyle: nil, nav: nav,
                                      reportTitle: nil, flash: chrome?.flash, body: body, footer: footer))
    }

    // MARK: Console pages

    public func overview(_ data: OverviewData, chrome: Chrome) -> String {
        page(title: "Overview", chrome: chrome, body: section("overview", ConsolePages.overview(data, links: .console)))
    }

    public func campaigns(_ campaigns: [CampaignListing], sort: String?, verdict: String?, label: String?, chrome: Chrome) -> String {
        let list = ConsolePages.campaignList(campaigns, sort: sort, verdict: verdict, label: label, links: .console)
        return page(title: "Campaigns", chrome: chrome, body: section("campaigns", Merged(list, extra: ["sortKey": sort ?? "score"])))
    }

    public func campaign(_ data: CampaignData, page p: Int, pageSize: Int = 100, form: ConsoleForm?, chrome: Chrome) -> String {
        let id = data.campaign.campaignID
        let view = ConsolePages.campaign(data, page: p, pageSize: pageSize, links: .console, form: form,
                                         pageHref: { "/console/campaigns/\(ConsoleFormat.pathSegment(id))?page=\($0)" })
        return page(title: "Campaign \(id)", chrome: chrome,
                    body: section("campaign", Merged(view, extra: ["signalCaption": "Campaign signals (contributions to its score)"])))
    }

    public func account(_ data: AccountData, form: ConsoleForm?, chrome: Chrome) -> String {
        let view = ConsolePages.account(data, links: .console, form: form)
        return page(title: "Account \(data.account.accountID)", chrome: chrome,
                    body: section("account", Merged(view, extra: ["signalCaption": "Every signal: value, contribution to the score, detail"])))
    }

    /// One search hit.
    public struct SearchResult: Sendable {
        public var kind: String
        public var text: String
        public var href: String?
        public var detail: String
        public init(kind: String, text: String, href: String?, detail: String) {
            self.kind = kind
            self.text = text
            self.href = href
            self.detail = detail
        }
    }

    public func search(query: String, results: [SearchResult], chrome: Chrome) -> String {
        struct V { var query: String; var hasQuery: Bool; var results: [SearchResult]; var count: String }
        let count = "\(ConsoleFormat.number(results.count)) match\(results.count == 1 ? "" : "es")"
        return page(title: "Search", chrome: chrome,
                    body: section("search", V(query: query, hasQuery: !query.isEmpty, results: results, count: count)))
    }

    /// The console's screening page: the report's facts and `pageSize` rows of page `page`.
    /// - Parameter pageHref: the URL of another page of the same report.
    public func screening(_ report: ScreeningReport, page: Int = 1, pageSize: Int = 100, pageHref: ((Int) -> String)? = nil,
                          form: ConsoleForm?, chrome: Chrome) -> String {
        let pages = max(1, (report.accounts.count + pageSize - 1) / pageSize)
        let p = min(max(1, page), pages)
        let rows = ((p - 1) * pageSize)..<min(report.accounts.count, p * pageSize)
        let pager = pages > 1 ? PagerView(text: "page \(p) of \(pages)", previous: p > 1 ? pageHref?(p - 1) : nil,
                                          next: p < pages ? pageHref?(p + 1) : nil) : nil
        struct V { var fromDate: String; var toDate: String; var minExchanges: String; var minOutputTokens: String; var minSpend: String; var report: String }
        let body = section("screening", V(
            fromDate: String(report.period.from.rfc3339.prefix(10)),
            toDate: ConsoleFormat.day(report.period.to.adding(milliseconds: -1).dayIndex),
            minExchanges: report.thresholds.exchanges.map(String.init) ?? "",
            minOutputTokens: report.thresholds.outputTokens.map(String.init) ?? "",
            minSpend: report.thresholds.spendUSD.map { ConsoleFormat.decimal($0, digits: 2).replacingOccurrences(of: ",", with: "") } ?? "",
            report: screeningSection(report, links: .console, form: form, rows: rows, pager: pager)))
        return self.page(title: "Screening", chrome: chrome, body: body)
    }

    public func login(csrf: String, error: String?) -> String {
        struct V { var csrf: String; var error: String? }
        return page(title: "Sign in", chrome: nil, body: section("login", V(csrf: csrf, error: error)))
    }

    /// A page with a heading, a sentence and an optional link (errors, refusals).
    public func message(title: String, text: String, link: String? = nil, linkText: String? = nil, chrome: Chrome? = nil) -> String {
        struct V { var heading: String; var text: String; var link: String?; var linkText: String? }
        return page(title: title, chrome: chrome, body: section("message", V(heading: title, text: text, link: link, linkText: linkText)))
    }
}

/// A view model plus a few extra keys for its template (swift-mustache looks names up on
/// the value by reflection; extra keys come first).
struct Merged: MustacheParent {
    let base: Any
    let extra: [String: Any]
    init(_ base: Any, extra: [String: Any]) {
        self.base = base
        self.extra = extra
    }

    func child(named name: String) -> Any? {
        if let v = extra[name] { return v }
        guard let value = Mirror(reflecting: base).children.first(where: { $0.label == name })?.value else { return nil }
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }
}

/// The console's escaping as a Mustache content type.
struct ConsoleHTML: MustacheContentType {
    static let name = "DISTILLWATCH_HTML"
    func escapeText(_ text: String) -> String { ConsoleFormat.escape(text) }
}
