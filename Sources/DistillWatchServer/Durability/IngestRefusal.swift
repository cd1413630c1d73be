import HTTPTypes
import Hummingbird

/// Why a batch was refused before it was written: nothing of it was accepted, and the
/// client should retry after `retryAfterSeconds`.
struct IngestRefusal: Error, CustomStringConvertible, Sendable {
    enum Reason: Sendable {
        /// The store cannot take writes (``StorageHealth``): 503.
        case storage
        /// ``ServerConfiguration/maxPendingBatches`` batches already wait: 429.
        case busy
    }

    var reason: Reason
    var description: String
    var retryAfterSeconds = 1

    var status: HTTPResponse.Status { reason == .storage ? .serviceUnavailable : .tooManyRequests }

    /// The answer for a JSON route: the status, the reason and `Retry-After`.
    var httpError: HTTPError {
        HTTPError(status, headers: [.retryAfter: "\(retryAfterSeconds)"], message: description)
    }
}
