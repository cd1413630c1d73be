import DistillWatchCore

/// Cuts what LiteLLM's logging callbacks send into payloads: the body of a `generic_api`
/// callback in any of its three `log_format`s (`json_array`, the default: one JSON array
/// of payloads; `ndjson`: one payload per line; `single`: one payload), or one line of a
/// file written by the s3/gcs loggers (an object, or an array of objects).
///
/// The input is read as a sequence of JSON values separated by whitespace, each a payload
/// object or an array of them, so one reader takes every format and a mix of them. A value
/// that is not well-formed JSON is reported and reading resumes at the next line (an
/// `ndjson` batch loses only its bad line).
public enum LiteLLMLogBatch {
    /// One payload's place in the input, for error messages: its line (1-based) and, in
    /// an array, its index (0-based).
    public struct Position: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var index: Int?
        public var description: String { index.map { "line \(line), element \($0)" } ?? "line \(line)" }
    }

    /// Calls `payload` with each payload's position and decoded exchange or error, in input
    /// order.
    /// - Complexity: O(n) in the bytes.
    public static func forEachPayload(
        in bytes: UnsafeBufferPointer<UInt8>, decoder: StandardLoggingPayloadDecoder,
        _ payload: (Position, Result<Exchange, RecordError>) -> Void
    ) {
        if let bad = JSONScanner.firstInvalidUTF8(bytes) {
            let line = lineNumber(bytes, at: bad, from: 0, startingAt: 1)
            payload(Position(line: line, index: nil),
                    .failure(RecordError("invalid UTF-8 at byte \(bad + 1) of the body (payloads must be UTF-8, RFC 8259 §8.1)")))
            return
        }
        var s = JSONScanner(bytes)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { s.position = 3 }
        var line = 1
        var counted = 0
        func lineAt(_ position: Int) -> Int {
            line = lineNumber(bytes, at: position, from: counted, startingAt: line)
            counted = position
            return line
        }
        while true {
            s.skipWhitespace()
            guard let c = s.peek() else { return }
            let here = Position(line: lineAt(s.position), index: nil)
            if c == UInt8(ascii: "[") {
                // An element that is not well-formed JSON breaks the rest of the array: it is
                // reported once, as that element, and reading resumes at the next line.
                var reported = false
                do throws(RecordError) {
                    try s.forEachElement("payloads") { (index, s) throws(RecordError) in
                        let position = Position(line: lineAt(s.position), index: index)
                        let start = s.position
                        do throws(RecordError) {
                            payload(position, .success(try decoder.decode(&s, topLevel: false)))
                        } catch {
                            payload(position, .failure(error))
                            reported = true
                            // The element may have stopped midway: skip what is left of it.
                            s.position = start
                            try s.skipValue(depth: 1)
                            reported = false
                        }
                    }
                } catch {
                    if !reported {
                        payload(here, .failure(RecordError("the array of payloads is not well-formed JSON: \(error.reason)")))
                    }
                    resync(&s)
                }
            } else if c == UInt8(ascii: "{") {
                let start = s.position
                do throws(RecordError) {
                    payload(here, .success(try decoder.decode(&s, topLevel: false)))
                } catch {
                    payload(here, .failure(error))
                    s.position = start
                    do throws(RecordError) { try s.skipValue() } catch { resync(&s) }
                }
            } else {
                payload(here, .failure(RecordError("expected a LiteLLM logging payload (a JSON object) or an array of them")))
                resync(&s)
            }
        }
    }

    /// Moves past the next newline (or to the end).
    private static func resync(_ s: inout JSONScanner) {
        while let c = s.peek() {
            s.position += 1
            if c == 0x0A { return }
        }
    }

    private static func lineNumber(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int, from: Int, startingAt line: Int) -> Int {
        var n = line
        var i = from
        while i < position { if bytes[i] == 0x0A { n += 1 }; i += 1 }
        return n
    }
}
