/// A place in a text file as an editor shows it: line and column, both from 1, the column
/// counted in Unicode scalars (UTF-8 continuation bytes do not advance it).
///
/// Parsers report byte offsets ("Invalid value around character 7" from Foundation's
/// `JSONSerialization`); a person looks for a line and a column.
public struct TextPosition: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    /// The position of byte `offset` (from 0) of `bytes`; an offset past the end is the
    /// position just after the last byte.
    /// - Complexity: O(offset).
    public init(ofByte offset: Int, in bytes: some Sequence<UInt8>) {
        var line = 1, column = 1
        for byte in bytes.prefix(max(0, offset)) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        self.line = line
        self.column = column
    }

    /// `line 2, column 14`.
    public var description: String { "line \(line), column \(column)" }

    /// Foundation's `JSONSerialization` message with the line and column of the byte offset
    /// it names ("…around character N."), or the message as it is when it names none.
    /// - Complexity: O(N).
    public static func locating(_ message: String, in bytes: some Sequence<UInt8>) -> String {
        let marker = Array("around character ".utf8)
        let text = Array(message.utf8)
        guard text.count > marker.count,
              let start = (0...(text.count - marker.count)).first(where: { Array(text[$0..<($0 + marker.count)]) == marker })
        else { return message }
        let digits = text[(start + marker.count)...].prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty, digits.count < 19, let offset = Int(String(decoding: digits, as: UTF8.self)) else { return message }
        let trimmed = message.hasSuffix(".") ? String(message.dropLast()) : message
        return "\(trimmed) (\(TextPosition(ofByte: offset, in: bytes)))"
    }
}
