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
/// problem.
func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    guard buffer.readableBytes > 0 else {
        throw HTTPError(.badRequest, message: "empty body: expected a JSON object")
    }
    do {
        return try JSONDecoder().decode(T.self, from: buffer)
    } catch let error as DecodingError {
        throw HTTPError(.badRequest, message: describe(error))
    } catch {
        throw HTTPError(.badRequest, message: "malformed JSON: \(error)")
    }
}

private func describe(_ error: DecodingError) -> String {
    func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context):
        let at = path(context.codingPath + [key])
        return "field \"\(at)\": missing required field"
    case .typeMismatch(let type, let context):
        return "field \"\(path(context.codingPath))\": should be \(describe(type))"
    case .valueNotFound(let type, let context):
        return "field \"\(path(context.codingPath))\": should be \(describe(type)), not null"
    case .dataCorrupted(let context):
        if context.codingPath.isEmpty {
            return "malformed JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
        }
        return "field \"\(path(context.codingPath))\": \(context.debugDescription)"
    @unknown default:
        return "malformed JSON"
    }
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Int.Type, is Int64.Type: return "an integer"
    case is Double.Type: return "a number"
    case is Bool.Type: return "true or false"
    default:
        let name = "\(type)"
        if name.hasPrefix("Dictionary") || name.hasPrefix("KeyedDecodingContainer") { return "an object" }
        if name.hasPrefix("Array") || name.hasPrefix("UnkeyedDecodingContainer") { return "an array" }
        return "an object"
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

/// Calls `body` with each non-blank line of NDJSON and its number (from 1, counting blank
/// lines, as `scan` numbers lines in a file); a trailing `\r` is dropped.
/// - Complexity: O(n) in the buffer size.
func forEachLine(in buffer: ByteBuffer, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
    try buffer.withUnsafeReadableBytes { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        var start = 0
        var number = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n, bytes[end] != 0x0A { end += 1 }
            number += 1
            var stop = end
            if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<stop])
            if line.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                try body(number, line)
            }
            start = end + 1
        }
    }
}
