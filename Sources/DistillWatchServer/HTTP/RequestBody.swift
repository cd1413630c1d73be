import DistillWatchIngest
import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Reads the whole body, refusing more than `limit` bytes with 413 and a message naming
    /// the limit (checked against Content-Length first, so an oversize body is refused
    /// before it is read).
    func collectBody(limit: Int, setting: String) async throws -> ByteBuffer {
        let tooLarge = HTTPError(.contentTooLarge,
                                 message: "request body larger than \(limit) bytes (the server's \(setting)); split it into smaller batches")
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }
}

/// Decodes a JSON body, turning decoding errors into 400s that name the field and the
/// problem (see ``JSONBodyDecoder``).
func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    do {
        return try buffer.withUnsafeReadableBytes { raw throws(BodyError) in try JSONBodyDecoder.decode(T.self, from: raw) }
    } catch {
        throw HTTPError(.badRequest, message: error.message)
    }
}

/// A Codable value answered as JSON.
struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator {
    var value: Value
    var status: HTTPResponse.Status = .ok

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = try encoder.encode(value)
        var buffer = ByteBuffer()
        buffer.writeBytes(data)
        buffer.writeInteger(UInt8(ascii: "\n"))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}

/// Calls `body` with each non-blank line of an NDJSON body (see ``NDJSONLines``).
func forEachLine(in buffer: ByteBuffer, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
    try buffer.withUnsafeReadableBytes { raw in
        try NDJSONLines.forEach(in: raw.bindMemory(to: UInt8.self), body)
    }
}

/// The `Content-Encoding` of an NDJSON ingest body (`/v1/exchanges`, `/v1/accounts`):
/// none or gzip (RFC 9110, section 8.4; `x-gzip` is gzip's old name).
enum IngestBodyEncoding: Sendable {
    case identity
    case gzip

    /// - Throws: 415 naming the encoding, for any other (a body the server cannot read
    ///   would otherwise be parsed as text and every line rejected for its bytes).
    init(of request: Request) throws {
        let value = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        switch value {
        case "", "identity": self = .identity
        case "gzip", "x-gzip": self = .gzip
        default:
            throw HTTPError(.unsupportedMediaType, message: "Content-Encoding \"\(value)\" is not supported: send gzip or no encoding")
        }
    }

    /// The body as its lines were written: inflated when gzip, at most `limit` bytes.
    /// - Throws: 413 when the inflated body is larger than `limit` (the server's `setting`),
    ///   400 when it is not valid gzip. - Complexity: O(inflated bytes).
    func decoded(_ body: ByteBuffer, limit: Int, setting: String) throws -> ByteBuffer {
        guard self == .gzip else { return body }
        do throws(GzipBody.Failure) {
            let inflated = try body.withUnsafeReadableBytes { raw throws(GzipBody.Failure) in try GzipBody.inflate(raw, limit: limit) }
            return ByteBuffer(bytes: inflated)
        } catch {
            throw error.tooLarge
                ? HTTPError(.contentTooLarge, message: "\(error.description) (the server's \(setting)); split it into smaller batches")
                : HTTPError(.badRequest, message: "Content-Encoding gzip: \(error.description)")
        }
    }
}
