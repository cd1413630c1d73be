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
