import DistillWatchCore
import DistillWatchIngest
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import DistillWatchServer

/// Envoy's ext_authz HTTP service, called with the requests Envoy's documentation describes
/// (`ext_authz.v3.HttpService`: the client's method, `path_prefix` + path and query, the
/// client's `authorization` and `host`, `headers_to_add`, the body under
/// `with_request_body`), and case 15's requests.
@Suite struct EnvoyExtAuthzTests {
    static let chatBody = #"{"model":"gpt-4o","max_tokens":4096,"messages":[{"role":"user","content":"hello"}]}"#
    static let key = HTTPField.Name("x-api-key")!
    static let account = HTTPField.Name("x-account-id")!

    static func check(_ client: some TestClientProtocol, _ path: String, method: HTTPRequest.Method = .post,
                      _ headers: HTTPFields, body: String = chatBody) async throws -> TestResponse {
        try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(string: body))
    }

    /// Case 15: the client's own Authorization, which Envoy always forwards, never shadows
    /// DistillWatch's key; without DistillWatch's key the check is 401 naming the header.
    @Test(arguments: Mode.allCases)
    func theClientsAuthorizationDoesNotShadowDistillWatchsKey(_ mode: Mode) async throws {
        try await withServer(mode) { client in
            let onlyClient = try await Self.check(client, "/distillwatch/v1/chat/completions",
                                                  [.authorization: "Bearer sk-client-placeholder-key", .contentType: "application/json"])
            #expect(onlyClient.status == .unauthorized)
            #expect(onlyClient.errorMessage.contains("x-api-key") && onlyClient.errorMessage.contains("headers_to_add"))

            let both = try await Self.check(client, "/distillwatch/v1/chat/completions",
                                            [.authorization: "Bearer sk-client-placeholder-key", Self.key: Secret.decide])
            #expect(both.status == .ok, "\(both.text)")
            #expect(both.headers[EnvoyExtAuthzRoutes.verdictHeader] == "allow")
            // No account header: the client's key is the account, by its digest, never in clear.
            let account = try #require(both.headers[EnvoyExtAuthzRoutes.accountHeader])
            #expect(account.hasPrefix("key-") && account.count == 20 && !account.contains("placeholder"))

            let underDecide = try await Self.check(client, "/v1/decide/v1/chat/completions", [Self.key: Secret.decide])
            #expect(underDecide.status == .ok)
            #expect(underDecide.headers[EnvoyExtAuthzRoutes.verdictHeader] == "unidentified")

            // The decide API itself still wants its own body, and says where Envoy belongs.
            let decide = try await client.post("/v1/decide", Secret.decide, Self.chatBody)
            #expect(decide.status == .badRequest)
            #expect(decide.errorMessage.contains("account_id") && decide.errorMessage.contains("path_prefix"))

            // A decide token is needed: an ingest token in x-api-key is 403.
            let ingest = try await Self.check(client, "/distillwatch/v1/chat/completions", [Self.key: Secret.ingest])
            #expect(ingest.status == .forbidden)
        }
    }

    /// Envoy's documented check request for a GET without a body (content-length 0), with a
    /// query, and the account header let through by `allowed_headers`.
    @Test func aBodilessCheckWithAQueryIsAllowedAndNamesTheAccount() async throws {
        try await withServer(.live) { client in
            let r = try await client.execute(
                uri: "/distillwatch/v1/models?limit=5", method: .get,
                headers: [.authorization: "Bearer sk-client", .contentLength: "0",
                          Self.key: Secret.decide, Self.account: "acct-42"])
            #expect(r.status == .ok)
            #expect(r.headers[EnvoyExtAuthzRoutes.accountHeader] == "acct-42")
            #expect(r.headers[EnvoyExtAuthzRoutes.scoreHeader] == "0.0")
        }
    }

    /// The account header twice with two values (a client's own before the one the proxy
    /// appends): the first was taken, so a client could name another account. Denied as
    /// ambiguous; the same value twice is one account.
    @Test func anAccountHeaderWithTwoValuesIsDenied() async throws {
        try await withServer(.live) { client in
            var headers: HTTPFields = [.contentLength: "0", Self.key: Secret.decide]
            headers.append(HTTPField(name: Self.account, value: "acct-victim"))
            headers.append(HTTPField(name: Self.account, value: "acct-caller"))
            let r = try await client.execute(uri: "/distillwatch/v1/models", method: .get, headers: headers)
            #expect(r.status == .forbidden)
            #expect(r.headers[EnvoyExtAuthzRoutes.verdictHeader] == "ambiguous-account")
            #expect(String(buffer: r.body).contains("x-account-id header is given twice with different values"))
            var same: HTTPFields = [.contentLength: "0", Self.key: Secret.decide]
            same.append(HTTPField(name: Self.account, value: "acct-42"))
            same.append(HTTPField(name: Self.account, value: "acct-42"))
            let ok = try await client.execute(uri: "/distillwatch/v1/models", method: .get, headers: same)
            #expect(ok.status == .ok && ok.headers[EnvoyExtAuthzRoutes.accountHeader] == "acct-42")
        }
        // The header named in the configuration as an operator may spell it.
        var c = testConfiguration()
        c.envoyAccountHeader = "X-Tenant"
        try await withServer(.router, c) { client in
            var headers: HTTPFields = [.contentLength: "0", Self.key: Secret.decide]
            headers.append(HTTPField(name: HTTPField.Name("x-tenant")!, value: "acct-victim"))
            headers.append(HTTPField(name: HTTPField.Name("x-tenant")!, value: "acct-caller"))
            let r = try await client.execute(uri: "/distillwatch/v1/models", method: .get, headers: headers)
            #expect(r.status == .forbidden && r.headers[EnvoyExtAuthzRoutes.verdictHeader] == "ambiguous-account", "\(String(buffer: r.body))")
        }
    }

    /// A blocked account is 403 with an OpenAI-style error body and the verdict headers; the
    /// check's request is learned (an exchange with its model, max_tokens and message count).
    @Test func aBlockedAccountIsDeniedAndChecksAreLearned() async throws {
        try await withServer(.router, testConfiguration(toleranceSeconds: 0)) { client in
            let first = try await Self.check(client, "/distillwatch/v1/chat/completions",
                                             [Self.key: Secret.decide, Self.account: "acct-envoy", .userAgent: "curl/8",
                                              HTTPField.Name("x-forwarded-for")!: "198.51.100.7, 10.0.0.1"])
            #expect(first.status == .ok)
            let labelled = try await client.post("/v1/accounts/acct-envoy/label", Secret.analyst, #"{"label":"confirmed_attack"}"#)
            #expect(labelled.status == .ok)
            let denied = try await Self.check(client, "/distillwatch/v1/chat/completions", [Self.key: Secret.decide, Self.account: "acct-envoy"])
            #expect(denied.status == .forbidden)
            #expect(denied.headers[EnvoyExtAuthzRoutes.verdictHeader] == "block")
            let error = denied.json["error"] as? [String: Any]
            #expect(error?["type"] as? String == "distillwatch_blocked")
            #expect((error?["message"] as? String)?.contains("confirmed by an analyst") == true)
            // The learned exchanges land (appended after each answer).
            try await eventually(client, "2 exchanges of acct-envoy", { ($0["exchanges"] as? Int) == 2 },
                                 path: "/v1/accounts/acct-envoy")
            let metrics = try await client.get("/metrics", Secret.all).text
            #expect(metrics.contains(#"distillwatch_envoy_checks_total{result="learned"} 2"#))
            #expect(metrics.contains(#"distillwatch_decisions_total{endpoint="envoy",verdict="block"} 1"#))
        }
    }

    /// An odd header (an 8 KB user agent, a 2 KB request id) must not keep a request out of
    /// its account's traffic: the value is left out and the request still counts.
    @Test func oddHeadersDoNotHideRequests() async throws {
        try await withServer(.router, testConfiguration(toleranceSeconds: 0)) { client in
            for _ in 0..<3 {
                let r = try await Self.check(client, "/distillwatch/v1/chat/completions",
                                             [Self.key: Secret.decide, Self.account: "acct-odd",
                                              .userAgent: String(repeating: "A", count: 8300),
                                              HTTPField.Name("x-request-id")!: String(repeating: "r", count: 2000)],
                                             body: #"{"model":"m","max_tokens":-5,"temperature":500}"#)
                #expect(r.status == .ok)
            }
            try await eventually(client, "3 exchanges of acct-odd", { ($0["exchanges"] as? Int) == 3 },
                                 path: "/v1/accounts/acct-odd")
        }
    }

    /// The key digest is SHA-256's (FIPS 180-4 test vector "abc": ba7816bf8f01cfea…).
    @Test func clientKeysAreNamedBySHA256() {
        #expect(ClientKeyDigest.name("abc") == "key-ba7816bf8f01cfea")
    }

    /// What a check request says about the exchange, read without the server.
    @Test func theForwardedRequestIsReadIntoAnExchange() throws {
        let body = #"{"model":"claude-x","max_tokens":32000,"system":[{"type":"text","text":"Be terse."}],"thinking":{"type":"enabled","budget_tokens":1024},"tools":[{"name":"a"},{"name":"b"}],"messages":[{"role":"user","content":[{"type":"text","text":"Think step by step."}]},{"role":"assistant","content":"Sure,"}]}"#
        var bytes = Array(body.utf8)
        let checked = bytes.withUnsafeMutableBufferPointer { b in
            EnvoyCheckRequest(path: "/distillwatch/v1/messages", prefix: "/distillwatch",
                              headers: ["x-api-key": "sk-ant-client", "x-envoy-external-address": "203.0.113.9", "x-request-id": "r-1"],
                              body: UnsafeBufferPointer(b), naming: .init(keyHeader: "x-distillwatch-key"), keepText: true,
                              keyDigest: ClientKeyDigest.name)
        }
        #expect(checked.path == "/v1/messages")
        #expect(checked.accountID == checked.apiKeyID && checked.apiKeyID?.hasPrefix("key-") == true, "an Anthropic client's x-api-key")
        let e = try #require(checked.exchange(at: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000), sketcher: nil))
        #expect(e.model == "claude-x" && e.maxTokens == 32000 && e.toolCount == 2 && e.messageCount == 2 && e.prefill == true)
        #expect(e.clientIP == "203.0.113.9" && e.requestID == "r-1")
        #expect(checked.prompt == "Think step by step." && checked.system == "Be terse.")

        // A body Envoy cut short is not read; the headers still are.
        var cut = Array(body.utf8.prefix(40))
        let partial = cut.withUnsafeMutableBufferPointer { b in
            EnvoyCheckRequest(path: "/distillwatch/v1/messages", prefix: "/distillwatch",
                              headers: ["x-account-id": "a", "x-envoy-auth-partial-body": "true"], body: UnsafeBufferPointer(b), keepText: false,
                              keyDigest: ClientKeyDigest.name)
        }
        #expect(partial.bodyUnread && partial.model == nil && partial.accountID == "a")
    }
}
