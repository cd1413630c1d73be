import HTTPTypes
import Hummingbird

/// Authenticates every request but `GET /healthz` with a bearer token, and checks the
/// token's roles against the route's.
///
/// The token comes in `Authorization: Bearer <secret>` or, for LiteLLM's Generic Guardrail
/// API (which sends its `api_key` that way), `x-api-key: <secret>`. A missing or unknown
/// token is 401; a known token without the route's role is 403.
///
/// On Envoy's ext_authz check paths (see ``EnvoyExtAuthzRoutes``) the token is read from
/// the configured key header only: there `Authorization` is the client's own credential,
/// which Envoy always forwards.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = DistillWatchRequestContext
    let tokens: TokenTable
    /// Envoy's check paths start with this (`envoy_path_prefix`) or with `/v1/decide/`.
    var envoyPrefix: String = "/distillwatch"
    /// The header Envoy puts DistillWatch's token in (`envoy_key_header`).
    var envoyKeyHeader: HTTPField.Name = BearerAuthMiddleware.apiKey

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // The console authenticates with its own session cookie (``ConsoleRoutes``); its
        // routes never read `context.token`.
        if path == "/healthz" || path == "/console" || path.hasPrefix("/console/") { return try await next(request, context) }
        let fromEnvoy = path.hasPrefix("/v1/decide/") || path == envoyPrefix || path.hasPrefix(envoyPrefix + "/")
        let secret = fromEnvoy ? request.headers[envoyKeyHeader].flatMap { $0.isEmpty ? nil : Substring($0) }
            : Self.presentedSecret(request)
        guard let presented = secret else {
            if fromEnvoy {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                                message: "missing DistillWatch token in \(envoyKeyHeader.canonicalName): add it with Envoy's "
                                    + "authorization_request.headers_to_add (the client's Authorization is the client's own key)")
            }
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "missing bearer token: send Authorization: Bearer <token>")
        }
        guard let token = tokens.token(for: presented) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""],
                            message: "unknown token")
        }
        var context = context
        context.token = token
        return try await next(request, context)
    }

    static let apiKey = HTTPField.Name("x-api-key")!

    static func presentedSecret(_ request: Request) -> Substring? {
        if let auth = request.headers[.authorization] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let secret = parts[1].drop { $0 == " " }
                return secret.isEmpty ? nil : secret
            }
            return nil
        }
        if let key = request.headers[Self.apiKey], !key.isEmpty { return Substring(key) }
        return nil
    }
}

/// Lets a request through only if its token has one of `roles`.
struct RequireRole: RouterMiddleware {
    typealias Context = DistillWatchRequestContext
    let roles: Set<Role>

    init(_ roles: Role...) {
        self.roles = Set(roles)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = context.token else {
            throw HTTPError(.unauthorized, message: "missing bearer token")
        }
        guard !token.roles.isDisjoint(with: roles) else {
            let needed = roles.map(\.rawValue).sorted().joined(separator: " or ")
            throw HTTPError(.forbidden, message: "token \"\(token.name)\" lacks the \(needed) role for \(request.method) \(request.uri.path)")
        }
        return try await next(request, context)
    }
}
