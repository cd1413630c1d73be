import DistillWatchCore

/// How input problems are handled.
public struct IngestOptions: Sendable {
    /// Stop at the first malformed line instead of counting it and going on.
    public var strict: Bool
    /// Materialise `system`, `prompt` and `response` text (content signals need it).
    public var captureText: Bool
    /// How many malformed lines are kept with their details (all are counted).
    public var malformedLinesKept: Int
    /// Decode on a second thread while the engine runs on the caller's (same results).
    public var decodeInParallel: Bool
    /// Reduce prompts to content sketches at ingest (content signals); `nil` turns content
    /// signals off.
    public var sketcher: ContentSketcher?
    /// The shape of the traffic inputs.
    public var inputFormat: InputFormat
    /// How gateways' own formats name accounts (LiteLLM identities, OTLP attributes, …).
    public var gateways: GatewayOptions
    /// Read the integers 0 and 1 as false and true in boolean fields of v1 records: what a
    /// database without a boolean type writes (ClickHouse before 21.12 stores `UInt8`).
    /// Off for files, which must follow the format.
    public var integerBooleans = false
    /// Accept a traffic input with no line at all: a database query whose window or shard
    /// holds no exchange (a shard that owns no account still finishes). Files must not be empty.
    public var allowsEmptyInput = false

    public init(strict: Bool = false, captureText: Bool = false, malformedLinesKept: Int = 1000,
                decodeInParallel: Bool = true, sketcher: ContentSketcher? = nil,
                inputFormat: InputFormat = .v1, gateways: GatewayOptions = GatewayOptions()) {
        self.inputFormat = inputFormat
        self.gateways = gateways
        self.strict = strict
        self.captureText = captureText
        self.malformedLinesKept = malformedLinesKept
        self.decodeInParallel = decodeInParallel
        self.sketcher = sketcher
    }
}

/// What reading the inputs produced besides the records themselves.
public struct IngestStatistics: Sendable, Equatable {
    public var exchangeRecords = 0
    public var accountRecords = 0
    /// Ground-truth label records read (`eval --labels`).
    public var labelRecords = 0
    public var malformedCount = 0
    /// The first ``IngestOptions/malformedLinesKept`` malformed lines, in input order.
    public var malformedLines: [MalformedLine] = []
    public var bytesRead = 0

    public init() {}

    mutating func reject(_ line: MalformedLine, options: IngestOptions) throws {
        if options.strict { throw line }
        malformedCount += 1
        if malformedLines.count < options.malformedLinesKept { malformedLines.append(line) }
    }
}

/// Feeds JSON Lines inputs into a ``TrafficScanner``: the adapter between files and the
/// pure engine, shared by `scan`, `eval` and tests.
public enum TrafficIngest {
    /// Reads account records and registers each with the scanner.
    /// - Throws: ``IngestError`` when the input cannot be read or holds no record;
    ///   ``MalformedLine`` for the first bad line when `options.strict`.
    public static func loadAccounts(
        from source: InputSource, into scanner: inout TrafficScanner,
        options: IngestOptions, statistics: inout IngestStatistics
    ) throws {
        try readAccounts(from: source, options: options, statistics: &statistics) { scanner.register($0) }
    }

    /// Reads account records and hands each to `register`, in input order (errors as
    /// ``loadAccounts(from:into:options:statistics:)``).
    public static func readAccounts(
        from source: InputSource, options: IngestOptions, statistics: inout IngestStatistics,
        _ register: (AccountRecord) -> Void
    ) throws {
        let decoder = AccountLineDecoder()
        try readRecordLines(from: source, options: options, statistics: &statistics,
                            accepted: \.accountRecords, records: "account records", noun: "an account record") { _, bytes throws(RecordError) in
            register(try decoder.decode(bytes))
        }
    }

    /// Reads ground-truth label records (`{"account_id", "label": "attack"|"legit", …}`) and
    /// hands each to `record`, in input order. A second label for an account already
    /// labelled otherwise is a malformed line naming the first (the evaluation's truth
    /// would depend on the order of the lines); the same label again is accepted.
    /// - Throws: ``IngestError`` when the input cannot be read, is empty or holds no label;
    ///   ``MalformedLine`` for the first bad line when `options.strict`.
    public static func readLabels(
        from source: InputSource, options: IngestOptions, statistics: inout IngestStatistics,
        _ record: (LabelRecord) -> Void
    ) throws {
        let decoder = LabelLineDecoder()
        var first: [String: (label: LabelRecord.Label, line: Int)] = [:]
        try readRecordLines(from: source, options: options, statistics: &statistics,
                            accepted: \.labelRecords, records: "label records", noun: "a label record") { number, bytes throws(RecordError) in
            let label = try decoder.decode(bytes)
            if let earlier = first[label.accountID], earlier.label != label.label {
                throw RecordError(field: "label", "\"\(label.label.rawValue)\" for \(label.accountID), "
                    + "labelled \"\(earlier.label.rawValue)\" on line \(earlier.line)")
            }
            if first[label.accountID] == nil { first[label.accountID] = (label.label, number) }
            record(label)
        }
    }

    /// Reads a file of one record a line (account records, labels): `decode` takes each
    /// line (its 1-based number and bytes) and throws a ``RecordError`` for a line it
    /// refuses, which becomes a ``MalformedLine`` naming the file and line; each line it
    /// takes adds one to `statistics[keyPath: accepted]`.
    /// - Throws: ``IngestError`` when the input cannot be read, is empty, or holds no
    ///   usable line (`records` and `noun` name what was expected, e.g. "label records"
    ///   and "a label record"); ``MalformedLine`` for the first bad line when
    ///   `options.strict`.
    /// - Complexity: O(n) in the bytes, one line in memory at a time.
    static func readRecordLines(
        from source: InputSource, options: IngestOptions, statistics: inout IngestStatistics,
        accepted: WritableKeyPath<IngestStatistics, Int>, records: String, noun: String,
        _ decode: (_ line: Int, _ bytes: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Void
    ) throws {
        var reader = LineReader(source)
        var lines = 0
        let acceptedBefore = statistics[keyPath: accepted]
        try reader.forEachLine(oversized: { line in
            lines += 1
            try statistics.reject(.tooLong(source: source.description, line: line), options: options)
        }) { number, bytes in
            lines += 1
            do throws(RecordError) {
                try decode(number, bytes)
                statistics[keyPath: accepted] += 1
            } catch {
                try statistics.reject(MalformedLine(source: source.description, line: number, error: error), options: options)
            }
        }
        statistics.bytesRead += reader.bytesRead
        if lines == 0 { throw IngestError(source: source.description, "is empty: no \(records)") }
        try requireUsableLine(source, lines: lines, accepted: statistics[keyPath: accepted] - acceptedBefore,
                              statistics: statistics, noun: noun)
    }

    /// Reads exchange records and lets the scanner observe each, in input order.
    ///
    /// Decoding runs on a second thread (see ``DecodingPipeline``) unless
    /// `options.decodeInParallel` is off; both paths give identical results.
    /// `progress` is called about every 64k lines with the raw bytes read from this source
    /// and the exchange records accepted so far (from all sources).
    /// - Throws: ``IngestError`` when the input cannot be read or holds no record;
    ///   ``MalformedLine`` for the first bad line when `options.strict`.
    public static func scanTraffic(
        from source: InputSource, into scanner: inout TrafficScanner,
        options: IngestOptions, statistics: inout IngestStatistics,
        progress: (_ bytes: Int, _ records: Int) -> Void = { _, _ in }
    ) throws {
        // The records the engine is done with are freed on the decoding thread; a caller
        // that retires records itself keeps them.
        let retiring = options.decodeInParallel && !scanner.retiresRecords
        if retiring { scanner.retiresRecords = true }
        defer { if retiring { scanner.retiresRecords = false } }
        try readTraffic(from: source, options: options, statistics: &statistics, progress: progress,
                        retired: { retiring ? scanner.takeRetiredRecords() : [] }) { scanner.observe($0) }
    }

    /// Reads exchange records and hands each to `observe`, in input order (decoding and
    /// errors as ``scanTraffic(from:into:options:statistics:progress:)``). With decoding in
    /// parallel, `retired` is asked after each batch for records `body`'s owner is done
    /// with (``TrafficScanner/takeRetiredRecords()``), which are then freed on a decoding
    /// thread.
    public static func readTraffic(
        from source: InputSource, options: IngestOptions, statistics: inout IngestStatistics,
        progress: (_ bytes: Int, _ records: Int) -> Void = { _, _ in },
        retired: () -> [[Exchange]] = { [] },
        _ body: (consuming Exchange) -> Void
    ) throws {
        let decoder = TrafficLineDecoder(options.inputFormat, options: options, gateways: options.gateways)
        var lines = 0
        let exchangesBefore = statistics.exchangeRecords
        if options.decodeInParallel {
            var sinceProgress = 0
            statistics.bytesRead += try DecodingPipeline.run(source: source, decoder: decoder) { batch in
                // Observe exchanges and reject malformed lines in their original order.
                var next = 0
                func observe(upTo end: Int) {
                    while next < end {
                        body(batch.exchanges[next].take()!)
                        statistics.exchangeRecords += 1
                        next += 1
                    }
                }
                for (preceding, malformed) in batch.malformed {
                    observe(upTo: preceding)
                    try statistics.reject(malformed, options: options)
                }
                observe(upTo: batch.exchanges.count)
                batch.retired = retired()
                lines += batch.lines
                sinceProgress += batch.lines
                if sinceProgress >= 0x10000 {
                    sinceProgress = 0
                    progress(batch.bytesRead, statistics.exchangeRecords)
                }
            }
        } else {
            var reader = LineReader(source)
            let name = source.description
            let readProgress = reader.progress
            try reader.forEachLine(oversized: { line in
                lines += 1
                try statistics.reject(.tooLong(source: name, line: line), options: options)
            }) { number, bytes in
                lines += 1
                var failure: MalformedLine?
                decoder.decode(bytes) { exchange in
                    guard failure == nil || !options.strict else { return }
                    body(exchange)
                    statistics.exchangeRecords += 1
                } malformed: { error in
                    let bad = MalformedLine(source: name, line: number, error: error)
                    if options.strict { if failure == nil { failure = bad } } else { try? statistics.reject(bad, options: options) }
                }
                if let failure { throw failure }
                if lines & 0xFFFF == 0 { progress(readProgress.bytes, statistics.exchangeRecords) }
            }
            statistics.bytesRead += reader.bytesRead
        }
        if lines == 0 {
            if options.allowsEmptyInput { return }
            throw IngestError(source: source.description, "is empty: no exchange records")
        }
        try requireUsableLine(source, lines: lines, accepted: statistics.exchangeRecords - exchangesBefore,
                              statistics: statistics, noun: options.inputFormat.recordNoun,
                              hint: options.inputFormat == .v1
                                  ? " (a gateway's or provider's own log is read with --input-format litellm, otlp, openai-batch, helicone or langfuse;"
                                      + " standard input and pipes are read as v1 unless it says otherwise)" : "")
    }

    /// An input none of whose lines could be used is the wrong file or format, not data:
    /// the scan stops with an error rather than report on nothing.
    private static func requireUsableLine(
        _ source: InputSource, lines: Int, accepted: Int, statistics: IngestStatistics, noun: String, hint: String = ""
    ) throws {
        guard accepted == 0, lines > 0 else { return }
        let first = statistics.malformedLines.first { $0.source == source.description }
        let example = first.map { "; line \($0.line): \($0.error)" } ?? ""
        let which = lines == 1 ? "its one line is not" : "none of its \(Wording.number(lines)) lines is"
        throw IngestError(source: source.description, "\(which) \(noun)\(example)\(hint)")
    }
}
