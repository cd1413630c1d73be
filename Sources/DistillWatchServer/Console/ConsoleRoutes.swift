import DistillWatchClickHouse
import DistillWatchConsole
import DistillWatchCore
import DistillWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The analyst console under `/console` (Documentation/Console.md): server-rendered pages
/// over the live engine and the stored history, and forms that go through the same label
/// path as `POST /v1/accounts/{id}/label`.
///
/// Access: `GET /console/login` shows a form; posting a token with the `analyst` role opens
/// a session (cookie `dw_session`: HttpOnly, SameSite=Strict, Path=/console, Secure when the
/// request came over HTTPS per `X-Forwarded-Proto`). Every POST carries the session's CSRF
/// token (the login form a double-submit cookie, `dw_login`). Pages are sent with a
/// Content-Security-Policy that allows no script and only this server's stylesheet.
struct ConsoleRoutes {
    let state: ServerState
    static let sessionCookie = "dw_session"
    static let loginCookie = "dw_login"
    static let pageSize = 100

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.get("assets/console.css") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "public, max-age=3600"
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: ConsoleRenderer.stylesheet)))
        }
        routes.get("login") { request, _ in loginPage(request, error: nil, status: .ok) }
        routes.post("login") { request, _ in try await signIn(request) }
        routes.post("logout") { request, _ in
            try await withSession(request) { session, id in
                let form = try await formFields(request)
                try checkCSRF(form, session)
                state.console.signOut(id)
                return redirect("/console/login", cookies: [cookie(Self.sessionCookie, "", request, maxAge: 0)])
            }
        }
        routes.get("") { request, _ in try await withSession(request) { s, _ in try await overview(request, s) } }
        routes.get("campaigns") { request, _ in try await withSession(request) { s, _ in campaigns(request, s) } }
        routes.get("campaigns/:id") { request, context in
            try await withSession(request) { s, _ in try await campaign(try context.identifier("id"), request, s) }
        }
        routes.post("campaigns/:id/label") { request, context in
            try await withSession(request) { s, _ in try await label(.campaign, try context.identifier("id"), request, s) }
        }
        routes.get("accounts/:id") { request, context in
            try await withSession(request) { s, _ in try await account(try context.identifier("id"), request, s) }
        }
        routes.post("accounts/:id/label") { request, context in
            try await withSession(request) { s, _ in try await label(.account, try context.identifier("id"), request, s) }
        }
        routes.get("search") { request, _ in try await withSession(request) { s, _ in try await search(request, s) } }
        routes.get("screening") { request, _ in try await withSession(request) { s, _ in try await screening(request, s) } }
        routes.post("screening/signoff") { request, _ in try await withSession(request) { s, _ in try await signOff(request, s) } }
        routes.get("runs") { request, _ in try await withSession(request) { s, _ in try await runs(s) } }
        routes.get("runs/:id") { request, context in
            try await withSession(request) { s, _ in try await run(try context.identifier("id"), s) }
        }
        return routes
    }

    // MARK: Runs stored in ClickHouse

    /// The reader of `console_clickhouse`. - Throws: 404 when none is configured.
    func storedRuns() throws -> StoredRunReader {
        guard let url = state.configuration.consoleClickHouse,
              let endpoint = try? ClickHouseEndpoint(parsing: url, environment: ProcessInfo.processInfo.environment, forbidTable: true) else {
            throw HTTPError(.notFound, message: "The console reads stored runs from ClickHouse when console_clickhouse names a database "
                            + "(clickhouse://HOST:PORT/DB, where scan --store writes).")
        }
        return StoredRunReader(endpoint: endpoint)
    }

    func runs(_ s: ConsoleService.Session) async throws -> Response {
        let reader = try storedRuns()
        let list: [StoredRun]
        do { list = try await reader.runs() } catch {
            throw HTTPError(.badGateway, message: "cannot read the runs: \(error)")
        }
        return html(state.console.renderer.runs(list, database: reader.endpoint.description, chrome: chrome(s, "/console/runs")))
    }

    func run(_ id: String, _ s: ConsoleService.Session) async throws -> Response {
        let reader = try storedRuns()
        let report: StoredRunReport?
        do { report = try await reader.report(run: id) } catch {
            throw HTTPError(.badGateway, message: "cannot read run \(id): \(error)")
        }
        guard let report else { throw HTTPError(.notFound, message: "no run \"\(id)\" has a finished shard in \(reader.endpoint)") }
        return html(state.console.renderer.run(report, chrome: chrome(s, "/console/runs")))
    }

    // MARK: Responses

    static let securityHeaders: [(HTTPField.Name, String)] = [
        (HTTPField.Name("Content-Security-Policy")!,
         "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "same-origin"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (.cacheControl, "no-store"),
    ]

    func html(_ body: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        for (name, value) in Self.securityHeaders { headers[name] = value }
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        for (name, value) in Self.securityHeaders { headers[name] = value }
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: .seeOther, headers: headers)
    }

    func cookie(_ name: String, _ value: String, _ request: Request, maxAge: Int, path: String = "/console") -> String {
        let secure = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func cookies(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                out[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return out
    }

    /// Runs `body` for a signed-in analyst; without a live session, sends the browser to
    /// the sign-in page. HTTP errors become HTML pages with their status.
    func withSession(_ request: Request, _ body: (ConsoleService.Session, String) async throws -> Response) async throws -> Response {
        let id = Self.cookies(request)[Self.sessionCookie]
        guard let id, let session = state.console.session(id, at: state.clock.now()) else {
            return redirect("/console/login")
        }
        do {
            return try await body(session, id)
        } catch let error as HTTPError {
            let chrome = self.chrome(session, "")
            return html(state.console.renderer.message(title: error.status.reasonPhrase, text: error.body ?? "\(error.status)",
                                                       link: "/console", linkText: "Back to the overview", chrome: chrome),
                        status: error.status)
        } catch let error as ConsoleInputError {
            let chrome = self.chrome(session, "")
            return html(state.console.renderer.message(title: "Bad request", text: error.description, chrome: chrome), status: .badRequest)
        }
    }

    func chrome(_ s: ConsoleService.Session, _ current: String, query: String = "", flash: String? = nil) -> ConsoleRenderer.Chrome {
        ConsoleRenderer.Chrome(analyst: s.analyst, csrf: s.csrf, current: current, query: query, flash: flash,
                               runs: state.configuration.consoleClickHouse != nil)
    }

    /// A form body (`application/x-www-form-urlencoded`), at most `max_request_body_bytes`.
    func formFields(_ request: Request) async throws -> [String: String] {
        let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
        do { return try Self.parseForm(String(buffer: body)) } catch { throw HTTPError(.badRequest, message: error.description) }
    }

    /// An `application/x-www-form-urlencoded` body. A field given twice, or an escape
    /// that is not UTF-8, is refused: a form that says two things is not guessed at.
    static func parseForm(_ text: String) throws(ConsoleInputError) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let key = decode(kv[0]), let value = kv.count == 2 ? decode(kv[1]) : "" else {
                throw ConsoleInputError("the form holds an invalid percent-encoding")
            }
            guard out.updateValue(value, forKey: key) == nil else { throw ConsoleInputError("the form gives \(String(reflecting: key)) twice") }
        }
        return out
    }

    /// A query's parameters; one given twice is refused, and with `known`, one not in it (a
    /// misspelt `min_exchange` or `account` was ignored, and the defaults answered).
    static func query(_ request: Request, known: [String]? = nil) throws -> [String: String] {
        var q: [String: String] = [:]
        for (k, v) in request.uri.queryParameters {
            if let known, !known.contains(String(k)) {
                throw HTTPError(.badRequest, message: "the query parameter \(String(reflecting: String(k))) is unknown here (known: \(known.joined(separator: ", ")))")
            }
            guard q.updateValue(String(v), forKey: String(k)) == nil else {
                throw HTTPError(.badRequest, message: "the query gives \(String(reflecting: String(k))) twice")
            }
        }
        return q
    }

    /// A value as a log line may hold it: quoted, with control and bidirectional characters
    /// escaped, so an attacker-chosen id cannot forge or reorder a line.
    static func logSafe(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            if c.value < 0x20 || c.value == 0x7F || c == "\"" || c == "\\" || (0x202A...0x202E).contains(c.value)
                || (0x2066...0x2069).contains(c.value) || c.value == 0x200E || c.value == 0x200F || c.value == 0x061C {
                out += c == "\"" ? "\\\"" : c == "\\" ? "\\\\" : "\\u{" + String(c.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    func checkCSRF(_ form: [String: String], _ session: ConsoleService.Session) throws {
        guard let token = form["csrf"], ConsoleService.constantTimeEqual(token, session.csrf) else {
            throw HTTPError(.forbidden, message: "the form's CSRF token is missing or wrong: reload the page and submit again")
        }
    }

    // MARK: Sign-in

    /// The sign-in form: a random nonce in the `dw_login` cookie and, in the form, its
    /// HMAC-SHA-256 under a key this server drew at start (OWASP's signed double-submit
    /// cookie): a cookie planted by another site cannot be matched without the key.
    func loginPage(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let nonce = ConsoleService.randomToken()
        return html(state.console.renderer.login(csrf: state.console.loginToken(for: nonce), error: error), status: status,
                    cookies: [cookie(Self.loginCookie, nonce, request, maxAge: 3_600, path: "/console/login")])
    }

    func signIn(_ request: Request) async throws -> Response {
        let form = try await formFields(request)
        guard let sent = form["csrf"], let nonce = Self.cookies(request)[Self.loginCookie], nonce.utf8.count == 64,
              ConsoleService.constantTimeEqual(sent, state.console.loginToken(for: nonce)) else {
            return loginPage(request, error: "The sign-in form expired or came from elsewhere: sign in again.", status: .forbidden)
        }
        guard let secret = form["token"], !secret.isEmpty, let token = TokenTable(state.configuration.tokens).token(for: Substring(secret)) else {
            return loginPage(request, error: "Unknown token.", status: .unauthorized)
        }
        guard token.roles.contains(.analyst) else {
            state.logger.notice("console: sign-in refused for token \(token.name) (no analyst role)")
            return html(state.console.renderer.message(
                title: "Forbidden", text: "The token \"\(token.name)\" lacks the analyst role: only analysts can open the console.",
                link: "/console/login", linkText: "Sign in with another token"), status: .forbidden)
        }
        let (id, _) = state.console.signIn(analyst: token.name, at: state.clock.now())
        state.logger.info("console: \(token.name) signed in")
        return redirect("/console", cookies: [
            cookie(Self.sessionCookie, id, request, maxAge: Int(state.console.sessionMilliseconds / 1000)),
            cookie(Self.loginCookie, "", request, maxAge: 0, path: "/console/login"),
        ])
    }

    // MARK: Pages

    func overview(_ request: Request, _ s: ConsoleService.Session) async throws -> Response {
        let status = state.engine.status()
        let (flagged, campaigns) = state.engine.read { scanner in
            (scanner.engine.flaggedOverview(top: 25), scanner.engine.campaignListings)
        }
        let traffic = try await state.history.trafficHours(in: Int64.min..<Int64.max)
        let counts = try? await state.store.eventCounts()
        var health: [(String, String)] = [
            ("Exchanges accepted", ConsoleFormat.number(status.acceptedExchanges)),
            ("Exchanges rejected since start", ConsoleFormat.number(state.metrics.exchangesRejectedSinceStart.load(ordering: .relaxed))),
            ("Late exchanges (after the reorder window)", ConsoleFormat.number(state.engine.lateExchanges())),
            ("Buffered (awaiting the reorder window)", ConsoleFormat.number(status.buffered)),
            ("Ingest batches waiting", ConsoleFormat.number(state.ingestor.pendingBatches)),
            ("Storage", state.health.fault.map { "not writable: \($0.reason)" } ?? "writable"),
        ]
        if let counts { health.append(("Quarantined events", ConsoleFormat.number(counts.quarantined))) }
        let data = OverviewData(
            asOf: state.clock.now(), exchanges: status.acceptedExchanges, accounts: status.accounts,
            verdictCounts: state.engine.verdictCounts(), traffic: traffic, flagged: flagged, campaigns: campaigns,
            recentLabels: try await recentLabels(limit: 20), health: health,
            source: "Live engine; history kept \(state.configuration.historyRetentionDays == 0 ? "without limit" : "\(state.configuration.historyRetentionDays) days").")
        return html(state.console.renderer.overview(data, chrome: chrome(s, "/console")))
    }

    func campaigns(_ request: Request, _ s: ConsoleService.Session) -> Response {
        let q = request.uri.queryParameters
        let list = state.engine.read { $0.engine.campaignListings }
        return html(state.console.renderer.campaigns(list, sort: q["sort"].map(String.init), verdict: q["verdict"].map(String.init),
                                                     label: q["label"].map(String.init), chrome: chrome(s, "/console/campaigns")))
    }

    func campaign(_ id: String, _ request: Request, _ s: ConsoleService.Session, flash: String? = nil) async throws -> Response {
        guard let number = CampaignID.number(of: id) else {
            throw HTTPError(.notFound, message: "no campaign \"\(id)\"")
        }
        let found = state.engine.read { scanner -> (ScanReport.Campaign, [CampaignMemberRow], CampaignEvidenceGraph?, [(model: String, firstSeen: Timestamp)])? in
            guard let summary = scanner.engine.campaignSummary(number: number),
                  let members = scanner.engine.campaignMemberRows(number: number) else { return nil }
            return (ScanReport.Campaign(summary), members, scanner.engine.campaignEvidenceGraph(number: number), scanner.engine.modelReleases)
        }
        guard let (campaign, members, graph, releases) = found else { throw HTTPError(.notFound, message: "no campaign \"\(id)\"") }
        let ids = members.map(\.accountID)
        let history = state.history
        let (timeline, timelineAt) = try await state.console.timeline(id, members: members.count, now: state.clock.now()) {
            try await history.summedHours(of: ids, in: Int64.min..<Int64.max)
        }
        let page = request.uri.queryParameters["page"].flatMap { Int($0) } ?? 1
        let data = CampaignData(campaign: campaign, timeline: timeline, timelineAt: timelineAt, releases: releases, members: members,
                                graph: graph, labels: try await labels(.campaign, id))
        let form = ConsoleForm(action: "/console/campaigns/\(ConsoleFormat.pathSegment(id))/label", csrf: s.csrf)
        return html(state.console.renderer.campaign(data, page: page, pageSize: Self.pageSize, form: form,
                                                    chrome: chrome(s, "/console/campaigns", flash: flash)))
    }

    func account(_ id: String, _ request: Request, _ s: ConsoleService.Session) async throws -> Response {
        guard let summary = state.engine.summary(for: id) else {
            throw HTTPError(.notFound, message: "no account \"\(id)\": no exchange or account record seen for it")
        }
        let (entry, profile, membership) = state.engine.read { scanner in
            (ScanReport.Account(engine: scanner.engine, summary: summary), scanner.engine.activityProfile(for: id),
             scanner.engine.campaignMembership(of: id))
        }
        await state.audit.drain()
        let decisions = try await state.store.decisions(accountID: id, limit: 50).map {
            DecisionRecordView(at: $0.at, verdict: $0.verdict, score: $0.score, source: $0.endpoint, apiKeyID: $0.caller,
                               directives: $0.directives)
        }
        let data = AccountData(
            account: entry, profile: profile, history: try await state.history.accountHours(id, in: Int64.min..<Int64.max),
            membership: membership, decisions: decisions, labels: try await labels(.account, id),
            identifiers: try await state.history.sightings(ofAccount: id, limit: 50))
        let form = ConsoleForm(action: "/console/accounts/\(ConsoleFormat.pathSegment(id))/label", csrf: s.csrf)
        return html(state.console.renderer.account(data, form: form, chrome: chrome(s, "")))
    }

    /// Confirm, dismiss (legitimate) or note: through ``AnalystRoutes``' label path, then
    /// back to the page (303, so a reload does not post again).
    func label(_ subject: LabelRecordView.Subject, _ id: String, _ request: Request, _ s: ConsoleService.Session) async throws -> Response {
        let form = try await formFields(request)
        try checkCSRF(form, s)
        let note = form["note"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : String($0.prefix(2_000)) }
        let analyst = AnalystRoutes(state: state)
        let page = subject == .campaign ? "/console/campaigns/" : "/console/accounts/"
        switch form["label"] {
        case "note":
            guard let note else { throw HTTPError(.badRequest, message: "write a note first") }
            _ = try await analyst.storeNote(subject.rawValue, id, note, analyst: s.analyst)
        case let value:
            guard let value, let label = AnalystLabel(rawValue: value) else {
                throw HTTPError(.badRequest, message: "label should be confirmed_attack, legitimate or note")
            }
            if subject == .campaign {
                _ = try await analyst.applyCampaignLabel(id, label: label, note: note, analyst: s.analyst)
            } else {
                guard state.engine.summary(for: id) != nil else { throw HTTPError(.notFound, message: "no account \"\(id)\"") }
                _ = try await analyst.applyAccountLabel(id, label: label, note: note, analyst: s.analyst)
            }
            state.logger.notice("console: \(s.analyst) labelled \(subject.rawValue) \(Self.logSafe(id)) \(label.rawValue)")
        }
        return redirect(page + ConsoleFormat.pathSegment(id))
    }

    func search(_ request: Request, _ s: ConsoleService.Session) async throws -> Response {
        let query = String((request.uri.queryParameters["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces).prefix(256))
        var results: [ConsoleRenderer.SearchResult] = []
        if !query.isEmpty {
            let links = ConsoleLinks.console
            if let summary = state.engine.summary(for: query) {
                results.append(.init(kind: "account", text: query, href: links.account(query),
                                     detail: "\(summary.verdict.rawValue), score \(ConsoleFormat.decimal(summary.score)), \(ConsoleFormat.number(summary.exchanges)) exchanges"))
            }
            if let n = CampaignID.number(of: query),
               let c = state.engine.read({ $0.engine.campaignSummary(number: n) }) {
                results.append(.init(kind: "campaign", text: c.campaignID, href: links.campaign(c.campaignID),
                                     detail: "\(c.verdict.rawValue), \(ConsoleFormat.number(c.accountIDs.count)) members"))
            }
            var sightings = try await state.history.sightings(matching: query, prefix: false, limit: 50)
            if sightings.isEmpty, query.utf8.count >= 3 {
                sightings = try await state.history.sightings(matching: query, prefix: true, limit: 50)
            }
            for x in sightings {
                results.append(.init(kind: "\(x.kind.name) \(x.value)", text: x.accountID, href: links.account(x.accountID),
                                     detail: "\(ConsoleFormat.number(x.exchanges)) exchanges, \(ConsoleFormat.time(x.firstSeen)) to \(ConsoleFormat.time(x.lastSeen))"))
            }
            for id in state.engine.read({ $0.engine.accountIDs(withPrefix: query, limit: 50) }) where id != query {
                results.append(.init(kind: "account (prefix)", text: id, href: links.account(id), detail: ""))
            }
        }
        return html(state.console.renderer.search(query: query, results: results, chrome: chrome(s, "/console/search", query: query)))
    }

    func screening(_ request: Request, _ s: ConsoleService.Session, flash: String? = nil) async throws -> Response {
        let q = try Self.query(request)
        let (period, thresholds) = try ScreeningAssembly.parse(q, now: state.clock.now())
        let page = max(1, min(1_000_000, Int(q["page"] ?? "") ?? 1))
        let rows = ((page - 1) * Self.pageSize)..<(page * Self.pageSize)
        let report = try await ScreeningAssembly.report(state: state, period: period, thresholds: thresholds, detailed: rows)
        let form = ConsoleForm(action: "/console/screening/signoff", csrf: s.csrf)
        // Only the report's own parameters go into the page links.
        let base = q.filter { ["from", "to", "min_exchanges", "min_output_tokens", "min_spend_usd"].contains($0.key) }
        let query = base.sorted { $0.key < $1.key }.map { "\($0.key)=\(ConsoleFormat.pathSegment($0.value))" }.joined(separator: "&")
        return html(state.console.renderer.screening(
            report, page: page, pageSize: Self.pageSize, pageHref: { "/console/screening?\(query)&page=\($0)" },
            form: form, chrome: chrome(s, "/console/screening", flash: flash)))
    }

    func signOff(_ request: Request, _ s: ConsoleService.Session) async throws -> Response {
        let form = try await formFields(request)
        try checkCSRF(form, s)
        guard let account = form["account_id"], !account.isEmpty else { throw HTTPError(.badRequest, message: "account_id is missing") }
        guard account.utf8.count <= 1_024 else { throw HTTPError(.badRequest, message: "account_id is longer than 1,024 bytes") }
        guard state.engine.summary(for: account) != nil else {
            throw HTTPError(.notFound, message: "no account \"\(account)\": no exchange or account record seen for it")
        }
        guard let d = form["disposition"].flatMap(ScreeningReport.Disposition.init(rawValue:)) else {
            throw HTTPError(.badRequest, message: "disposition should be one of " + ScreeningReport.Disposition.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let from = form["from"].flatMap({ ScreeningPeriodParsing.parse($0, endOfDay: false) }),
              let to = form["to"].flatMap({ ScreeningPeriodParsing.parse($0, endOfDay: false) }), from < to,
              ScreeningPeriodParsing.problem(from: from, to: to) == nil else {
            throw HTTPError(.badRequest, message: "the form's period (from, to) is missing or invalid")
        }
        let period = ScreeningReport.Period(from: from, to: to)
        let note = form["note"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : String($0.prefix(2_000)) }
        try await state.history.recordSignOff(StoredSignOff(period: period.key, accountID: account, disposition: d.rawValue,
                                                            note: note, analyst: s.analyst, at: state.clock.now()))
        state.logger.notice("console: \(s.analyst) signed off \(Self.logSafe(account)) as \(d.rawValue) for \(period.key)")
        let back = "/console/screening?from=\(ConsoleFormat.pathSegment(from.rfc3339))&to=\(ConsoleFormat.pathSegment(to.rfc3339))"
        return redirect(back)
    }

    // MARK: Labels and notes

    func labels(_ subject: LabelRecordView.Subject, _ id: String) async throws -> [LabelRecordView] {
        let kind: EventKind = subject == .account ? .accountLabel : .campaignLabel
        var out = try await state.store.labels(subject: id, kind: kind).compactMap { e -> LabelRecordView? in
            guard let l = try? JSONDecoder().decode(LabelEvent.self, from: Data(e.payload)) else { return nil }
            return LabelRecordView(subject: subject, id: id, label: l.label, note: l.note, analyst: l.analyst, at: l.at)
        }
        out += try await state.history.notes(subjectKind: subject.rawValue, subject: id, limit: 200).map {
            LabelRecordView(subject: subject, id: id, label: nil, note: $0.note, analyst: $0.analyst, at: $0.at)
        }
        return out.sorted { $0.at > $1.at }
    }

    func recentLabels(limit: Int) async throws -> [LabelRecordView] {
        var out = try await state.history.recentLabels(limit: limit).compactMap { e -> LabelRecordView? in
            guard let l = try? JSONDecoder().decode(LabelEvent.self, from: Data(e.payload)), let subject = e.subject else { return nil }
            return LabelRecordView(subject: e.kind == .accountLabel ? .account : .campaign, id: subject, label: l.label, note: l.note,
                                   analyst: l.analyst, at: l.at)
        }
        out += try await state.history.recentNotes(limit: limit).map {
            LabelRecordView(subject: $0.subjectKind == "campaign" ? .campaign : .account, id: $0.subject, label: nil, note: $0.note,
                            analyst: $0.analyst, at: $0.at)
        }
        return Array(out.sorted { $0.at > $1.at }.prefix(limit))
    }
}
