import DistillWatchCore
import Hummingbird

extension DistillWatchRequestContext {
    /// A path parameter as the user wrote it: percent-decoded (RFC 3986 §2.1), so an
    /// account id with a space, `/`, or non-ASCII letters (`acct-%C3%BC`) names the same
    /// account as in the records, and checked against the identifier limits of
    /// ``RecordLimits``.
    /// - Throws: `HTTPError` 400 naming the parameter when the encoding is invalid (a
    ///   stray `%`, or bytes that are not UTF-8) or the id is empty or too long.
    func identifier(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw HTTPError(.badRequest, message: "path parameter \"\(name)\": invalid percent-encoding in \"\(raw)\" (RFC 3986 §2.1: %XX, UTF-8)")
        }
        if let problem = RecordLimits.problem(identifier: decoded, field: name) {
            throw HTTPError(.badRequest, message: "path parameter \(problem)")
        }
        return decoded
    }
}
