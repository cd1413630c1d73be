import Hummingbird

/// Per-request data: the authenticated token, set by ``BearerAuthMiddleware``.
public struct DistillWatchRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token the request presented; `nil` before authentication and on `/healthz`.
    public var token: AccessToken?

    public init(source: Source) {
        coreContext = .init(source: source)
        token = nil
    }

    /// Bodies are read with explicit limits per route (see ``RequestBodyLimits``).
    public var maxUploadSize: Int { 64 * 1024 }
}
