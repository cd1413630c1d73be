import Hummingbird

/// Answers a request for a path no route serves with a 404 that says so, instead of an
/// empty body. Mounted after authentication, so without a token an unknown path is a 401
/// like any other: nothing reveals what exists to a caller without a token.
struct RouteNotFoundMiddleware: RouterMiddleware {
    typealias Context = DistillWatchRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && (error.body ?? "").isEmpty {
            throw HTTPError(.notFound, message: "no route for \(request.method) \(request.uri.path) (the endpoints are listed in Documentation/Server.md)")
        }
    }
}
