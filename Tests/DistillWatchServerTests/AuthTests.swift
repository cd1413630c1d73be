import HTTPTypes
import Logging
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

/// Every endpoint but `/healthz` needs a token, and each role reaches only its endpoints.
@Suite struct AuthTests {
    /// The role matrix: for each route the router mounts ("METHOD /path" as Hummingbird
    /// describes it), a concrete path and body to call it with, and the roles allowed.
    /// ``theMatrixCoversEveryRouteTheRouterMounts`` fails when a route is missing here.
    static let matrix: [String: (path: String, body: String, roles: Set<Role>)] = envoyRows.merging(fixedRows) { a, _ in a }

    /// Envoy's ext_authz checks: every method Envoy forwards, under the prefix and under
    /// `/v1/decide/`.
    static let envoyRows: [String: (path: String, body: String, roles: Set<Role>)] = {
        var rows: [String: (path: String, body: String, roles: Set<Role>)] = [:]
        for method in EnvoyExtAuthzRoutes.methods {
            for (route, path) in [("/distillwatch", "/distillwatch"), ("/distillwatch/**", "/distillwatch/v1/chat/completions"),
                                  ("/v1/decide/**", "/v1/decide/v1/messages")] {
                rows["\(method) \(route)"] = (path, method == .post ? #"{"model":"m","messages":[]}"# : "", [.decide])
            }
        }
        return rows
    }()

    /// Envoy's check paths take DistillWatch's token in x-api-key; every other route in
    /// `Authorization: Bearer`.
    static func credential(_ path: String, _ value: String) -> HTTPFields {
        if path.hasPrefix("/distillwatch") || path.hasPrefix("/v1/decide/") {
            return [HTTPField.Name("x-api-key")!: value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : value]
        }
        return [.authorization: value]
    }

    /// The TAXII collections' ids (``SharingService``).
    static let published = "40a3b724-d8c4-52af-b34d-db7d2ee5a34d"
    static let inbox = "46a3edbb-958e-5569-8ae6-1cce204c78cb"

    static let fixedRows: [String: (path: String, body: String, roles: Set<Role>)] = [
        "POST /v1/exchanges": ("/v1/exchanges", #"{"time":"2026-04-01T00:00:00Z","account_id":"a"}"#, [.ingest]),
        "POST /v1/accounts": ("/v1/accounts", #"{"account_id":"a","tier":"free"}"#, [.ingest]),
        "POST /v1/decide": ("/v1/decide", #"{"account_id":"a"}"#, [.decide]),
        "POST /v1/reasoning": ("/v1/reasoning", #"{"account_id":"a","treatment":"withhold","reasoning_tokens":5}"#, [.decide]),
        "POST /v1/accounts/{id}/verify": ("/v1/accounts/a/verify", #"{"verified":true}"#, [.analyst, .exempt]),
        "POST /beta/litellm_basic_guardrail_api": ("/beta/litellm_basic_guardrail_api", #"{"input_type":"request","request_data":{}}"#, [.decide]),
        "POST /v1/litellm/logs": ("/v1/litellm/logs", #"{"startTime":1795000000,"metadata":{"user_api_key_team_id":"t"}}"#, [.ingest]),
        "POST /v1/traces": ("/v1/traces", #"{"resourceSpans":[]}"#, [.ingest]),
        "GET /v1/accounts/{id}": ("/v1/accounts/a", "", [.analyst]),
        "POST /v1/accounts/{id}/label": ("/v1/accounts/a/label", #"{"label":"legitimate"}"#, [.analyst]),
        "GET /v1/campaigns": ("/v1/campaigns", "", [.analyst]),
        "GET /v1/campaigns/{id}": ("/v1/campaigns/c", "", [.analyst]),
        "POST /v1/campaigns/{id}/label": ("/v1/campaigns/c/label", #"{"label":"legitimate"}"#, [.analyst]),
        "GET /v1/report": ("/v1/report", "", [.analyst]),
        "GET /v1/decisions": ("/v1/decisions", "", [.analyst]),
        "GET /v1/quarantine": ("/v1/quarantine", "", [.analyst]),
        "GET /v1/status": ("/v1/status", "", [.analyst]),
        "POST /v1/flush": ("/v1/flush", "", [.analyst]),
        "POST /v1/snapshot": ("/v1/snapshot", "", [.analyst]),
        "POST /v1/campaigns/{id}/share": ("/v1/campaigns/c/share", #"{"action":"publish"}"#, [.analyst]),
        "POST /v1/sharing/import": ("/v1/sharing/import", #"{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[]}"#, [.analyst]),
        "GET /v1/sharing": ("/v1/sharing", "", [.analyst]),
        "GET /v1/sharing/sightings": ("/v1/sharing/sightings", "", [.analyst]),
        "GET /taxii2": ("/taxii2/", "", [.analyst, .shareRead, .shareWrite]),
        "GET /taxii2/api": ("/taxii2/api/", "", [.analyst, .shareRead, .shareWrite]),
        "GET /taxii2/api/collections": ("/taxii2/api/collections/", "", [.analyst, .shareRead, .shareWrite]),
        "GET /taxii2/api/collections/{collection}": ("/taxii2/api/collections/\(published)/", "", [.analyst, .shareRead]),
        "GET /taxii2/api/collections/{collection}/objects": ("/taxii2/api/collections/\(published)/objects/", "", [.analyst, .shareRead]),
        "GET /taxii2/api/collections/{collection}/manifest": ("/taxii2/api/collections/\(published)/manifest/", "", [.analyst, .shareRead]),
        "POST /taxii2/api/collections/{collection}/objects": ("/taxii2/api/collections/\(inbox)/objects/", #"{"objects":[]}"#, [.analyst, .shareWrite]),
        "GET /taxii2/api/collections/{collection}/objects/{object}": ("/taxii2/api/collections/\(published)/objects/indicator--11111111-1111-4111-8111-111111111111/", "", [.analyst, .shareRead]),
        "GET /taxii2/api/collections/{collection}/objects/{object}/versions": ("/taxii2/api/collections/\(published)/objects/indicator--11111111-1111-4111-8111-111111111111/versions/", "", [.analyst, .shareRead]),
        "GET /taxii2/api/status/{status}": ("/taxii2/api/status/11111111-1111-4111-8111-111111111111/", "", [.analyst, .shareRead, .shareWrite]),
        "POST /v1/accounts/{id}/note": ("/v1/accounts/a/note", #"{"note":"n"}"#, [.analyst]),
        "POST /v1/campaigns/{id}/note": ("/v1/campaigns/c/note", #"{"note":"n"}"#, [.analyst]),
        "GET /v1/screening": ("/v1/screening", "", [.analyst]),
        "GET /metrics": ("/metrics", "", Set(Role.allCases)),
        // The console authenticates with its session cookie, not a bearer token
        // (ConsoleServerTests): no role opens it with a token.
        "GET /console/assets/console.css": ("/console/assets/console.css", "", []),
        "GET /console/login": ("/console/login", "", []),
        "POST /console/login": ("/console/login", "", []),
        "POST /console/logout": ("/console/logout", "", []),
        "GET /console": ("/console", "", []),
        "GET /console/campaigns": ("/console/campaigns", "", []),
        "GET /console/campaigns/{id}": ("/console/campaigns/c", "", []),
        "POST /console/campaigns/{id}/label": ("/console/campaigns/c/label", "", []),
        "GET /console/accounts/{id}": ("/console/accounts/a", "", []),
        "POST /console/accounts/{id}/label": ("/console/accounts/a/label", "", []),
        "GET /console/search": ("/console/search", "", []),
        "GET /console/screening": ("/console/screening", "", []),
        "POST /console/screening/signoff": ("/console/screening/signoff", "", []),
        "GET /console/runs": ("/console/runs", "", []),
        "GET /console/runs/{id}": ("/console/runs/r1", "", []),
        "GET /healthz": ("/healthz", "", []),
    ]

    /// The routes the router really mounts, each with its row of the matrix.
    static func endpoints() async throws -> [(HTTPRequest.Method, String, String, Set<Role>)] {
        let (router, _) = try await assembleServer(testConfiguration(), store: nil, clock: .system, logger: Logger(label: "test"))
        return router.routes.compactMap { route in
            guard let row = matrix[route.description], !row.roles.isEmpty else { return nil }
            return (route.method, row.path, row.body, row.roles)
        }
    }

    @Test func theMatrixCoversEveryRouteTheRouterMounts() async throws {
        let (router, _) = try await assembleServer(testConfiguration(), store: nil, clock: .system, logger: Logger(label: "test"))
        let mounted = Set(router.routes.map(\.description))
        #expect(mounted == Set(Self.matrix.keys), "routes without a row: \(mounted.subtracting(Self.matrix.keys).sorted()); rows without a route: \(Set(Self.matrix.keys).subtracting(mounted).sorted())")
        #expect(mounted.count == 38 + 15 + 3 * EnvoyExtAuthzRoutes.methods.count)
    }

    @Test(arguments: Mode.allCases)
    func nothingButHealthzAnswersWithoutAToken(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let health = try await client.get("/healthz", nil)
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            for (method, path, body, _) in try await Self.endpoints() {
                let r = try await client.execute(uri: path, method: method, body: .init(string: body))
                #expect(r.status == .unauthorized, "\(method) \(path)")
                // A HEAD answer has no body over a socket (RFC 9110 §9.3.2): only its status and headers.
                let hasBody = method != .head || mode == .router
                #expect(!hasBody || r.errorMessage.contains("missing bearer token") || r.errorMessage.contains("missing DistillWatch token in x-api-key"),
                        "\(path): \(r.text)")
                #expect(r.headers[.wwwAuthenticate] == "Bearer")
                let wrong = try await client.execute(uri: path, method: method,
                                                     headers: Self.credential(path, "Bearer not-a-configured-token-at-all"),
                                                     body: .init(string: body))
                #expect(wrong.status == .unauthorized, "\(method) \(path) with a wrong token")
                #expect(!hasBody || wrong.errorMessage == "unknown token")
                let basic = try await client.execute(uri: path, method: method,
                                                     headers: Self.credential(path, "Basic \(Secret.all)"), body: .init(string: body))
                #expect(basic.status == .unauthorized, "\(method) \(path) with Basic")
            }
            // Unknown paths are 401 too: nothing reveals what exists to a caller without a token.
            #expect(try await client.get("/v1/nothing-here", nil).status == .unauthorized)
        }
    }

    @Test(arguments: Mode.allCases)
    func eachRoleReachesOnlyItsEndpoints(_ mode: Mode) async throws {
        let tokens: [(Role, String)] = [(.ingest, Secret.ingest), (.decide, Secret.decide), (.analyst, Secret.analyst),
                                        (.exempt, Secret.exempt), (.shareRead, Secret.shareRead), (.shareWrite, Secret.shareWrite)]
        #expect(Set(tokens.map(\.0)) == Set(Role.allCases), "every role has a token in the matrix")
        let endpoints = try await Self.endpoints()
        try await withServer(mode) { client in
            for (method, path, body, allowed) in endpoints {
                for (role, secret) in tokens {
                    let r = try await client.execute(uri: path, method: method, headers: Self.credential(path, "Bearer \(secret)"),
                                                     body: .init(string: body))
                    if allowed.contains(role) {
                        #expect(r.status != .forbidden && r.status != .unauthorized, "\(role) \(method) \(path): \(r.status)")
                    } else {
                        #expect(r.status == .forbidden, "\(role) \(method) \(path): \(r.status)")
                        #expect(method == .head && mode == .live || r.errorMessage.contains("lacks the"), "\(r.text)")
                    }
                }
                // A token with every role reaches every endpoint.
                let r = try await client.execute(uri: path, method: method, headers: Self.credential(path, "Bearer \(Secret.all)"),
                                                 body: .init(string: body))
                #expect(r.status != .forbidden && r.status != .unauthorized, "ops \(method) \(path)")
            }
        }
    }

    @Test(arguments: Mode.allCases)
    func anIngestTokenCannotReadCampaignsOrLabel(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            #expect(try await client.get("/v1/campaigns", Secret.ingest).status == .forbidden)
            #expect(try await client.post("/v1/accounts/a/label", Secret.ingest, #"{"label":"confirmed_attack"}"#).status == .forbidden)
            #expect(try await client.post("/v1/campaigns/c/label", Secret.ingest, #"{"label":"confirmed_attack"}"#).status == .forbidden)
            // Nothing was labelled.
            let account = try await client.get("/v1/accounts/a", Secret.analyst)
            #expect(account.status == .notFound)
        }
    }

    @Test(arguments: Mode.allCases)
    func liteLLMsApiKeyHeaderIsAcceptedAsAToken(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let body = #"{"input_type":"request","request_data":{"user_api_key_user_id":"u"}}"#
            let ok = try await client.post("/beta/litellm_basic_guardrail_api", nil, body, headers: [HTTPField.Name("x-api-key")!: Secret.decide])
            #expect(ok.status == .ok)
            let wrongRole = try await client.post("/beta/litellm_basic_guardrail_api", nil, body, headers: [HTTPField.Name("x-api-key")!: Secret.ingest])
            #expect(wrongRole.status == .forbidden)
        }
    }

    @Test func tokensParseFromTheirTextForm() throws {
        let t = try AccessToken(parsing: "ops:ingest+analyst:abcdefghijklmnop:with:colons")
        #expect(t.name == "ops" && t.roles == [.ingest, .analyst] && t.secret == "abcdefghijklmnop:with:colons")
        #expect(throws: ConfigurationError.self) { try AccessToken(parsing: "ops:root:abcdefghijklmnop") }
        #expect(throws: ConfigurationError.self) { try AccessToken(parsing: "ops:decide:short") }
        #expect(throws: ConfigurationError.self) { try AccessToken(parsing: "no-colons") }
        let table = TokenTable([t])
        #expect(table.token(for: "abcdefghijklmnop:with:colons")?.name == "ops")
        #expect(table.token(for: "abcdefghijklmnop:with:colon") == nil)
        #expect(table.token(for: "") == nil)
    }
}
