import HTTPTypes
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

/// Every endpoint but `/healthz` needs a token, and each role reaches only its endpoints.
@Suite struct AuthTests {
    /// (method, path, body, roles allowed)
    static let endpoints: [(HTTPRequest.Method, String, String, Set<Role>)] = [
        (.post, "/v1/exchanges", #"{"time":"2026-04-01T00:00:00Z","account_id":"a"}"#, [.ingest]),
        (.post, "/v1/accounts", #"{"account_id":"a","tier":"free"}"#, [.ingest]),
        (.post, "/v1/decide", #"{"account_id":"a"}"#, [.decide]),
        (.post, "/beta/litellm_basic_guardrail_api", #"{"input_type":"request","request_data":{}}"#, [.decide]),
        (.get, "/v1/accounts/a", "", [.analyst]),
        (.post, "/v1/accounts/a/label", #"{"label":"legitimate"}"#, [.analyst]),
        (.get, "/v1/campaigns", "", [.analyst]),
        (.get, "/v1/campaigns/c", "", [.analyst]),
        (.post, "/v1/campaigns/c/label", #"{"label":"legitimate"}"#, [.analyst]),
        (.get, "/v1/report", "", [.analyst]),
        (.get, "/v1/decisions", "", [.analyst]),
        (.get, "/v1/status", "", [.analyst]),
        (.post, "/v1/flush", "", [.analyst]),
        (.get, "/metrics", "", [.ingest, .decide, .analyst]),
    ]

    @Test(arguments: Mode.allCases)
    func nothingButHealthzAnswersWithoutAToken(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let health = try await client.get("/healthz", nil)
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            for (method, path, body, _) in Self.endpoints {
                let r = try await client.execute(uri: path, method: method, body: .init(string: body))
                #expect(r.status == .unauthorized, "\(method) \(path)")
                #expect(r.errorMessage.contains("missing bearer token"), "\(path): \(r.text)")
                #expect(r.headers[.wwwAuthenticate] == "Bearer")
                let wrong = try await client.execute(uri: path, method: method,
                                                     headers: [.authorization: "Bearer not-a-configured-token-at-all"],
                                                     body: .init(string: body))
                #expect(wrong.status == .unauthorized, "\(method) \(path) with a wrong token")
                #expect(wrong.errorMessage == "unknown token")
                let basic = try await client.execute(uri: path, method: method,
                                                     headers: [.authorization: "Basic \(Secret.all)"], body: .init(string: body))
                #expect(basic.status == .unauthorized, "\(method) \(path) with Basic")
            }
            // Unknown paths are 401 too: nothing reveals what exists to a caller without a token.
            #expect(try await client.get("/v1/nothing-here", nil).status == .unauthorized)
        }
    }

    @Test(arguments: Mode.allCases)
    func eachRoleReachesOnlyItsEndpoints(_ mode: Mode) async throws {
        let tokens: [(Role, String)] = [(.ingest, Secret.ingest), (.decide, Secret.decide), (.analyst, Secret.analyst)]
        try await withServer(mode) { client in
            for (method, path, body, allowed) in Self.endpoints {
                for (role, secret) in tokens {
                    let r = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(secret)"],
                                                     body: .init(string: body))
                    if allowed.contains(role) {
                        #expect(r.status != .forbidden && r.status != .unauthorized, "\(role) \(method) \(path): \(r.status)")
                    } else {
                        #expect(r.status == .forbidden, "\(role) \(method) \(path): \(r.status)")
                        #expect(r.errorMessage.contains("lacks the"), "\(r.text)")
                    }
                }
                // A token with every role reaches every endpoint.
                let r = try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(Secret.all)"],
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
