extension Timestamp: Codable {
    /// Decodes RFC 3339 text or integer epoch milliseconds, the two v1 time encodings.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let ms = try? container.decode(Int64.self) {
            self.init(millisecondsSinceEpoch: ms)
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not an RFC 3339 time with an offset: \(text)")
        }
        self = parsed
    }

    /// Encodes as RFC 3339 in UTC with milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}
