import DistillWatchCore

/// What DistillWatch takes from an OpenAI-style `messages` array (chat completions, and the
/// LiteLLM payloads that carry one): how many messages, the role of the last, the text of
/// the last user message (the prompt of spec §1) and of the system messages.
///
/// `content` may be a string or a list of parts (`{"type": "text", "text": ...}`, images,
/// files); text parts are joined with a newline and other parts are skipped unread. The
/// OpenTelemetry GenAI form (`gen_ai.input.messages`: `{"role": ..., "parts": [{"type":
/// "text", "content": ...}]}`, semantic conventions 1.37+) is read the same way.
/// Text is kept only when asked for (to sketch it or to capture it): a 300 KB paste costs a
/// scan over its bytes, not a copy.
struct ChatMessages {
    var count = 0
    var lastRole: String?
    /// The last `user` message's text, when ``read(_:field:keepText:)`` keeps text.
    var lastUserText: String?
    /// The `system` (or `developer`) messages' text, joined.
    var systemText: String?
    /// Whether any message had text: presence is recorded even when text is not kept.
    var sawUserText = false

    /// The request ends with an assistant turn: the client wrote the start of the answer.
    var endsWithAssistant: Bool { lastRole == "assistant" }

    /// Reads the array at the scanner's position. `null` is no messages; a plain string
    /// (a text completion's `prompt`) is one user message.
    /// - Throws: ``RecordError`` naming `field` for a value of the wrong shape.
    /// - Complexity: O(bytes of the array).
    static func read(_ s: inout JSONScanner, field: String, keepText: Bool) throws(RecordError) -> ChatMessages {
        var m = ChatMessages()
        if s.peek() == 0x22 {
            m.count = 1
            m.lastRole = "user"
            m.sawUserText = true
            if keepText { m.lastUserText = try s.readString() } else { try s.skipString() }
            return m
        }
        let contentField = "\(field).content"  // once per array, not per message
        try s.forEachElement(field) { (_, s) throws(RecordError) in
            var role: String?
            var text: String?
            var sawText = false
            try s.forEachNestedMember(field) { (key, s) throws(RecordError) in
                if keyEquals(key, "role") {
                    role = try s.optionalString("role")
                } else if keyEquals(key, "content") || keyEquals(key, "parts") {
                    // Keep text only while the role is unknown or user/system: the role
                    // usually comes first, so an assistant's long answer is skipped.
                    let wanted = keepText && (role == nil || role == "user" || role == "system" || role == "developer")
                    let (t, saw) = try readContent(&s, field: contentField, keepText: wanted)
                    text = t
                    sawText = saw
                } else {
                    try s.skipValue()
                }
            }
            m.count += 1
            m.lastRole = role
            switch role {
            case "user":
                m.lastUserText = text
                m.sawUserText = m.sawUserText || sawText
            case "system", "developer":
                if let text { m.systemText = m.systemText.map { $0 + "\n" + text } ?? text }
            default:
                break
            }
        }
        return m
    }

    /// A message's `content`: a string, a list of parts, or null. Returns the text (when
    /// kept) and whether there was any.
    static func readContent(
        _ s: inout JSONScanner, field: String, keepText: Bool
    ) throws(RecordError) -> (String?, Bool) {
        if s.consumeNull() { return (nil, false) }
        if s.peek() == 0x22 {
            if keepText { return (try s.readString(), true) }
            try s.skipString()
            return (nil, true)
        }
        var parts: [String] = []
        var saw = false
        try s.forEachElement(field) { (_, s) throws(RecordError) in
            if s.peek() == 0x22 {
                saw = true
                if keepText { parts.append(try s.readString()) } else { try s.skipString() }
                return
            }
            var isText = false
            var text: String?
            // An OTel GenAI text part holds its text in `content`; other blocks may have a
            // `content` too (Anthropic's tool_result), so it counts only in a text part.
            var partContent: String?
            try s.forEachNestedMember(field) { (key, s) throws(RecordError) in
                if keyEquals(key, "type") {
                    isText = (try s.optionalString("type")) == "text"
                } else if keyEquals(key, "text"), s.peek() == 0x22 {
                    saw = true
                    if keepText { text = try s.readString() } else { try s.skipString() }
                } else if keyEquals(key, "content"), s.peek() == 0x22 {
                    partContent = keepText ? try s.readString() : ""
                    if !keepText { try s.skipString() }
                } else {
                    try s.skipValue()
                }
            }
            if isText, text == nil, let partContent {
                saw = true
                if keepText { parts.append(partContent) }
            }
            if let text { parts.append(text) }
        }
        return (keepText && !parts.isEmpty ? parts.joined(separator: "\n") : nil, saw)
    }
}
