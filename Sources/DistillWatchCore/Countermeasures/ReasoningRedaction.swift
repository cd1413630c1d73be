/// Reasoning written inline in an answer's text, as open-weight reasoning models served
/// through OpenAI-compatible APIs do (`<think>…</think>`, DeepSeek-R1 and Qwen3; also
/// `<thinking>` and `<reasoning>`), found and replaced: what a gateway that sees only
/// texts (LiteLLM's Generic Guardrail API in `post_call`) can do for `withhold_reasoning`
/// and `summarize_reasoning`. Reasoning in its own field (`reasoning_content`, thinking
/// blocks) is the custom guardrail's job.
public enum ReasoningRedaction {
    /// One text's reasoning, removed.
    public struct Result: Sendable, Equatable {
        /// The text with each reasoning block replaced.
        public var text: String
        /// The reasoning removed, blocks joined by a blank line, without the tags.
        public var reasoning: String
        /// How many blocks were found.
        public var blocks: Int
    }

    static let tags = ["think", "thinking", "reasoning"]

    /// Replaces every reasoning block of `text` with `replacement` (tags matched
    /// case-insensitively; an opening tag never closed, as in an answer cut at
    /// `max_tokens`, runs to the end of the text).
    /// - Returns: nil when the text holds no reasoning block.
    /// - Complexity: O(n) in the text's UTF-8 length per tag name.
    public static func redact(_ text: String, replacement: (String) -> String) -> Result? {
        var bytes = Array(text.utf8)
        var removed: [String] = []
        var searchFrom = 0
        while let (open, openEnd, name) = firstOpening(in: bytes, from: searchFrom) {
            let close = "</\(name)>".utf8.map { $0 }
            let closeStart = find(close, in: bytes, from: openEnd, caseInsensitive: true)
            let blockEnd = closeStart.map { $0 + close.count } ?? bytes.count
            let inner = String(decoding: bytes[openEnd..<(closeStart ?? bytes.count)], as: UTF8.self)
            let trimmed = String(inner.trimmingWhitespace)
            removed.append(trimmed)
            let substitute = Array(replacement(trimmed).utf8)
            bytes.replaceSubrange(open..<blockEnd, with: substitute)
            searchFrom = open + substitute.count
        }
        guard !removed.isEmpty else { return nil }
        return Result(text: String(decoding: bytes, as: UTF8.self), reasoning: removed.joined(separator: "\n\n"),
                      blocks: removed.count)
    }

    private static func firstOpening(in bytes: [UInt8], from start: Int) -> (Int, Int, String)? {
        var best: (Int, Int, String)?
        for name in tags {
            let open = "<\(name)>".utf8.map { $0 }
            if let at = find(open, in: bytes, from: start, caseInsensitive: true), best == nil || at < best!.0 {
                best = (at, at + open.count, name)
            }
        }
        return best
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from start: Int, caseInsensitive: Bool) -> Int? {
        guard needle.count <= hay.count, start <= hay.count - needle.count else { return nil }
        var i = start
        while i <= hay.count - needle.count {
            var j = 0
            while j < needle.count, lower(hay[i + j]) == needle[j] { j += 1 }
            if j == needle.count { return i }
            i += 1
        }
        return nil
    }

    @inline(__always) private static func lower(_ b: UInt8) -> UInt8 {
        (b >= 0x41 && b <= 0x5A) ? b + 0x20 : b
    }
}
