import DistillWatchCore

/// The traffic shapes `scan --input-format` reads.
public enum InputFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Traffic format v1 (revision 1.1): one exchange record per line.
    case v1
    /// LiteLLM's `StandardLoggingPayload`, as its s3/gcs loggers and `generic_api` callback
    /// write it: one payload per line, or a JSON array of payloads per line.
    case litellm

    public var description: String { rawValue }
}

/// Decodes one line of traffic into the exchanges it holds: one for a v1 line, one or
/// more for a LiteLLM line (an array of payloads). Bad records are reported one by one,
/// so a bad element of an array costs only that element.
public enum TrafficLineDecoder: Sendable {
    case v1(ExchangeLineDecoder)
    case litellm(StandardLoggingPayloadDecoder)

    /// The decoder of `format` with the ingest options' text and sketch settings.
    public init(_ format: InputFormat, options: IngestOptions, litellmIdentity: LiteLLMIdentity = LiteLLMIdentity()) {
        switch format {
        case .v1: self = .v1(ExchangeLineDecoder(captureText: options.captureText, sketcher: options.sketcher))
        case .litellm:
            self = .litellm(StandardLoggingPayloadDecoder(
                identity: litellmIdentity, captureText: options.captureText, sketcher: options.sketcher))
        }
    }

    /// Whether prompts are sketched (the costly part of decoding).
    public var sketches: Bool {
        switch self {
        case .v1(let d): return d.sketcher != nil
        case .litellm(let d): return d.sketcher != nil
        }
    }

    /// Calls `exchange` with each record of the line and `malformed` with each error, in
    /// order. An error inside an array names the element.
    /// - Complexity: O(n) in the line length.
    @inline(__always)
    public func decode(
        _ line: UnsafeBufferPointer<UInt8>, exchange: (Exchange) -> Void, malformed: (RecordError) -> Void
    ) {
        switch self {
        case .v1(let decoder):
            do throws(RecordError) { exchange(try decoder.decode(line)) } catch { malformed(error) }
        case .litellm(let decoder):
            LiteLLMLogBatch.forEachPayload(in: line, decoder: decoder) { position, result in
                switch result {
                case .success(let e): exchange(e)
                case .failure(var error):
                    if let index = position.index { error.reason = "element \(index): " + error.reason }
                    malformed(error)
                }
            }
        }
    }
}
