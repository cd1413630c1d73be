import DistillWatchCore

/// Turns engine and store data into the views the templates render. Pure: no I/O, time
/// comes from the data.
enum ConsolePages {
    static func accountRow(_ a: ScanReport.Account, links: ConsoleLinks) -> AccountRowView {
        AccountRowView(id: a.accountID, href: links.account(a.accountID), badge: Badge(a.verdict),
                       score: ConsoleFormat.decimal(a.score), exchanges: ConsoleFormat.number(a.exchanges),
                       outputTokens: ConsoleFormat.number(a.outputTokens), firstFlag: ConsoleFormat.time(a.firstFlaggedAt),
                       campaign: a.campaignID, campaignHref: a.campaignID.flatMap(links.campaign),
                       label: ConsoleFormat.label(a.analystLabel), joined: nil)
    }

    static func memberRow(_ m: CampaignMemberRow, links: ConsoleLinks) -> AccountRowView {
        AccountRowView(id: m.accountID, href: links.account(m.accountID), badge: Badge(m.verdict),
                       score: ConsoleFormat.decimal(m.score), exchanges: ConsoleFormat.number(m.exchanges),
                       outputTokens: ConsoleFormat.number(m.outputTokens), firstFlag: ConsoleFormat.time(m.firstFlaggedAt),
                       campaign: nil, campaignHref: nil, label: ConsoleFormat.label(m.label),
                       joined: m.joinedAt.map { ConsoleFormat.time($0) + " (" + m.joinedBy.map(\.rawValue).joined(separator: ", ") + ")" }
                           ?? "first member")
    }

    static func campaignRow(_ c: CampaignListing, links: ConsoleLinks) -> CampaignRowView {
        CampaignRowView(id: c.campaignID, href: links.campaign(c.campaignID), badge: Badge(c.verdict),
                        score: ConsoleFormat.decimal(c.score), members: ConsoleFormat.number(c.members),
                        exchanges: ConsoleFormat.number(c.exchanges), outputTokens: ConsoleFormat.number(c.outputTokens),
                        firstFlag: ConsoleFormat.time(c.firstFlaggedAt), label: ConsoleFormat.label(c.label))
    }

    static func labelView(_ l: LabelRecordView, links: ConsoleLinks) -> LabelView {
        LabelView(at: ConsoleFormat.time(l.at), subject: l.subject.rawValue, id: l.id,
                  href: l.subject == .account ? links.account(l.id) : links.campaign(l.id),
                  label: l.label.map { ConsoleFormat.label($0) } ?? "note", analyst: l.analyst ?? "–", note: l.note ?? "")
    }

    /// "cap_max_tokens 4,096" · "rule: throttle".
    static func directiveStat(_ d: DirectiveEntry) -> Stat {
        var name = d.directive.rawValue
        if let n = d.maxTokens { name += " \(ConsoleFormat.number(n)) tokens" }
        if let n = d.requestsPerMinute { name += " \(ConsoleFormat.number(n)) a minute" }
        return Stat(name: name, value: "rule: " + d.rule)
    }

    static func signalView(_ s: ScanReport.Signal) -> SignalView {
        SignalView(name: s.name, value: ConsoleFormat.decimal(s.value), contribution: ConsoleFormat.decimal(s.contribution),
                   detail: s.detail, contributes: s.contribution > 0)
    }

    static func capabilities(_ shares: [String: Double]) -> [CapabilityView] {
        shares.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { name, share in
            let w = max(0, min(1, share)) * 200
            let bar = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"share\" viewBox=\"0 0 200 12\" role=\"img\" aria-label=\"\(ConsoleFormat.escape(ConsoleFormat.percent(share)))\">"
                + "<rect class=\"share-track\" x=\"0\" y=\"0\" width=\"200\" height=\"12\"/><rect class=\"bar\" x=\"0\" y=\"0\" width=\"\(SVGChart.f(w))\" height=\"12\"/></svg>"
            return CapabilityView(name: name, share: ConsoleFormat.percent(share), bar: bar)
        }
    }

    // MARK: Pages

    static func overview(_ d: OverviewData, links: ConsoleLinks, accountLimit: Int = 25) -> OverviewView {
        let flagged = d.flagged.flaggedCount
        var stats = [
            Stat(name: "Exchanges", value: ConsoleFormat.number(d.exchanges)),
            Stat(name: "Accounts", value: ConsoleFormat.number(d.accounts)),
            Stat(name: "Flagged accounts", value: ConsoleFormat.number(flagged)),
            Stat(name: "Campaigns", value: ConsoleFormat.number(d.campaigns.count)),
        ]
        if let first = d.traffic.first?.hour, let last = d.traffic.last?.hour {
            stats.append(Stat(name: "History", value: "\(ConsoleFormat.hour(first)) to \(ConsoleFormat.hour(last))"))
        }
        let verdicts = Verdict.allCases.map { Stat(name: $0.rawValue, value: ConsoleFormat.number(d.verdictCounts[$0] ?? 0)) }
        let flaggedHours = d.flagged.newlyFlaggedPerHour
        return OverviewView(
            asOf: ConsoleFormat.time(d.asOf), source: d.source, stats: stats, verdicts: verdicts,
            health: d.health.map { Stat(name: $0.0, value: $0.1) },
            trafficChart: SVGChart.timeline(d.traffic, title: "All traffic"),
            flaggedChart: SVGChart.timeline(flaggedHours, title: "Accounts newly flagged", unit: "accounts flagged"),
            campaigns: d.campaigns.sorted { $0.score > $1.score }.prefix(20).map { campaignRow($0, links: links) },
            accounts: d.flagged.top.prefix(accountLimit).map { accountRow($0, links: links) },
            labels: d.recentLabels.prefix(20).map { labelView($0, links: links) },
            moreAccounts: flagged > accountLimit ? "\(ConsoleFormat.number(flagged - accountLimit)) more flagged accounts: search or open a campaign" : nil)
    }

    /// Sort keys of the campaigns list (`?sort=`).
    enum CampaignSort: String, CaseIterable {
        case score, size, volume
        case firstFlag = "first_flag"

        var title: String {
            switch self {
            case .score: return "Score"
            case .size: return "Members"
            case .volume: return "Exchanges"
            case .firstFlag: return "First flagged"
            }
        }
    }

    static func campaignList(_ campaigns: [CampaignListing], sort: String?, verdict: String?, label: String?,
                             links: ConsoleLinks) -> CampaignListView {
        let order = sort.flatMap(CampaignSort.init(rawValue:)) ?? .score
        var rows = campaigns
        if let verdict, !verdict.isEmpty { rows = rows.filter { ($0.verdict?.rawValue ?? "none") == verdict } }
        if let label, !label.isEmpty {
            rows = rows.filter { (label == "unlabelled" && $0.label == nil) || $0.label?.rawValue == label }
        }
        rows.sort { a, b in
            switch order {
            case .score: return a.score != b.score ? a.score > b.score : a.campaignID < b.campaignID
            case .size: return a.members != b.members ? a.members > b.members : a.campaignID < b.campaignID
            case .volume: return a.exchanges != b.exchanges ? a.exchanges > b.exchanges : a.campaignID < b.campaignID
            case .firstFlag:
                let x = a.firstFlaggedAt?.millisecondsSinceEpoch ?? .max, y = b.firstFlaggedAt?.millisecondsSinceEpoch ?? .max
                return x != y ? x < y : a.campaignID < b.campaignID
            }
        }
        func query(_ s: CampaignSort) -> String {
            var q = "?sort=\(s.rawValue)"
            if let verdict, !verdict.isEmpty { q += "&verdict=\(ConsoleFormat.pathSegment(verdict))" }
            if let label, !label.isEmpty { q += "&label=\(ConsoleFormat.pathSegment(label))" }
            return q
        }
        let verdictOptions = [OptionView(value: "", text: "any verdict", selected: (verdict ?? "").isEmpty)]
            + Verdict.allCases.map { OptionView(value: $0.rawValue, text: $0.rawValue, selected: verdict == $0.rawValue) }
        let labelOptions = [
            OptionView(value: "", text: "any label", selected: (label ?? "").isEmpty),
            OptionView(value: "unlabelled", text: "unlabelled", selected: label == "unlabelled"),
            OptionView(value: AnalystLabel.confirmedAttack.rawValue, text: "confirmed attack", selected: label == AnalystLabel.confirmedAttack.rawValue),
            OptionView(value: AnalystLabel.legitimate.rawValue, text: "legitimate", selected: label == AnalystLabel.legitimate.rawValue),
        ]
        return CampaignListView(
            rows: rows.map { campaignRow($0, links: links) },
            sortLinks: CampaignSort.allCases.map { SortLink(name: $0.title, href: query($0), ariaSort: $0 == order ? ($0 == .firstFlag ? "ascending" : "descending") : "none") },
            verdictOptions: verdictOptions, labelOptions: labelOptions, sort: order.title,
            count: "\(ConsoleFormat.number(rows.count)) of \(ConsoleFormat.number(campaigns.count)) campaigns")
    }

    /// A campaign page; members sorted by score (then id) and paged `pageSize` at a time.
    /// - Complexity: O(members · log members) for the sort; rendering is O(pageSize).
    static func campaign(_ d: CampaignData, page: Int, pageSize: Int, links: ConsoleLinks, form: ConsoleForm?,
                         pageHref: ((Int) -> String)?) -> CampaignView {
        let c = d.campaign
        let members = d.members.sorted { $0.score != $1.score ? $0.score > $1.score : $0.accountID < $1.accountID }
        let pages = max(1, (members.count + pageSize - 1) / pageSize)
        let p = min(max(1, page), pages)
        let slice = members.dropFirst((p - 1) * pageSize).prefix(pageSize)
        var markers: [SVGChart.Marker] = []
        if let t = c.firstFlaggedAt { markers.append(.init(hour: t.hourIndex, label: "first flagged \(ConsoleFormat.time(t))")) }
        if let first = d.timeline.first?.hour, let last = d.timeline.last?.hour {
            for r in d.releases where (first...last).contains(r.firstSeen.hourIndex) {
                markers.append(.init(hour: r.firstSeen.hourIndex, label: "release: \(r.model)"))
            }
        }
        let stats = [
            Stat(name: "Members", value: ConsoleFormat.number(c.accounts.count)),
            Stat(name: "Exchanges", value: ConsoleFormat.number(c.exchanges)),
            Stat(name: "Output tokens harvested", value: ConsoleFormat.number(c.outputTokens)),
            Stat(name: "First seen", value: ConsoleFormat.time(c.firstSeen)),
            Stat(name: "First flagged", value: ConsoleFormat.time(c.firstFlaggedAt)),
            Stat(name: "Last seen", value: ConsoleFormat.time(c.lastSeen)),
        ]
        let pager: PagerView? = pages > 1 || members.count > pageSize
            ? PagerView(text: "members \(ConsoleFormat.number((p - 1) * pageSize + 1))–\(ConsoleFormat.number((p - 1) * pageSize + slice.count)) of \(ConsoleFormat.number(members.count)), page \(p) of \(pages)",
                        previous: p > 1 ? pageHref?(p - 1) : nil, next: p < pages ? pageHref?(p + 1) : nil)
            : nil
        return CampaignView(
            id: c.campaignID, anchor: ConsoleLinks.anchor(campaign: c.campaignID), badge: Badge(c.verdict),
            score: ConsoleFormat.decimal(c.score), label: ConsoleFormat.label(c.analystLabel), stats: stats,
            timeline: SVGChart.timeline(d.timeline, markers: markers, title: "\(c.campaignID): exchanges over time"),
            timelineAt: d.timelineAt.map { "Summed from the stored history at \(ConsoleFormat.time($0)); refreshed in the background." },
            members: slice.map { memberRow($0, links: links) }, pager: pager,
            evidence: c.evidence.map { EvidenceView(kind: $0.kind, detail: $0.detail, accounts: ConsoleFormat.number($0.accounts)) },
            signals: (c.signals ?? []).map(signalView), capabilities: capabilities(c.capabilities),
            graph: d.graph.flatMap { $0.accounts.isEmpty ? nil : SVGChart.evidenceGraph($0) },
            labels: d.labels.map { labelView($0, links: links) },
            form: form.map { FormView(action: $0.action, csrf: $0.csrf) },
            memberNote: pageHref == nil && members.count > pageSize
                ? "the \(ConsoleFormat.number(pageSize)) highest-scored of \(ConsoleFormat.number(members.count)) members; the console lists all" : nil)
    }

    static func account(_ d: AccountData, links: ConsoleLinks, form: ConsoleForm?) -> AccountView {
        let a = d.account
        var stats = [
            Stat(name: "Exchanges", value: ConsoleFormat.number(a.exchanges)),
            Stat(name: "Output tokens", value: ConsoleFormat.number(a.outputTokens)),
            Stat(name: "First flagged", value: ConsoleFormat.time(a.firstFlaggedAt)),
            Stat(name: "Exchanges before the flag", value: a.exchangesBeforeFlag.map(ConsoleFormat.number) ?? "–"),
        ]
        var parameters: [Stat] = []
        var hourOfDay: String?
        var lastDay: String?
        if let p = d.profile {
            stats.insert(contentsOf: [
                Stat(name: "First seen", value: ConsoleFormat.time(p.firstSeen)),
                Stat(name: "Last seen", value: ConsoleFormat.time(p.lastSeen)),
                Stat(name: "Input tokens", value: ConsoleFormat.number(p.inputTokens)),
                Stat(name: "Reasoning tokens", value: ConsoleFormat.number(p.reasoningTokens)),
                Stat(name: "Spend", value: ConsoleFormat.dollars(p.costUSD)),
                Stat(name: "Rate-limited responses (429)", value: ConsoleFormat.number(p.rateLimited)),
            ], at: 1)
            func share(_ x: Double?) -> String { x.map { ConsoleFormat.percent($0) } ?? "not stated" }
            parameters = [
                Stat(name: "Last model", value: p.lastModel ?? "–"),
                Stat(name: "Last max_tokens", value: p.lastMaxTokens.map(ConsoleFormat.number) ?? "not stated"),
                Stat(name: "max_tokens changes", value: ConsoleFormat.number(p.maxTokensChanges)),
                Stat(name: "Last temperature", value: p.lastTemperature.map { ConsoleFormat.decimal($0) } ?? "not stated"),
                Stat(name: "temperature changes", value: ConsoleFormat.number(p.temperatureChanges)),
                Stat(name: "Thinking on", value: share(p.thinkingShare)),
                Stat(name: "Streaming", value: share(p.streamShare)),
                Stat(name: "With tools", value: share(p.toolUseShare)),
                Stat(name: "Single-turn", value: share(p.singleTurnShare)),
            ]
            hourOfDay = SVGChart.bars(p.hourOfDay, labels: (0..<24).map { String(format2($0)) + ":00" },
                                      title: "Exchanges by hour of day (UTC), all traffic seen", unit: "exchanges")
            lastDay = SVGChart.bars(p.lastDay, labels: (0..<24).map { ConsoleFormat.hour(p.windowEndHour - 23 + Int64($0)).dropFirst(11).prefix(5).description },
                                    title: "The last 24 hours of the account's traffic, to \(ConsoleFormat.hour(p.windowEndHour))", unit: "exchanges", labelEvery: 4)
        }
        var record: [Stat] = []
        if let r = d.profile?.record {
            record = [
                Stat(name: "Created", value: ConsoleFormat.time(r.created)),
                Stat(name: "Tier", value: r.tier ?? "–"),
                Stat(name: "Plan", value: r.plan ?? "–"),
                Stat(name: "Declared country", value: r.declaredCountry ?? "–"),
                Stat(name: "Payment country", value: r.paymentCountry ?? "–"),
                Stat(name: "Verified", value: r.verified.map { $0 ? "yes" : "no" } ?? "–"),
                Stat(name: "Allowlisted", value: r.allowlisted.map { $0 ? "yes" : "no" } ?? "–"),
                Stat(name: "Sign-up e-mail domain", value: r.emailDomain ?? "–"),
            ]
        }
        // Daily volume from the stored history.
        var byDay: [Int64: Int] = [:]
        for h in d.history { byDay[floorDivide(h.hour, 24) * 24, default: 0] += h.exchanges }
        let daily = byDay.sorted { $0.key < $1.key }.map { HourlyTotals(hour: $0.key, exchanges: $0.value) }
        let keys = (a.keys ?? []).map { Stat(name: $0.apiKeyID, value: "\($0.verdict.rawValue), score \(ConsoleFormat.decimal($0.score)), \(ConsoleFormat.number($0.exchanges)) exchanges") }
        return AccountView(
            id: a.accountID, anchor: ConsoleLinks.anchor(account: a.accountID), badge: Badge(a.verdict),
            score: ConsoleFormat.decimal(a.score), label: ConsoleFormat.label(a.analystLabel), stats: stats,
            signals: a.signals.map(signalView), keys: keys, directives: (a.directives ?? []).map(Self.directiveStat),
            signupScore: a.signup.map { ConsoleFormat.decimal($0.score) },
            signup: (a.signup?.factors ?? []).map { Stat(name: $0.name, value: "\(ConsoleFormat.decimal($0.value)): \($0.detail)") },
            hourOfDay: hourOfDay, lastDay: lastDay,
            daily: SVGChart.timeline(daily, title: "Daily volume (stored history)", unit: "exchanges", daily: true),
            parameters: parameters, record: record,
            campaign: d.membership?.campaignID ?? a.campaignID,
            campaignHref: (d.membership?.campaignID ?? a.campaignID).flatMap(links.campaign),
            campaignDetail: d.membership.map { m in m.firstLink.map { "linked: \($0.detail)" } ?? m.detail },
            linkKeys: (d.profile?.linkKeys ?? []).map(\.label),
            identifiers: d.identifiers.map { IdentifierView(kind: $0.kind.name, value: $0.value,
                                                            href: links.search?("\($0.value)"), exchanges: ConsoleFormat.number($0.exchanges), lastSeen: ConsoleFormat.time($0.lastSeen)) },
            decisions: d.decisions.map { DecisionView(at: ConsoleFormat.time($0.at), badge: Badge($0.verdict), score: ConsoleFormat.decimal($0.score), source: $0.source, key: $0.apiKeyID ?? "",
                                                   directives: $0.directives.joined(separator: ", ")) },
            labels: d.labels.map { labelView($0, links: links) },
            form: form.map { FormView(action: $0.action, csrf: $0.csrf) },
            capabilities: capabilities(a.capabilities ?? [:]))
    }

    static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
