import Foundation

/// Why a request body was refused: a message that names the field and the problem.
public struct BodyError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Decodes JSON request bodies with Foundation's `JSONDecoder`, turning its errors into
/// messages that name the field (`field "request_data.user_api_key_org_id": should be a
/// string`).
public enum JSONBodyDecoder {
    /// - Throws: ``BodyError`` for an empty body, malformed JSON, or a field of the wrong type.
    /// - Complexity: O(n) in the body size.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws(BodyError) -> T {
        guard bytes.count > 0 else { throw BodyError("empty body: expected a JSON object") }
        if let repeated = repeatedName(in: bytes) {
            throw BodyError("field \"\(repeated)\": given more than once (each name once, RFC 7493 §2.3: "
                + "parsers differ on which of the two they read)")
        }
        let decoded: T
        do {
            decoded = try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw BodyError(describe(error))
        } catch {
            throw BodyError("malformed JSON: \(error)")
        }
        if let closed = T.self as? any ClosedRequestBody.Type {
            // Every member is looked at, so a body the decoder read but that cannot be listed
            // (a number past a double's range under a name it skipped) is refused, not let
            // through unchecked.
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw BodyError("a value in the body cannot be read (a number past ±1.8e308?)")
            }
            let known = closed.fieldNames
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw BodyError("field \"\(unknown)\": unknown (known: \(known.joined(separator: ", ")))")
            }
            if let empty = object.keys.sorted().first(where: { object[$0] is NSNull }) {
                throw BodyError("field \"\(empty)\": null; give a value, or leave the field out for its default")
            }
        }
        return decoded
    }
}

/// A request body whose every member name is known: one it does not know (a typo such as
/// `verifed`, which would leave `verified` at its default) is refused, and so is a `null`
/// member (which Foundation's decoder reads as absent, so as the default). Analysts' requests
/// are closed; bodies gateways send (`/v1/decide`, traffic) stay open to fields they add.
public protocol ClosedRequestBody: Decodable {
    /// The member names the body may carry, in the order an error lists them.
    static var fieldNames: [String] { get }
}

/// The path of the first member name the body gives twice (``JSONScanner/skipValueFindingRepeatedName(path:depth:)``);
/// `nil` when there is none, and for malformed JSON, which Foundation then reports.
private func repeatedName(in raw: UnsafeRawBufferPointer) -> String? {
    let bytes = raw.bindMemory(to: UInt8.self)
    var scanner = JSONScanner(bytes)
    // A byte order mark, which Foundation's decoder skips too.
    if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { scanner.position = 3 }
    return (try? scanner.skipValueFindingRepeatedName()) ?? nil
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

/// The lines of an NDJSON body (one JSON object per line, as `/v1/exchanges` and
/// `/v1/accounts` take).
public enum NDJSONLines {
    /// Calls `body` with each non-blank line and its number (from 1, counting blank lines,
    /// as `scan` numbers lines in a file); a trailing `\r` is dropped.
    /// - Complexity: O(n) in the body size.
    public static func forEach(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
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
