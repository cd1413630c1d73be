import DistillWatchCore
import DistillWatchStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import DistillWatchServer

/// Publication, TAXII and revocation between two servers: provider A approves a campaign,
/// a partner reads it over TAXII and pushes it to provider B, whose engine matches it;
/// A's analyst dismisses the campaign, the revocation travels the same way, and B stops
/// matching.
@Suite struct SharingServerTests {
    static let published = AuthTests.published
    static let inbox = AuthTests.inbox

    func sharingConfiguration(producer: String) -> ServerConfiguration {
        var c = testConfiguration()
        c.sharingProducer = producer
        c.maxRequestBodyBytes = 1 << 20
        return c
    }

    func taxiiGet(_ client: some TestClientProtocol, _ uri: String, _ token: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get,
                                 headers: [.authorization: "Bearer \(token)", .accept: "application/taxii+json;version=2.1"])
    }

    /// Every object of the published collection, page by page (`next`), checking the
    /// TAXII headers on the way.
    func readPublished(_ client: some TestClientProtocol, extra: String = "") async throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        var next: String?
        var pages = 0
        repeat {
            let uri = "/taxii2/api/collections/\(Self.published)/objects/?limit=7\(extra)" + (next.map { "&next=\($0)" } ?? "")
            let r = try await taxiiGet(client, uri, Secret.shareRead)
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.headers[.contentType] == "application/taxii+json;version=2.1")
            let page = r.json["objects"] as? [[String: Any]] ?? []
            if !page.isEmpty { #expect(r.headers[HTTPField.Name("X-TAXII-Date-Added-First")!] != nil) }
            objects += page
            next = (r.json["more"] as? Bool == true) ? r.json["next"] as? String : nil
            pages += 1
        } while next != nil && pages < 1_000
        return objects
    }

    @Test func anApprovedCampaignTravelsOverTAXIIAndItsDismissalRevokesItAtTheRecipient() async throws {
        let (accountLines, lines) = hydraLines()
        try await withServer(.router, sharingConfiguration(producer: "Acme AI")) { a in
            #expect(try await a.post("/v1/accounts", Secret.ingest, accountLines.joined(separator: "\n") + "\n").status == .ok)
            try await ingest(a, lines, batchSize: 500)
            let campaign = try #require((try await a.get("/v1/campaigns", Secret.analyst).json["campaigns"] as? [[String: Any]])?.first)
            let id = try #require(campaign["campaign_id"] as? String)

            // Nothing is published before an analyst approves.
            #expect(try await readPublished(a).isEmpty)
            let share = try await a.post("/v1/campaigns/\(id)/share", Secret.analyst, #"{"action":"publish","note":"confirmed"}"#)
            #expect(share.status == .ok, "\(share.text)")
            let decision = try #require(share.json["decision"] as? [String: Any])
            #expect(decision["analyst"] as? String == "alice" && decision["action"] as? String == "publish")
            let objects = try await readPublished(a)
            let indicators = objects.filter { $0["type"] as? String == "indicator" }
            #expect(!indicators.isEmpty && objects.contains { $0["type"] as? String == "campaign" })
            #expect(!objects.contains { ($0["revoked"] as? Bool) == true })
            // No account id leaves in the default profile.
            let text = String(decoding: try JSONSerialization.data(withJSONObject: objects), as: UTF8.self)
            #expect(!text.contains("hydra-"))
            // For authorities: a document, not a publication; no addresses, no account id, TLP as asked.
            let forAuthorities = try await a.post("/v1/campaigns/\(id)/share", Secret.analyst, #"{"action":"export","audience":"authorities","tlp":"red"}"#)
            #expect(forAuthorities.status == .ok, "\(forAuthorities.text)")
            #expect(!forAuthorities.text.contains("ipv4-addr") && !forAuthorities.text.contains("hydra-"))
            #expect(forAuthorities.text.contains("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"))
            // A misspelt audience exported for providers (with addresses); a misspelt tlp, an
            // export's settings on publish, a tlp on withdraw were dropped without a word.
            for (typo, field) in [(#"{"action":"export","audiance":"authorities"}"#, "audiance"),
                                  (#"{"action":"publish","TLP":"red"}"#, "TLP"),
                                  (#"{"action":"export","audience":null}"#, "audience"),
                                  (#"{"action":"publish","audience":"authorities"}"#, "audience"),
                                  (#"{"action":"withdraw","tlp":"red"}"#, "tlp")] {
                let refused = try await a.post("/v1/campaigns/\(id)/share", Secret.analyst, typo)
                #expect(refused.status == .badRequest && refused.errorMessage.contains("field \"\(field)\""), "\(typo): \(refused.text)")
            }
            let misp = try await a.post("/v1/campaigns/\(id)/share", Secret.analyst, #"{"action":"export","format":"misp"}"#)
            #expect(misp.status == .ok && misp.json["Event"] != nil)
            #expect(try await readPublished(a).count == objects.count, "an export publishes nothing")
            let objectsData = try JSONSerialization.data(withJSONObject: objects)
            let indicatorCount = indicators.count, firstIndicator = indicators[0]["id"] as! String, objectCount = objects.count
            let firstCampaign = decision["stix_campaign_id"] as? String

            try await withServer(.router, sharingConfiguration(producer: "Globex")) { b in
                // A partner token may not write to B's published collection, nor read its inbox.
                let denied = try await b.execute(uri: "/taxii2/api/collections/\(Self.published)/objects/", method: .post,
                                                 headers: [.authorization: "Bearer \(Secret.shareWrite)", .contentType: "application/taxii+json;version=2.1"],
                                                 body: ByteBuffer(string: #"{"objects":[]}"#))
                #expect(denied.status == .forbidden)
                #expect(try await taxiiGet(b, "/taxii2/api/collections/\(Self.inbox)/objects/", Secret.shareRead).status == .forbidden)

                func push(_ list: [[String: Any]]) async throws -> TestResponse {
                    let body = try JSONSerialization.data(withJSONObject: ["objects": list])
                    return try await b.execute(uri: "/taxii2/api/collections/\(Self.inbox)/objects/", method: .post,
                                               headers: [.authorization: "Bearer \(Secret.shareWrite)", .contentType: "application/taxii+json;version=2.1"],
                                               body: ByteBuffer(bytes: Array(body)))
                }
                let pushed = try await push(try JSONSerialization.jsonObject(with: objectsData) as! [[String: Any]])
                #expect(pushed.status == .accepted, "\(pushed.text)")
                #expect(pushed.json["success_count"] as? Int == objectCount && pushed.json["failure_count"] as? Int == 0)
                let statusID = try #require(pushed.json["id"] as? String)
                #expect(try await taxiiGet(b, "/taxii2/api/status/\(statusID)/", Secret.shareWrite).json["status"] as? String == "complete")
                let matched = try await b.get("/v1/sharing", Secret.analyst).json["indicators_matched"] as? Int ?? 0
                #expect(matched == indicatorCount)

                // B sees the operator's accounts: they match A's indicators.
                try await ingest(b, Array(lines.prefix(600)), batchSize: 300)
                func sharedValue(_ account: String) async throws -> Double {
                    let signals = try await b.get("/v1/accounts/\(account)", Secret.analyst).json["signals"] as? [[String: Any]] ?? []
                    return signals.first { $0["name"] as? String == "shared_indicator" }?["value"] as? Double ?? 0
                }
                #expect(try await sharedValue("hydra-3") > 0)
                // The detail names the producer the indicator claims and the token that sent it.
                let detail = ((try await b.get("/v1/accounts/hydra-3", Secret.analyst).json["signals"] as? [[String: Any]] ?? [])
                    .first { $0["name"] as? String == "shared_indicator" }?["detail"] as? String) ?? ""
                #expect(detail.contains("Acme AI (sent by token partner-writer)"), "\(detail)")
                // B shares back what it saw: sightings of A's indicators, with no account id.
                let sightings = try await b.get("/v1/sharing/sightings", Secret.analyst)
                #expect(sightings.status == .ok && !sightings.text.contains("hydra-"))
                let sighted = (sightings.json["objects"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "sighting" }
                #expect(!sighted.isEmpty && sighted.allSatisfy { ($0["sighting_of_ref"] as? String)?.hasPrefix("indicator--") == true && ($0["count"] as? Int ?? 0) > 0 })

                // A's analyst dismisses the campaign: A publishes revoked versions.
                #expect(try await a.post("/v1/campaigns/\(id)/label", Secret.analyst, #"{"label":"legitimate","note":"a load test"}"#).status == .ok)
                let decisions = try await a.get("/v1/sharing", Secret.analyst).json["decisions"] as? [[String: Any]] ?? []
                #expect(decisions.first?["action"] as? String == "dismiss")
                let latest = try await readPublished(a)
                let revoked = latest.filter { ($0["revoked"] as? Bool) == true }
                #expect(revoked.contains { $0["type"] as? String == "indicator" })
                #expect(!latest.contains { $0["type"] as? String == "indicator" && ($0["revoked"] as? Bool) != true })
                let versions = try await taxiiGet(a, "/taxii2/api/collections/\(Self.published)/objects/\(firstIndicator)/versions/", Secret.shareRead)
                #expect((versions.json["versions"] as? [String])?.count == 2)
                // match[spec_version] other than 2.1 matches nothing, whatever follows it and on
                // an object's own routes (a later match[id] undid it; the object routes ignored it).
                let base = "/taxii2/api/collections/\(Self.published)/objects/"
                for uri in [base + "?match[spec_version]=2.0&match[id]=\(firstIndicator)",
                            base + "\(firstIndicator)/?match[spec_version]=2.0",
                            base + "\(firstIndicator)/versions/?match[spec_version]=2.0"] {
                    let r = try await taxiiGet(a, uri, Secret.shareRead)
                    #expect(r.status == .notFound || (r.status == .ok && (r.json["objects"] as? [Any] ?? []).isEmpty), "\(uri): \(r.text)")
                }
                #expect(try await taxiiGet(a, base + "\(firstIndicator)/?match[spec_version]=2.1", Secret.shareRead).status == .ok)

                // Approved again after the dismissal: new objects (STIX forbids un-revoking).
                let again = try await a.post("/v1/campaigns/\(id)/share", Secret.analyst, #"{"action":"publish"}"#)
                let againCampaign = (again.json["decision"] as? [String: Any])?["stix_campaign_id"] as? String
                #expect(again.status == .ok && againCampaign != nil && againCampaign != firstCampaign)

                // The partner carries the revocation to B: B stops matching at once.
                #expect(try await push(revoked).status == .accepted)
                #expect(try await b.get("/v1/sharing", Secret.analyst).json["indicators_matched"] as? Int == 0)
                #expect(try await sharedValue("hydra-3") == 0)
            }
        }
    }

    @Test func theTAXIIServerSpeaksItsMediaTypeAndRefusesWhatItCannotKeep() async throws {
        try await withServer(.router, sharingConfiguration(producer: "Acme AI")) { client in
            let discovery = try await taxiiGet(client, "/taxii2/", Secret.shareRead)
            #expect(discovery.status == .ok && (discovery.json["api_roots"] as? [String])?.first?.hasSuffix("/taxii2/api/") == true)
            // Forwarded values are used only when they are a scheme and a host: no header puts
            // a path, a query or markup into the URLs a client follows.
            func root(_ headers: HTTPFields) async throws -> String? {
                var all: HTTPFields = [.authorization: "Bearer \(Secret.shareRead)", .accept: "application/taxii+json;version=2.1"]
                all.append(contentsOf: headers)
                let r = try await client.execute(uri: "/taxii2/", method: .get, headers: all)
                return (r.json["api_roots"] as? [String])?.first
            }
            let proxied: HTTPFields = [HTTPField.Name("X-Forwarded-Proto")!: "https", HTTPField.Name("X-Forwarded-Host")!: "taxii.example.com:8443, internal:80"]
            #expect(try await root(proxied) == "https://taxii.example.com:8443/taxii2/api/")
            let v6: HTTPFields = [HTTPField.Name("X-Forwarded-Host")!: "[2001:db8::1]:8443"]
            #expect(try await root(v6)?.hasSuffix("://[2001:db8::1]:8443/taxii2/api/") == true)
            for hostile in ["evil.example/steal?x=", "a\"b", "evil.example:99999", "javascript:alert(1)", "[::1"] {
                let forged: HTTPFields = [HTTPField.Name("X-Forwarded-Proto")!: "javascript", HTTPField.Name("X-Forwarded-Host")!: hostile]
                let url = try await root(forged)
                #expect(url?.hasPrefix("http") == true && url?.contains("evil") == false && url?.contains("javascript") == false
                        && url?.contains("\"") == false, "\(hostile) → \(url ?? "nil")")
            }
            let html = try await client.execute(uri: "/taxii2/", method: .get, headers: [.authorization: "Bearer \(Secret.shareRead)", .accept: "text/html"])
            #expect(html.status == .notAcceptable)
            let collections = try await taxiiGet(client, "/taxii2/api/collections/", Secret.shareRead).json["collections"] as? [[String: Any]] ?? []
            #expect(collections.map { $0["id"] as? String } == [Self.published])
            let wrongType = try await client.execute(uri: "/taxii2/api/collections/\(Self.inbox)/objects/", method: .post,
                                                     headers: [.authorization: "Bearer \(Secret.shareWrite)", .contentType: "text/plain"],
                                                     body: ByteBuffer(string: #"{"objects":[]}"#))
            #expect(wrongType.status == .unsupportedMediaType)
            // A media type is read whole, never searched for in the header's text.
            for type in ["text/plain; x=application/taxii+json", "application/taxii+json;version=2.0", "application/taxii+jsonx"] {
                let r = try await client.execute(uri: "/taxii2/api/collections/\(Self.inbox)/objects/", method: .post,
                                                 headers: [.authorization: "Bearer \(Secret.shareWrite)", .contentType: type],
                                                 body: ByteBuffer(string: #"{"objects":[]}"#))
                #expect(r.status == .unsupportedMediaType, "\(type): \(r.status)")
            }
            for (accept, status) in [("text/html;q=application/taxii+json", HTTPResponse.Status.notAcceptable),
                                     ("application/taxii+json;q=0", .notAcceptable),
                                     ("text/html, application/taxii+json;version=2.1;q=0.5", .ok), ("*/*", .ok)] {
                let r = try await client.execute(uri: "/taxii2/", method: .get, headers: [.authorization: "Bearer \(Secret.shareRead)", .accept: accept])
                #expect(r.status == status, "Accept: \(accept): \(r.status)")
            }
            let hostile = #"{"objects":[{"type":"indicator","id":"indicator--x"},"text",{"type":"indicator","spec_version":"2.0","id":"indicator--22222222-2222-4222-8222-222222222222","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z"}]}"#
            let r = try await client.execute(uri: "/taxii2/api/collections/\(Self.inbox)/objects/", method: .post,
                                             headers: [.authorization: "Bearer \(Secret.shareWrite)", .contentType: "application/taxii+json;version=2.1"],
                                             body: ByteBuffer(string: hostile))
            #expect(r.status == .accepted && r.json["failure_count"] as? Int == 3 && r.json["success_count"] as? Int == 0)
            let notEnvelope = try await client.execute(uri: "/taxii2/api/collections/\(Self.inbox)/objects/", method: .post,
                                                       headers: [.authorization: "Bearer \(Secret.shareWrite)", .contentType: "application/taxii+json;version=2.1"],
                                                       body: ByteBuffer(string: "[1,2"))
            #expect(notEnvelope.status == .badRequest)
            // Publication needs the provider's name; an unknown campaign is 404.
            #expect(try await client.post("/v1/campaigns/campaign-9/share", Secret.analyst, #"{"action":"publish"}"#).status == .notFound)
            #expect(try await client.post("/v1/campaigns/campaign-9/share", Secret.analyst, #"{"action":"withdraw"}"#).status == .conflict)
            #expect(try await taxiiGet(client, "/taxii2/api/collections/\(Self.published)/objects/?added_after=yesterday", Secret.shareRead).status == .badRequest)
        }
    }

    @Test func objectsStoredWithoutTheirRebuildAreMatchedAfterARestart() async throws {
        // As if the process was killed after storing a push and before rebuilding the set.
        let scratch = ScratchDirectory()
        let path = scratch.path + "/events.sqlite"
        let store = try SQLiteEventStore(path: path)
        let json = #"{"type":"indicator","spec_version":"2.1","id":"indicator--44444444-4444-4444-8444-444444444444","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[autonomous-system:number = 5000001]","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#
        _ = try await store.addSharedObjects([SharedObject(collection: "inbox", id: "indicator--44444444-4444-4444-8444-444444444444",
                                                           version: "2026-01-01T00:00:00.000Z", type: "indicator", dateAdded: 0, revoked: false,
                                                           json: Array(json.utf8))], at: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000))
        try await store.close()
        let restarted = try SQLiteEventStore(path: path)
        try await withServer(.router, sharingConfiguration(producer: "B"), store: restarted) { client in
            let matched = try await client.get("/v1/sharing", Secret.analyst).json["indicators_matched"] as? Int
            #expect(matched == 1)
            // Records kept beside the statuses are not statuses.
            let status = try await taxiiGet(client, "/taxii2/api/status/feed-state:globex/", Secret.shareRead).status
            #expect(status == .notFound)
        }
    }

    /// An autonomous-system indicator as a partner pushes it.
    static func partnerIndicator(_ id: String, modified: String, asn: Int, revoked: Bool = false) -> [String: Any] {
        ["type": "indicator", "spec_version": "2.1", "id": id, "created": "2026-01-01T00:00:00.000Z", "modified": modified,
         "pattern": "[autonomous-system:number = \(asn)]", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "revoked": revoked]
    }

    static func pushToInbox(_ client: some TestClientProtocol, _ secret: String, _ objects: [[String: Any]]) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["objects": objects])
        return try await client.execute(uri: "/taxii2/api/collections/\(Self.inbox)/objects/", method: .post,
                                        headers: [.authorization: "Bearer \(secret)", .contentType: "application/taxii+json;version=2.1"],
                                        body: ByteBuffer(bytes: Array(body)))
    }

    static func indicatorsMatched(_ client: some TestClientProtocol) async throws -> Int? {
        try await client.get("/v1/sharing", Secret.analyst).json["indicators_matched"] as? Int
    }

    /// A partner's token adds versions only of the ids it brought to the inbox: another
    /// partner can neither revoke them nor rewrite their pattern, nor touch what this
    /// provider imported; an analyst can. Who brought an id survives a restart.
    @Test func aPartnerAddsVersionsOnlyOfTheIdsItBrought() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path + "/events.sqlite"
        let otherSecret = "share-write-secret-other-00009"
        var configuration = sharingConfiguration(producer: "B")
        configuration.tokens.append(AccessToken(name: "other-partner", secret: otherSecret, roles: [.shareWrite]))
        let theirs = "indicator--55555555-5555-4555-8555-555555555555"
        let imported = "indicator--66666666-6666-4666-8666-666666666666"
        try await withServer(.router, configuration, store: try SQLiteEventStore(path: path)) { client in
            let first = try await Self.pushToInbox(client, Secret.shareWrite, [Self.partnerIndicator(theirs, modified: "2026-01-01T00:00:00.000Z", asn: 5000001)])
            #expect(first.json["success_count"] as? Int == 1, "\(first.text)")
            let bundle = try JSONSerialization.data(withJSONObject: ["type": "bundle", "id": "bundle--77777777-7777-4777-8777-777777777777",
                                                                      "objects": [Self.partnerIndicator(imported, modified: "2026-01-01T00:00:00.000Z", asn: 5000002)]])
            #expect(try await client.post("/v1/sharing/import", Secret.analyst, String(decoding: bundle, as: UTF8.self)).status == .ok)
            #expect(try await Self.indicatorsMatched(client) == 2)
        }
        try await withServer(.router, configuration, store: try SQLiteEventStore(path: path)) { client in
            // Another partner: no revocation, no rewrite, of either.
            let attempts = [Self.partnerIndicator(theirs, modified: "2026-02-01T00:00:00.000Z", asn: 5000001, revoked: true),
                            Self.partnerIndicator(theirs, modified: "2026-02-02T00:00:00.000Z", asn: 64512),
                            Self.partnerIndicator(imported, modified: "2026-02-01T00:00:00.000Z", asn: 5000002, revoked: true)]
            let refused = try await Self.pushToInbox(client, otherSecret, attempts)
            #expect(refused.status == .accepted && refused.json["success_count"] as? Int == 0 && refused.json["failure_count"] as? Int == 3,
                    "\(refused.text)")
            let messages = (refused.json["failures"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            #expect(messages.filter { $0.contains(#"by partner "partner-writer""#) }.count == 2, "\(messages)")
            #expect(messages.filter { $0.contains("by this provider") }.count == 1, "\(messages)")
            // The partner that brought it is refused what this provider imported, as well.
            let notYours = try await Self.pushToInbox(client, Secret.shareWrite, [Self.partnerIndicator(imported, modified: "2026-02-01T00:00:00.000Z", asn: 5000002, revoked: true)])
            #expect(notYours.json["failure_count"] as? Int == 1, "\(notYours.text)")
            #expect(try await Self.indicatorsMatched(client) == 2)
            // The partner that brought it revokes it; an analyst revokes the imported one.
            let own = try await Self.pushToInbox(client, Secret.shareWrite, [Self.partnerIndicator(theirs, modified: "2026-02-03T00:00:00.000Z", asn: 5000001, revoked: true)])
            #expect(own.json["success_count"] as? Int == 1, "\(own.text)")
            let analyst = try await Self.pushToInbox(client, Secret.analyst, [Self.partnerIndicator(imported, modified: "2026-02-03T00:00:00.000Z", asn: 5000002, revoked: true)])
            #expect(analyst.json["success_count"] as? Int == 1, "\(analyst.text)")
            #expect(try await Self.indicatorsMatched(client) == 0)
        }
    }

    @Test func partnersIndicatorsSurviveARestart() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path + "/events.sqlite"
        let indicator = #"{"type":"indicator","spec_version":"2.1","id":"indicator--33333333-3333-4333-8333-333333333333","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value ISSUBSET '100.0.0.0/8']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}"#
        try await withServer(.router, sharingConfiguration(producer: "B"), store: try SQLiteEventStore(path: path)) { client in
            let r = try await client.post("/v1/sharing/import", Secret.analyst, #"{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[\#(indicator)]}"#)
            #expect(r.status == .ok && r.json["indicators_matched"] as? Int == 1, "\(r.text)")
        }
        try await withServer(.router, sharingConfiguration(producer: "B"), store: try SQLiteEventStore(path: path)) { client in
            #expect(try await client.get("/v1/sharing", Secret.analyst).json["indicators_matched"] as? Int == 1)
            let objects = try await taxiiGet(client, "/taxii2/api/collections/\(Self.inbox)/objects/", Secret.analyst).json["objects"] as? [[String: Any]]
            #expect(objects?.count == 1)
        }
    }
}
