import DistillWatchCore
import DistillWatchStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import DistillWatchServer

/// The console's access rules and actions, through the router: sign-in by role, the
/// session cookie, CSRF on every POST, labels stored through the label path, hostile
/// strings shown as text, history and screening sign-off.
@Suite struct ConsoleServerTests {
    struct Session {
        var cookie: String
        var csrf: String
    }

    static func setCookies(_ r: TestResponse) -> [String: String] {
        var out: [String: String] = [:]
        for field in r.headers[values: .setCookie] {
            let kv = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            out[String(kv[0])] = kv.count == 2 ? String(kv[1]) : ""
        }
        return out
    }

    static func csrf(in html: String) -> String? {
        guard let r = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    static func form(_ fields: [String: String]) -> String {
        fields.sorted { $0.key < $1.key }.map { k, v in
            "\(k)=" + (v.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }.joined(separator: "&")
    }

    /// Signs in with `secret` through the form; answers the POST's response.
    static func signIn(_ client: some TestClientProtocol, _ secret: String) async throws -> TestResponse {
        let page = try await client.execute(uri: "/console/login", method: .get)
        #expect(page.status == .ok)
        let login = try #require(setCookies(page)["dw_login"])
        let csrf = try #require(Self.csrf(in: page.text))
        return try await client.execute(uri: "/console/login", method: .post,
                                        headers: [.cookie: "dw_login=\(login)", .contentType: "application/x-www-form-urlencoded"],
                                        body: ByteBuffer(string: form(["csrf": csrf, "token": secret])))
    }

    static func session(_ client: some TestClientProtocol) async throws -> Session {
        let r = try await signIn(client, Secret.analyst)
        #expect(r.status == .seeOther && r.headers[.location] == "/console")
        let cookie = try #require(setCookies(r)["dw_session"])
        let overview = try await client.execute(uri: "/console", method: .get, headers: [.cookie: "dw_session=\(cookie)"])
        #expect(overview.status == .ok, "\(overview.text)")
        return Session(cookie: cookie, csrf: try #require(Self.csrf(in: overview.text)))
    }

    static func get(_ client: some TestClientProtocol, _ uri: String, _ s: Session) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: [.cookie: "dw_session=\(s.cookie)"])
    }

    static func post(_ client: some TestClientProtocol, _ uri: String, _ s: Session, _ fields: [String: String]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post,
                                 headers: [.cookie: "dw_session=\(s.cookie)", .contentType: "application/x-www-form-urlencoded"],
                                 body: ByteBuffer(string: form(fields)))
    }

    /// The Runs pages read ClickHouse (`console_clickhouse`); scripts/live_shards_checks.py
    /// reads a real run through them. Here: without the setting, and with ClickHouse down.
    @Test func theRunsPagesNeedClickHouseAndSayWhenItIsMissing() async throws {
        try await withServer(.router) { client in
            let s = try await Self.session(client)
            let page = try await Self.get(client, "/console/runs", s)
            #expect(page.status == .notFound && page.text.contains("console_clickhouse"), "\(page.text)")
            let overview = try await Self.get(client, "/console", s)
            #expect(!overview.text.contains("/console/runs"), "no Runs menu without the setting")
        }
        var c = testConfiguration()
        c.consoleClickHouse = "clickhouse://127.0.0.1:1/dw"
        try await withServer(.router, c) { client in
            let s = try await Self.session(client)
            let overview = try await Self.get(client, "/console", s)
            #expect(overview.text.contains(#"href="/console/runs""#))
            let page = try await Self.get(client, "/console/runs", s)
            #expect(page.status == .badGateway && page.text.contains("cannot reach ClickHouse"), "\(page.text)")
            #expect(page.text.contains(#"href="/console/runs""#), "an error page keeps the menu")
        }
    }

    @Test func onlyAnalystsCanSignIn() async throws {
        try await withServer(.router) { client in
            // A decide (or ingest) token is refused, and no session cookie is set.
            for secret in [Secret.decide, Secret.ingest, Secret.shareRead] {
                let r = try await Self.signIn(client, secret)
                #expect(r.status == .forbidden, "\(r.text)")
                #expect(r.text.contains("lacks the analyst role"))
                #expect(Self.setCookies(r)["dw_session"] == nil)
            }
            let wrong = try await Self.signIn(client, "not-a-token-of-this-server-at-all")
            #expect(wrong.status == .unauthorized && Self.setCookies(wrong)["dw_session"] == nil)
            // A bearer token is not a session: the console sends the browser to sign in.
            for uri in ["/console", "/console/campaigns", "/console/accounts/a", "/console/search?q=a", "/console/screening"] {
                let r = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(Secret.analyst)"])
                #expect(r.status == .seeOther && r.headers[.location] == "/console/login", "\(uri)")
            }
            // The analyst gets a strict, HttpOnly session cookie scoped to the console.
            let ok = try await Self.signIn(client, Secret.analyst)
            #expect(ok.status == .seeOther)
            let cookie = try #require(ok.headers[values: .setCookie].first { $0.hasPrefix("dw_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"))
            #expect(!cookie.contains("Secure"))
            // The login form's double-submit cookie must match its field.
            let forged = try await client.execute(uri: "/console/login", method: .post,
                                                  headers: [.cookie: "dw_login=aaaa", .contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: Self.form(["csrf": "bbbb", "token": Secret.analyst])))
            #expect(forged.status == .forbidden && Self.setCookies(forged)["dw_session"] == nil)
            // A planted cookie and a field that merely repeat each other are not enough: the
            // field must be the server's HMAC of the cookie (signed double-submit).
            let planted = String(repeating: "a", count: 64)
            let naive = try await client.execute(uri: "/console/login", method: .post,
                                                 headers: [.cookie: "dw_login=\(planted)", .contentType: "application/x-www-form-urlencoded"],
                                                 body: ByteBuffer(string: Self.form(["csrf": planted, "token": Secret.analyst])))
            #expect(naive.status == .forbidden && Self.setCookies(naive)["dw_session"] == nil)
        }
    }

    @Test func behindATLSProxyTheCookieIsSecure() async throws {
        try await withServer(.router) { client in
            let page = try await client.execute(uri: "/console/login", method: .get)
            let login = try #require(Self.setCookies(page)["dw_login"])
            let r = try await client.execute(uri: "/console/login", method: .post,
                                             headers: [.cookie: "dw_login=\(login)", .contentType: "application/x-www-form-urlencoded",
                                                       HTTPField.Name("X-Forwarded-Proto")!: "https"],
                                             body: ByteBuffer(string: Self.form(["csrf": try #require(Self.csrf(in: page.text)), "token": Secret.analyst])))
            #expect(r.headers[values: .setCookie].first { $0.hasPrefix("dw_session=") }?.contains("; Secure") == true)
        }
    }

    @Test func aPostWithoutTheCSRFTokenChangesNothing() async throws {
        let (accountLines, lines) = hydraLines()
        try await withServer(.router) { client in
            #expect(try await client.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n").status == .ok)
            try await ingest(client, lines, batchSize: 500)
            let id = try #require((try await client.get("/v1/campaigns", Secret.analyst).json["campaigns"] as? [[String: Any]])?.first?["campaign_id"] as? String)
            let s = try await Self.session(client)
            let page = try await Self.get(client, "/console/campaigns/\(id)", s)
            #expect(page.status == .ok && page.text.contains("id=\"label-campaign\""))
            let action = "/console/campaigns/\(id)/label"
            for fields in [["label": "confirmed_attack"], ["label": "confirmed_attack", "csrf": (s.csrf.first == "0" ? "1" : "0") + s.csrf.dropFirst()]] {
                let r = try await Self.post(client, action, s, fields)
                #expect(r.status == .forbidden, "\(fields)")
            }
            #expect(try await client.get("/v1/campaigns/\(id)", Secret.analyst).json["analyst_label"] == nil)
            // Another session's token is not this session's.
            let other = try await Self.session(client)
            #expect(try await Self.post(client, action, s, ["label": "confirmed_attack", "csrf": other.csrf]).status == .forbidden)
            // A form that says two things is refused, whatever it says last.
            let twice = try await client.execute(uri: action, method: .post,
                                                 headers: [.cookie: "dw_session=\(s.cookie)", .contentType: "application/x-www-form-urlencoded"],
                                                 body: ByteBuffer(string: "csrf=\(s.csrf)&label=note&label=confirmed_attack&note=x"))
            #expect(twice.status == .badRequest && twice.text.contains("twice"))
            #expect(try await client.get("/v1/campaigns/\(id)", Secret.analyst).json["analyst_label"] == nil)
            // With the token: stored through the label path, and in the audit trail.
            let ok = try await Self.post(client, action, s, ["label": "confirmed_attack", "csrf": s.csrf, "note": "harvesting agentic traces"])
            #expect(ok.status == .seeOther && ok.headers[.location] == "/console/campaigns/\(id)")
            let stored = try await client.get("/v1/campaigns/\(id)", Secret.analyst).json
            #expect(stored["analyst_label"] as? String == "confirmed_attack")
            let after = try await Self.get(client, "/console/campaigns/\(id)", s)
            #expect(after.text.contains("harvesting agentic traces") && after.text.contains("confirmed attack"))
            // A note only: no label change, shown on the page and the overview.
            #expect(try await Self.post(client, action, s, ["label": "note", "csrf": s.csrf, "note": "sent to legal"]).status == .seeOther)
            #expect(try await Self.get(client, "/console", s).text.contains("sent to legal"))
            // Signing out needs the token too, and ends the session.
            #expect(try await Self.post(client, "/console/logout", s, [:]).status == .forbidden)
            #expect(try await Self.post(client, "/console/logout", s, ["csrf": s.csrf]).status == .seeOther)
            #expect(try await Self.get(client, "/console", s).status == .seeOther)
        }
    }

    @Test func hostileIdentifiersAreShownAsText() async throws {
        let id = "<script>alert(\"dw\")</script>"
        let agent = "\"><img src=x onerror=alert(1)>"
        func jsonString(_ text: String) throws -> String {
            String(String(decoding: try JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast())
        }
        let idJSON = try jsonString(id), agentJSON = try jsonString(agent)
        let lines = (0..<5).map { k in
            #"{"time":"2026-04-01T00:0\#(k):00Z","account_id":\#(idJSON),"user_agent":\#(agentJSON),"client_ip":"198.51.100.7","api_key_id":"key-\#(k % 2)","output_tokens":100}"#
        }
        try await withServer(.router) { client in
            try await ingest(client, lines, batchSize: 5)
            let s = try await Self.session(client)
            let path = "/console/accounts/" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            let page = try await Self.get(client, path, s)
            #expect(page.status == .ok, "\(page.text)")
            #expect(!page.text.contains("<script>alert") && !page.text.contains("<img src=x"))
            #expect(page.text.contains("&lt;script&gt;alert(&quot;dw&quot;)&lt;/script&gt;"))
            #expect(page.text.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), "the user agent is listed as text")
            // The page forbids scripts whatever it holds.
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true)
            // Search by address and by API key finds the account, also as text.
            for q in ["198.51.100.7", "198.51.100.", "key-1"] {
                let r = try await Self.get(client, "/console/search?q=\(q)", s)
                #expect(r.text.contains("&lt;script&gt;") && !r.text.contains("<script>alert"), "\(q)")
            }
        }
    }

    @Test func historyFeedsTimelinesAndTheScreeningReport() async throws {
        let (accountLines, lines) = hydraLines()
        try await withServer(.router) { client in
            #expect(try await client.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n").status == .ok)
            try await ingest(client, lines, batchSize: 500)
            let s = try await Self.session(client)
            let query = "from=2026-04-01&to=2026-04-01&min_exchanges=100&min_output_tokens=&min_spend_usd="
            let json = try await client.get("/v1/screening?\(query)", Secret.analyst)
            #expect(json.status == .ok, "\(json.text)")
            let accounts = try #require(json.json["accounts"] as? [[String: Any]])
            #expect(accounts.count == 24, "each hydra account sent 120 exchanges")
            #expect(accounts.allSatisfy { ($0["exchanges"] as? Int) == 120 && $0["campaign_id"] is String })
            #expect((json.json["provenance"] as? [String: Any])?["source"] as? String == "serve")
            // Sign off one account in the console: it shows in the report from then on.
            let account = try #require(accounts.first?["account_id"] as? String)
            let r = try await Self.post(client, "/console/screening/signoff", s, [
                "csrf": s.csrf, "account_id": account, "disposition": "confirmed_attack", "note": "campaign member",
                "from": "2026-04-01T00:00:00.000Z", "to": "2026-04-02T00:00:00.000Z",
            ])
            #expect(r.status == .seeOther, "\(r.text)")
            // 0 turns a threshold off, as in `screen`: as a bound it listed every account.
            let zero = try await client.get("/v1/screening?from=2026-04-01&to=2026-04-01&min_exchanges=1000&min_output_tokens=0&min_spend_usd=0", Secret.analyst)
            #expect(zero.status == .ok && (zero.json["accounts"] as? [[String: Any]])?.count == 0, "\(zero.text.prefix(300))")
            // A misspelt parameter fell back to the defaults without a word.
            for (path, name) in [("/v1/screening?min_exchange=100", "min_exchange"), ("/v1/report?al=true", "al"),
                                 ("/v1/decisions?account=acme", "account"), ("/v1/quarantine?limits=5", "limits")] {
                let refused = try await client.get(path, Secret.analyst)
                #expect(refused.status == .badRequest && refused.errorMessage.contains("the query parameter \"\(name)\" is unknown here"), "\(path): \(refused.text)")
            }
            for value in ["yes", "TRUE", "2"] {
                let refused = try await client.get("/v1/report?all=\(value)", Secret.analyst)
                #expect(refused.status == .badRequest && refused.errorMessage.contains("expected true or false"), "\(value): \(refused.text)")
            }
            #expect(try await client.get("/v1/report?all=1", Secret.analyst).status == .ok)
            #expect(try await client.get("/v1/report?all", Secret.analyst).status == .ok, "a bare ?all is the flag set")
            let again = try await client.get("/v1/screening?\(query)", Secret.analyst).json
            let entry = try #require((again["accounts"] as? [[String: Any]])?.first { $0["account_id"] as? String == account })
            let disposition = try #require(entry["disposition"] as? [String: Any])
            #expect(disposition["disposition"] as? String == "confirmed_attack" && disposition["analyst"] as? String == "alice")
            #expect((again["summary"] as? [String: Any])?["signed_off"] as? Int == 1)
            let csv = try await client.get("/v1/screening?\(query)&format=csv", Secret.analyst)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true && csv.text.split(separator: "\r\n").count == 25)
            #expect(try await client.get("/v1/screening?from=2026-13-01", Secret.analyst).status == .badRequest)
            #expect(try await client.get("/v1/screening?format=pdf&\(query)", Secret.analyst).status == .badRequest)
            #expect(try await client.get("/v1/screening?format=json&format=csv&\(query)", Secret.analyst).status == .badRequest)
            #expect(try await client.get("/v1/screening?from=1999-01-01&to=2001-01-01", Secret.analyst).status == .badRequest)
            #expect(try await client.get("/v1/screening?\(query)&min_spend_usd=0x10", Secret.analyst).status == .badRequest)
            // A sign-off needs an account the server knows and a period it can report.
            let ghost = try await Self.post(client, "/console/screening/signoff", s, [
                "csrf": s.csrf, "account_id": "ghost", "disposition": "monitor",
                "from": "2026-04-01T00:00:00.000Z", "to": "2026-04-02T00:00:00.000Z"])
            #expect(ghost.status == .notFound)
            let forever = try await Self.post(client, "/console/screening/signoff", s, [
                "csrf": s.csrf, "account_id": account, "disposition": "monitor", "from": "0000-01-01", "to": "9999-12-31"])
            #expect(forever.status == .badRequest)
            let page = try await Self.get(client, "/console/screening?\(query)", s)
            #expect(page.text.contains("campaign member") && page.text.contains("24 accounts above a threshold"))
            // The campaign's timeline comes from the stored hours: 6 hours of traffic.
            let id = try #require((try await client.get("/v1/campaigns", Secret.analyst).json["campaigns"] as? [[String: Any]])?.first?["campaign_id"] as? String)
            let campaign = try await Self.get(client, "/console/campaigns/\(id)", s)
            #expect(campaign.text.contains("exchanges per hour (UTC)") && campaign.text.contains("2026-04-01 00:00 UTC"))
        }
    }

    /// `campaign-01` and `campaign-+1` are not campaign 1: a label through one once
    /// dismissed campaign 1 while what was shared of it stayed published.
    @Test func aCampaignHasOneIdEverywhere() async throws {
        let (accountLines, lines) = hydraLines()
        try await withServer(.router) { client in
            #expect(try await client.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n").status == .ok)
            try await ingest(client, lines, batchSize: 500)
            _ = try await client.post("/v1/flush", Secret.analyst, "")
            let list = try await client.get("/v1/campaigns", Secret.analyst).json["campaigns"] as? [[String: Any]] ?? []
            let id = try #require(list.first?["campaign_id"] as? String, "\(list)")
            let number = try #require(CampaignID.number(of: id))
            #expect(try await client.get("/v1/campaigns/\(id)", Secret.analyst).status == .ok)
            let s = try await Self.session(client)
            for alias in ["campaign-0\(number)", "campaign-+\(number)"] {
                #expect(try await client.get("/v1/campaigns/\(alias)", Secret.analyst).status == .notFound, "\(alias)")
                #expect(try await client.post("/v1/campaigns/\(alias)/label", Secret.analyst, #"{"label":"legitimate"}"#).status == .notFound, "\(alias)")
                #expect(try await client.post("/v1/campaigns/\(alias)/note", Secret.analyst, #"{"note":"x"}"#).status == .notFound, "\(alias)")
                #expect(try await Self.get(client, "/console/campaigns/\(alias)", s).status == .notFound, "\(alias)")
            }
            let after = try await client.get("/v1/campaigns/\(id)", Secret.analyst)
            #expect(after.json["verdict"] as? String != "allow", "\(after.text)")
        }
    }

    @Test func notesGoThroughTheAPITooAndNeedASubject() async throws {
        let (accountLines, lines) = hydraLines(accounts: 4, hours: 1)
        try await withServer(.router) { client in
            #expect(try await client.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n").status == .ok)
            try await ingest(client, lines, batchSize: 500)
            let ok = try await client.post("/v1/accounts/hydra-1/note", Secret.analyst, #"{"note":"asked the customer"}"#)
            #expect(ok.status == .ok && ok.json["analyst"] as? String == "alice", "\(ok.text)")
            #expect(try await client.post("/v1/accounts/nobody/note", Secret.analyst, #"{"note":"x"}"#).status == .notFound)
            #expect(try await client.post("/v1/campaigns/campaign-99/note", Secret.analyst, #"{"note":"x"}"#).status == .notFound)
            #expect(try await client.post("/v1/accounts/hydra-1/note", Secret.analyst, #"{"note":"  "}"#).status == .badRequest)
            #expect(try await client.post("/v1/accounts/hydra-1/note", Secret.decide, #"{"note":"x"}"#).status == .forbidden)
            // A label's note is held to a note's limit: 8,192 bytes.
            let long = String(repeating: "n", count: 9_000)
            let labelled = try await client.post("/v1/accounts/hydra-1/label", Secret.analyst, #"{"label":"legitimate","note":""# + long + #""}"#)
            #expect(labelled.status == .badRequest && labelled.errorMessage.contains("at most 8192 bytes, got 9000"), "\(labelled.text)")
            #expect(try await client.post("/v1/accounts/hydra-1/note", Secret.analyst, #"{"note":""# + long + #""}"#).status == .badRequest)
            let s = try await Self.session(client)
            #expect(try await Self.get(client, "/console/accounts/hydra-1", s).text.contains("asked the customer"))
        }
    }
}

/// The campaign timeline cache: the first view computes, later views within a minute reuse
/// it, an older one is shown while a refresh runs, and a changed membership refreshes too.
@Suite struct ConsoleTimelineCacheTests {
    actor Counter {
        var calls = 0
        func next() -> Int { calls += 1; return calls }
    }

    @Test func aStaleTimelineIsShownWhileItIsRefreshed() async throws {
        let service = try ConsoleService(sessionHours: 1)
        let counter = Counter()
        let compute: @Sendable () async throws -> [HourlyTotals] = { [HourlyTotals(hour: 1, exchanges: await counter.next())] }
        let t0 = testStart
        let first = try await service.timeline("campaign-1", members: 10, now: t0, compute: compute)
        #expect(first.hours.first?.exchanges == 1 && first.at == t0)
        let again = try await service.timeline("campaign-1", members: 10, now: t0.adding(seconds: 30), compute: compute)
        #expect(again.hours.first?.exchanges == 1 && again.at == t0)
        #expect(await counter.calls == 1, "within a minute the store is not read again")
        let stale = try await service.timeline("campaign-1", members: 10, now: t0.adding(seconds: 90), compute: compute)
        #expect(stale.hours.first?.exchanges == 1 && stale.at == t0, "the old timeline is shown at once")
        var refreshed = stale
        for _ in 0..<200 where refreshed.hours.first?.exchanges == 1 {
            try await Task.sleep(for: .milliseconds(10))
            refreshed = try await service.timeline("campaign-1", members: 10, now: t0.adding(seconds: 91), compute: compute)
        }
        #expect(refreshed.hours.first?.exchanges == 2 && refreshed.at == t0.adding(seconds: 90))
        // A new member makes the next view refresh as well.
        _ = try await service.timeline("campaign-1", members: 11, now: t0.adding(seconds: 92), compute: compute)
        for _ in 0..<200 where await counter.calls < 3 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await counter.calls == 3)
    }
}
