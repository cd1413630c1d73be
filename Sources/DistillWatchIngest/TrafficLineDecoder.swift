import DistillWatchCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The traffic shapes `scan --input-format` reads.
public enum InputFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Recognised per file from its first line (``InputFormatRecognition``); `scan`'s default.
    case auto
    /// Traffic format v1 (revision 1.1): one exchange record per line.
    case v1
    /// LiteLLM's `StandardLoggingPayload`, as its s3/gcs loggers and `generic_api` callback
    /// write it: one payload per line, or a JSON array of payloads per line.
    case litellm
    /// OTLP traces in OTLP/JSON, one `ExportTraceServiceRequest` per line, as the
    /// OpenTelemetry file exporters write them; each GenAI span is an exchange
    /// (``OTLPTraceReader``).
    case otlp
    /// OpenAI Batch API output files (``OpenAIBatchReader``).
    case openaiBatch = "openai-batch"
    /// Helicone request exports, one request per line (``HeliconeExportReader``).
    case helicone
    /// Langfuse observation exports (JSONL) and API rows; each generation is an exchange
    /// (``LangfuseExportReader``).
    case langfuse
    /// Rows of the OpenTelemetry Collector's ClickHouse exporter table `otel_traces`
    /// (JSONEachRow); each GenAI span is an exchange (``OTelTracesRowReader``).
    case otelTraces = "otel-traces"

    public var description: String { rawValue }
}

/// Decodes one line of traffic into the exchanges it holds: one for a v1 line, one or
/// more for a LiteLLM line (an array of payloads). Bad records are reported one by one,
/// so a bad element of an array costs only that element.
public enum TrafficLineDecoder: Sendable {
    case v1(ExchangeLineDecoder)
    case litellm(StandardLoggingPayloadDecoder)
    case otlp(OTLPTraceReader)
    case openaiBatch(OpenAIBatchReader)
    case helicone(HeliconeExportReader)
    case langfuse(LangfuseExportReader)
    case otelTraces(OTelTracesRowReader)

    /// The decoder of `format` with the ingest options' text and sketch settings.
    public init(_ format: InputFormat, options: IngestOptions, gateways: GatewayOptions = GatewayOptions()) {
        var v1 = ExchangeLineDecoder(captureText: options.captureText, sketcher: options.sketcher)
        v1.integerBooleans = options.integerBooleans
        switch format {
        case .v1, .auto: self = .v1(v1)
        case .litellm:
            self = .litellm(StandardLoggingPayloadDecoder(
                identity: gateways.litellmIdentity, captureText: options.captureText, sketcher: options.sketcher))
        case .otlp: self = .otlp(OTLPTraceReader(accountAttributes: gateways.otlpAccountAttributes, decoder: v1))
        case .openaiBatch:
            self = .openaiBatch(OpenAIBatchReader(accountID: gateways.openaiBatchAccount, batchID: gateways.openaiBatchID,
                                                  requests: gateways.openaiBatchRequests, decoder: v1))
        case .helicone: self = .helicone(HeliconeExportReader(decoder: v1))
        case .langfuse: self = .langfuse(LangfuseExportReader(decoder: v1))
        case .otelTraces:
            self = .otelTraces(OTelTracesRowReader(otlp: OTLPTraceReader(accountAttributes: gateways.otlpAccountAttributes, decoder: v1)))
        }
    }

    /// Whether prompts are sketched (the costly part of decoding).
    public var sketches: Bool {
        switch self {
        case .v1(let d): return d.sketcher != nil
        case .litellm(let d): return d.sketcher != nil
        case .otlp(let r): return r.decoder.sketcher != nil
        case .openaiBatch(let r): return r.decoder.sketcher != nil
        case .helicone(let r): return r.decoder.sketcher != nil
        case .langfuse(let r): return r.decoder.sketcher != nil
        case .otelTraces(let r): return r.otlp.decoder.sketcher != nil
        }
    }

    /// `[` or `{` when that is all the line holds but whitespace, else `nil`.
    static func onlyAnOpeningBracket(_ line: UnsafeBufferPointer<UInt8>) -> UInt8? {
        var found: UInt8?
        for b in line {
            switch b {
            case 0x20, 0x09, 0x0D, 0x0A: continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                guard found == nil else { return nil }
                found = b
            default: return nil
            }
        }
        return found
    }

    /// Calls `exchange` with each record of the line and `malformed` with each error, in
    /// order. An error inside an array names the element.
    /// - Complexity: O(n) in the line length.
    @inline(__always)
    public func decode(
        _ line: UnsafeBufferPointer<UInt8>, exchange: (consuming Exchange) -> Void, malformed: (RecordError) -> Void
    ) {
        // A line that is only "[" or "{": JSON written over several lines (a pretty-printed
        // LiteLLM array), which a file of JSON Lines cannot hold; said so, not "element 0:
        // should be an object".
        if line.count <= 4, let opened = Self.onlyAnOpeningBracket(line) {
            malformed(RecordError("the line holds only \"\(Character(Unicode.Scalar(opened)))\": a JSON value written over several lines; "
                                  + "a file holds one record (or one LiteLLM array) per line (JSON Lines): write each on one line (jq -c)"))
            return
        }
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
        case .openaiBatch(let reader):
            do throws(RecordError) { exchange(try reader.decode(line)) } catch { malformed(error) }
        case .helicone(let reader):
            do throws(RecordError) { exchange(try reader.decode(line)) } catch { malformed(error) }
        case .langfuse(let reader):
            do throws(RecordError) {
                if let e = try reader.decode(line) { exchange(e) }  // other observation types are skipped
            } catch { malformed(error) }
        case .otelTraces(let reader):
            do throws(RecordError) {
                if let e = try reader.decode(line) { exchange(e) }  // spans that are not model calls are skipped
            } catch { malformed(error) }
        case .otlp(let reader):
            let request: OTLPTraceReader.Request
            do throws(RecordError) {
                request = try OTLPTraceReader.request(from: UnsafeRawBufferPointer(line), encoding: .json)
            } catch {
                malformed(error)
                return
            }
            reader.forEachSpan(in: request, encoding: .json) { position, result in
                switch result {
                case .success(let e): exchange(e)
                case .failure(var error):
                    error.reason = "\(position): " + error.reason
                    malformed(error)
                }
            }
        }
    }
}

/// What `scan --input-format auto` and the server's gateway routes need beyond the ingest
/// options: how each gateway names the account.
public struct GatewayOptions: Sendable {
    /// LiteLLM: which identity field is the account (`--litellm-account-fields`).
    public var litellmIdentity: LiteLLMIdentity
    /// OTLP: the span attributes naming the account (`--otlp-account-attribute`).
    public var otlpAccountAttributes: [String]
    /// OpenAI Batch: the account of the batch's requests (`--openai-batch-account`).
    public var openaiBatchAccount: String?
    /// OpenAI Batch: the batch's id (`--openai-batch-id`); `scan` uses the file's name without it.
    public var openaiBatchID: String?
    /// OpenAI Batch: the input file's requests by `custom_id` (`--openai-batch-input`).
    public var openaiBatchRequests: [String: OpenAIBatchRequest]

    public init(litellmIdentity: LiteLLMIdentity = LiteLLMIdentity(),
                otlpAccountAttributes: [String] = OTLPTraceReader.defaultAccountAttributes,
                openaiBatchAccount: String? = nil, openaiBatchID: String? = nil,
                openaiBatchRequests: [String: OpenAIBatchRequest] = [:]) {
        self.litellmIdentity = litellmIdentity
        self.otlpAccountAttributes = otlpAccountAttributes
        self.openaiBatchAccount = openaiBatchAccount
        self.openaiBatchID = openaiBatchID
        self.openaiBatchRequests = openaiBatchRequests
    }
}

extension InputFormat {
    /// The formats `auto` tells apart, in the order their shapes are listed in errors.
    public static let recognisable: [InputFormat] = [.v1, .litellm, .otlp, .openaiBatch, .helicone, .langfuse, .otelTraces]

    /// What one record of the format is called, in messages ("none of its lines holds …").
    public var recordNoun: String {
        switch self {
        case .auto, .v1: return "an exchange record"
        case .litellm: return "a LiteLLM logging payload"
        case .otlp: return "a usable GenAI span"
        case .openaiBatch: return "a usable OpenAI Batch output line"
        case .helicone: return "a usable Helicone request"
        case .langfuse: return "a usable Langfuse generation"
        case .otelTraces: return "a usable GenAI span row"
        }
    }

    /// The shape that tells the format, for the error naming the formats tried.
    public var shape: String {
        switch self {
        case .auto: return "any of these"
        case .v1: return "an object with time and account_id"
        case .litellm: return "LiteLLM's StandardLoggingPayload, or an array of them"
        case .otlp: return "an OTLP/JSON ExportTraceServiceRequest, with resourceSpans"
        case .openaiBatch: return "an OpenAI Batch line, with custom_id and response"
        case .helicone: return "a Helicone request, with request_created_at"
        case .langfuse: return "a Langfuse observation, with traceId and startTime"
        case .otelTraces: return "an otel_traces row, with Timestamp and SpanAttributes"
        }
    }
}

/// `--input-format auto`: the format of a traffic file, recognised from its first line.
public enum InputFormatRecognition {
    /// What was chosen and why, for the note `scan` prints.
    public struct Choice: Sendable, Equatable {
        public var format: InputFormat
        public var line: Int
    }

    /// The format of `source`, from its first line in a known format: a LiteLLM
    /// `StandardLoggingPayload` (or an array of them) has `startTime`, `litellm_call_id`
    /// or `model_parameters` at its top level; a v1 record has `time` and `account_id`.
    /// - Throws: ``IngestError`` naming the file and the formats tried when the line is
    ///   neither (or not JSON), and when the source cannot be read. Standard input, a pipe
    ///   (`<(zcat …)`) or a FIFO cannot be read twice, so it is v1 unless `--input-format`
    ///   says otherwise (``Choice/line`` is then 0).
    /// - Complexity: reads the first ``linesTried`` lines at most.
    public static func recognise(_ source: InputSource) throws -> Choice {
        guard case .file(let path) = source, isRegularFile(path) else { return Choice(format: .v1, line: 0) }
        struct Found: Error { var choice: Choice }
        var reader = LineReader(source)
        var lines = 0
        do {
            try reader.forEachLine { number, bytes in
                lines = number
                if let format = recognise(line: bytes) { throw Found(choice: Choice(format: format, line: number)) }
                if number >= linesTried { throw Found(choice: Choice(format: .auto, line: number)) }
            }
        } catch let found as Found where found.choice.format != .auto {
            return found.choice
        } catch is Found {
        }
        guard lines > 0 else { throw IngestError(source: source.description, "is empty: no exchange records") }
        let which = lines == 1 ? "its one line is in none of the formats tried"
            : "none of its first \(min(lines, linesTried)) lines is in a format tried"
        throw IngestError(source: source.description,
                          "\(which): "
                          + InputFormat.recognisable.map { "\($0) (\($0.shape))" }.joined(separator: ", ")
                          + "; choose one with --input-format")
    }

    /// Whether `path` is a regular file (which can be read again from its start); a missing
    /// file counts as one, so that reading it reports the error.
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return true }
        return (st.st_mode & S_IFMT) == S_IFREG
    }

    /// How many lines are tried before a file is declared in no known format: a file may
    /// open with a few bad lines, which the scan then reports one by one.
    public static let linesTried = 64

    /// The format one line is in, or `nil`.
    static func recognise(line bytes: UnsafeBufferPointer<UInt8>) -> InputFormat? {
        var s = JSONScanner(bytes)
        var keys: Set<String> = []
        func collect(_ s: inout JSONScanner) throws(RecordError) {
            try s.forEachNestedMember("record") { (key, s) throws(RecordError) in
                keys.insert(String(decoding: key, as: UTF8.self))
                try s.skipValue(depth: 2)
            }
        }
        do throws(RecordError) {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { s.position = 3 }
            s.skipWhitespace()
            if s.peek() == UInt8(ascii: "[") {
                try s.forEachElement("records") { (index, s) throws(RecordError) in
                    if index == 0 { try collect(&s) } else { try s.skipValue(depth: 1) }
                }
            } else {
                try collect(&s)
            }
        } catch {
            if keys.isEmpty { return nil }
        }
        if keys.contains("resourceSpans") || keys.contains("resource_spans") { return .otlp }
        if keys.contains("SpanAttributes"), keys.contains("Timestamp") { return .otelTraces }
        // Before LiteLLM's, whose payloads also have a startTime (but a trace_id, not traceId).
        if keys.contains("traceId"), keys.contains("startTime") || keys.contains("usageDetails") { return .langfuse }
        if keys.contains("custom_id"), keys.contains("response") || keys.contains("error") || keys.contains("body") { return .openaiBatch }
        if keys.contains("request_created_at") || keys.contains("helicone_user") { return .helicone }
        if keys.contains("startTime") || keys.contains("litellm_call_id") || keys.contains("model_parameters") { return .litellm }
        if keys.contains("time") && keys.contains("account_id") { return .v1 }
        return nil
    }
}
